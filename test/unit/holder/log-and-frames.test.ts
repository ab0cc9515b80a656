/** The holder's pieces that need no process: its bounded output log on disk and its socket frames. */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DATA, FrameReader, HELLO, frame, jsonFrame, text } from '../../../runtimes/holder/frames.ts';
import { OutputLog, readLog } from '../../../runtimes/holder/log.ts';

const bytes = (value: string) => new TextEncoder().encode(value);
const decode = (value: Uint8Array) => new TextDecoder().decode(value);

describe('OutputLog', () => {
  const dirs: string[] = [];
  const dir = () => {
    const made = mkdtempSync(join(tmpdir(), 'termgate-log-'));
    dirs.push(made);
    return made;
  };
  afterEach(() => {
    for (const made of dirs.splice(0)) rmSync(made, { recursive: true, force: true });
  });

  it('keeps everything below the bound, in one 0600 segment', () => {
    const at = dir();
    const log = new OutputLog(at, 100);
    log.append(bytes('hello '));
    log.append(bytes('world'));
    expect(log.end).toBe(11);
    expect(log.read()).toEqual({ start: 0, bytes: bytes('hello world') });
    expect(readdirSync(at)).toEqual(['output-0000000000000000.log']);
    expect(statSync(join(at, 'output-0000000000000000.log')).mode & 0o777).toBe(0o600);
    log.close();
  });

  it('rotates at the bound, keeps two segments, and reads the newest bound bytes with their start offset', () => {
    const at = dir();
    const log = new OutputLog(at, 10);
    const written: string[] = [];
    for (let i = 0; i < 12; i++) {
      const chunk = `${String(i).padStart(2, '0')}abc`; // 5 bytes
      written.push(chunk);
      log.append(bytes(chunk));
    }
    const whole = written.join('');
    expect(log.end).toBe(60);
    // Segments start where the one before reached the bound; the two newest are kept.
    expect(readdirSync(at).sort()).toEqual(['output-0000000000000040.log', 'output-0000000000000050.log']);
    const kept = log.read();
    expect(kept.start).toBe(50);
    expect(decode(kept.bytes)).toBe(whole.slice(50));
    // Read back by another process (the server, after the holder is gone): the same.
    expect(readLog(at, 10)).toEqual(kept);
    // A smaller read keeps the newest bytes.
    expect(decode(readLog(at, 3).bytes)).toBe(whole.slice(57));
    log.close();
  });

  it('reads an empty directory as nothing from 0', () => {
    expect(readLog(dir(), 10)).toEqual({ start: 0, bytes: new Uint8Array(0) });
  });
});

describe('frames', () => {
  it('splits frames across any chunking, binary payloads intact', () => {
    const payload = Uint8Array.from({ length: 300 }, (_, i) => i % 256);
    const stream = new Uint8Array([...jsonFrame(HELLO, { pid: 1 }), ...frame(DATA, payload), ...frame(DATA)]);
    for (const size of [1, 2, 7, 64, stream.length]) {
      const reader = new FrameReader();
      const frames = [];
      for (let i = 0; i < stream.length; i += size) frames.push(...reader.push(stream.subarray(i, i + size)));
      expect(frames.map((f) => f.type)).toEqual([HELLO, DATA, DATA]);
      expect(JSON.parse(text(frames[0]!.payload))).toEqual({ pid: 1 });
      expect(frames[1]!.payload).toEqual(payload);
      expect(frames[2]!.payload.length).toBe(0);
    }
  });

  it('refuses a frame no holder would send', () => {
    const header = new Uint8Array([DATA, 0xff, 0xff, 0xff, 0xff]);
    expect(() => new FrameReader().push(header)).toThrow(/frame of/);
  });
});
