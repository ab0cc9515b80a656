/** `plain: true`: output rendered by a fresh headless emulator and read back as lines. */
import { describe, expect, it } from 'vitest';
import { RENDER_MAX_BYTES, renderLines, renderShaped, renderText } from '../../../src/terminals/render.ts';
import { utf8Bytes } from '../../../src/terminals/shape.ts';

const size = { cols: 40, rows: 10 };

describe('renderText', () => {
  it('drops colours and titles, applies \\r and cursor moves, trims trailing spaces and empty lines', async () => {
    const raw = '\x1b]0;user@host: ~\x07\x1b[01;32muser@host\x1b[00m:~$ ls   \r\n\x1b[01;34mdir\x1b[0m  file\r\n\r\n\r\n';
    expect(await renderText(raw, size)).toBe('user@host:~$ ls\ndir  file');
    expect(await renderText('10%\r20%\r100%\r\ndone\r\n', size)).toBe('100%\ndone');
    expect(await renderText('abcdef\r12', size)).toBe('12cdef');
    // Cursor up and erase line: a redraw in place.
    expect(await renderText('step 1\r\nstep 2\r\n\x1b[1A\x1b[2Kstep 2 ok\r\n', size)).toBe('step 1\nstep 2 ok');
    // run's output has \n line ends only: each still starts a line at column 0.
    expect(await renderText('a\nb\nc', size)).toBe('a\nb\nc');
  });

  it('joins wrapped rows into the line that was printed', async () => {
    const long = 'x'.repeat(100);
    expect(await renderLines(`${long}\r\nnext\r\n`, size)).toEqual([long, 'next']);
  });

  it('keeps every line of long output, beyond the emulator scrollback it uses', async () => {
    const lines = Array.from({ length: 30_000 }, (_, i) => `line ${i}`);
    const rendered = await renderLines(`${lines.join('\r\n')}\r\n`, { cols: 80, rows: 24 });
    expect(rendered).toHaveLength(30_000);
    expect(rendered[0]).toBe('line 0');
    expect(rendered[12_345]).toBe('line 12345');
    expect(rendered.at(-1)).toBe('line 29999');
  });

  it('shows the full-screen program when the text ends in the alternate screen', async () => {
    expect(await renderText('shell\r\n\x1b[?1049h\x1b[Hin vim', size)).toBe('shell\nin vim');
  });
});

describe('renderShaped', () => {
  it('cuts output over the render budget before rendering, and shapes what it renders to maxBytes', async () => {
    const bar = Array.from({ length: 200_000 }, (_, i) => `\r[${'#'.repeat(i % 30)}] ${i % 100}%`).join('') + '\r\x1b[Kdone\r\n';
    expect(utf8Bytes(bar).length).toBeGreaterThan(RENDER_MAX_BYTES);
    const shaped = await renderShaped(bar, size, 1000);
    expect(utf8Bytes(shaped.text).length).toBeLessThanOrEqual(1000);
    expect(shaped.text.endsWith('done')).toBe(true);
    expect(shaped.text).toMatch(/…\[\d+ bytes omitted\]…/);
    expect(shaped.omittedBytes).toBeGreaterThanOrEqual(utf8Bytes(bar).length - RENDER_MAX_BYTES);
    expect(shaped.text).not.toMatch(/\x1b|\r/);
    // Small output: rendered whole, nothing omitted.
    expect(await renderShaped('50%\r100%\r\n', size, 1000)).toEqual({ text: '100%', omittedBytes: 0 });
  });
});
