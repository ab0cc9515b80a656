/** `run`'s markers: which commands are shells, finding the output between the markers. */
import { describe, expect, it } from 'vitest';
import { RunCollector, cleanOutput, runScript, shellFlavor } from '../../../src/terminals/run.ts';

describe('run markers', () => {
  it('knows which commands are shells', () => {
    expect(shellFlavor('/bin/bash')).toBe('posix');
    expect(shellFlavor('zsh')).toBe('posix');
    expect(shellFlavor('-sh')).toBe('posix');
    expect(shellFlavor('/usr/bin/fish')).toBe('fish');
    expect(shellFlavor('/usr/bin/python3')).toBeNull();
  });

  it('finds the output between the markers, never the echoed line', () => {
    const script = runScript('echo hi', 'posix', 'abc123');
    const collector = new RunCollector(script, 1000);
    // What a shell sends back: the echo of the typed line (escapes as text), then the real markers.
    const stream = `$ ${script.input.replace(/\r/g, '\r\n')}` + '\x1b[?2004l\r\x1b]7770;S;abc123\x07hi\r\n\x1b]7770;E;abc123;0\x07$ ';
    for (const ch of stream) collector.push(ch); // one character at a time: markers split everywhere
    expect(collector.done).toBe(true);
    expect(collector.output).toBe('hi');
    expect(collector.exitCode).toBe(0);
    expect(script.input).not.toContain(script.start);
  });

  it('keeps only the newest output when it is long', () => {
    const script = runScript('yes', 'posix', 'id');
    const collector = new RunCollector(script, 100);
    collector.push('\x1b]7770;S;id\x07');
    for (let i = 0; i < 1000; i++) collector.push(`${i}\r\n`);
    collector.push('\x1b]7770;E;id;141\x07');
    expect(collector.exitCode).toBe(141);
    expect(collector.truncated).toBe(true);
    expect(collector.output.endsWith('998\n999')).toBe(true);
    expect(collector.output.length).toBeLessThan(200);
  });

  it('cleans output as $(…) would', () => {
    expect(cleanOutput('a\r\nb\r\n\r\n')).toBe('a\nb');
  });
});
