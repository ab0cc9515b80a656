import { describe, expect, it } from 'vitest';
import { Screen } from '../../../src/terminals/screen.ts';

function feed(screen: Screen, ...chunks: string[]) {
  let at = screen.offset;
  for (const chunk of chunks) screen.write(chunk, (at += new TextEncoder().encode(chunk).length));
}

describe('screen', () => {
  it('renders colours, cursor moves and \\r overwrites as text', async () => {
    const screen = new Screen(20, 5);
    feed(screen, '\x1b[31mred\x1b[0m plain\r\n', 'progress 10%\rprogress 100%\r\n', '\x1b[5;3Hxy');
    const snap = await screen.snapshot();
    expect(snap.lines).toEqual(['red plain', 'progress 100%', '', '', '  xy']);
    expect(snap.cursor).toEqual({ x: 4, y: 4, visible: true });
    expect(snap.offset).toBe(new TextEncoder().encode('\x1b[31mred\x1b[0m plain\r\nprogress 10%\rprogress 100%\r\n\x1b[5;3Hxy').length);
    expect(snap.cols).toBe(20);
    expect(snap.altScreen).toBe(false);
  });
  it('sees the alternate screen, the title and cursor visibility', async () => {
    const screen = new Screen(20, 3);
    feed(screen, 'main\r\n', '\x1b]0;my title\x07', '\x1b[?1049h\x1b[H\x1b[?25lfull');
    let snap = await screen.snapshot();
    expect(snap.altScreen).toBe(true);
    expect(snap.title).toBe('my title');
    expect(snap.lines[0]).toBe('full');
    expect(snap.cursor.visible).toBe(false);
    feed(screen, '\x1b[?1049l\x1b[?25h');
    snap = await screen.snapshot();
    expect(snap.altScreen).toBe(false);
    expect(snap.lines[0]).toBe('main');
    expect(snap.cursor.visible).toBe(true);
  });
  it('reads modes, scrollback, ansi and resizes', async () => {
    const screen = new Screen(10, 2);
    feed(screen, 'a\r\nb\r\nc\r\nd', '\x1b[?1h\x1b[?2004h');
    const snap = await screen.snapshot(5);
    expect(snap.scrollback).toEqual(['a', 'b']);
    expect(snap.lines).toEqual(['c', 'd']);
    expect(screen.modes).toEqual({ applicationCursorKeys: true, bracketedPaste: true });
    const ansi = await screen.ansi();
    expect(ansi.data).toContain('d');
    expect(ansi.offset).toBe(screen.offset);
    screen.resize(30, 4);
    expect((await screen.snapshot()).cols).toBe(30);
    screen.dispose();
  });
});
