/**
 * The screen of a terminal, as a server-side emulator (@xterm/headless) sees it.
 *
 * Emulators are created lazily, on the first screen or keys request for a
 * terminal, so terminals nobody reads as a screen stream at full speed. A new
 * emulator is fed first from the terminal's scrollback (read(id, 0)), then
 * live from output events, in order; resized with the terminal; disposed when
 * it closes. When the scrollback had already dropped output, the screen is
 * approximate (it starts from the oldest byte still held).
 */
import headless from '@xterm/headless';
import type { Terminal as HeadlessTerminal } from '@xterm/headless';
import serialize from '@xterm/addon-serialize';
import type { SerializeAddon as SerializeAddonType } from '@xterm/addon-serialize';
import type { TerminalEvent, TerminalManager } from './types.ts';

const { Terminal } = headless as unknown as { Terminal: typeof HeadlessTerminal };
const { SerializeAddon } = serialize as unknown as { SerializeAddon: typeof SerializeAddonType };

export interface ScreenSnapshot {
  cols: number;
  rows: number;
  cursor: { x: number; y: number; visible: boolean };
  altScreen: boolean;
  title: string;
  lines: string[];
  scrollback?: string[];
  offset: number;
}

export interface ScreenModes {
  applicationCursorKeys: boolean;
  bracketedPaste: boolean;
}

/** One emulator, fed bytes in order; `offset` is the output byte written so far. */
export class Screen {
  readonly term: HeadlessTerminal;
  readonly #serializer: SerializeAddonType;
  #title = '';
  #cursorVisible = true;
  /** Offset after the last byte handed to the emulator. */
  #fed: number;
  /** Resolves when every write handed over so far has been parsed. */
  #pending: Promise<void> = Promise.resolve();

  constructor(cols: number, rows: number, startOffset = 0, scrollbackLines = 1000) {
    this.term = new Terminal({ cols, rows, scrollback: scrollbackLines, allowProposedApi: true });
    this.#serializer = new SerializeAddon();
    this.term.loadAddon(this.#serializer as never);
    this.term.onTitleChange((title) => (this.#title = title));
    // DECTCEM (?25) is not in term.modes: track it with a parser hook that lets xterm handle it too.
    const watch = (visible: boolean) => (params: (number | number[])[]) => {
      if (params.some((p) => p === 25)) this.#cursorVisible = visible;
      return false;
    };
    this.term.parser.registerCsiHandler({ prefix: '?', final: 'h' }, watch(true));
    this.term.parser.registerCsiHandler({ prefix: '?', final: 'l' }, watch(false));
    this.#fed = startOffset;
  }

  get offset(): number {
    return this.#fed;
  }

  write(data: string | Uint8Array, next: number): void {
    this.#fed = next;
    this.#pending = new Promise<void>((resolve) => this.term.write(data, resolve));
  }

  resize(cols: number, rows: number): void {
    this.term.resize(cols, rows);
  }

  /** Waits until the emulator has parsed everything up to `offset`. */
  async settled(): Promise<number> {
    for (;;) {
      const pending = this.#pending;
      const offset = this.#fed;
      await pending;
      if (pending === this.#pending) return offset;
    }
  }

  get modes(): ScreenModes {
    return { applicationCursorKeys: this.term.modes.applicationCursorKeysMode, bracketedPaste: this.term.modes.bracketedPasteMode };
  }

  async snapshot(scrollback = 0): Promise<ScreenSnapshot> {
    const offset = await this.settled();
    const buffer = this.term.buffer.active;
    // translateToString(true) trims only cells never written; spaces a program wrote (vim clearing a row) go too: nobody sees them.
    const line = (y: number) => (buffer.getLine(y)?.translateToString(true) ?? '').replace(/ +$/, '');
    const lines: string[] = [];
    for (let y = 0; y < this.term.rows; y++) lines.push(line(buffer.baseY + y));
    const snapshot: ScreenSnapshot = {
      cols: this.term.cols,
      rows: this.term.rows,
      cursor: { x: buffer.cursorX, y: buffer.cursorY, visible: this.#cursorVisible },
      altScreen: buffer.type === 'alternate',
      title: this.#title,
      lines,
      offset,
    };
    if (scrollback > 0) {
      const from = Math.max(0, buffer.baseY - scrollback);
      const above: string[] = [];
      for (let y = from; y < buffer.baseY; y++) above.push(line(y));
      snapshot.scrollback = above;
    }
    return snapshot;
  }

  /** The screen serialized; with `scrollback`, only that many rows above it (else all the emulator holds). */
  async ansi(scrollback?: number): Promise<{ data: string; offset: number }> {
    const offset = await this.settled();
    return { data: this.#serializer.serialize(scrollback === undefined ? {} : { scrollback }), offset };
  }

  dispose(): void {
    this.term.dispose();
  }
}

/** The emulators of one manager's terminals, created on first use. */
export class ScreenStore {
  readonly #screens = new Map<string, Screen>();
  readonly #terminals: TerminalManager;

  constructor(terminals: TerminalManager) {
    this.#terminals = terminals;
    terminals.subscribe((event) => this.#on(event));
  }

  #on(event: TerminalEvent): void {
    const screen = this.#screens.get(event.terminalId);
    if (!screen) return;
    if (event.type === 'output.data') {
      if (event.next > screen.offset) screen.write(event.content, event.next);
    } else if (event.type === 'terminal.resized') screen.resize(event.cols, event.rows);
    else if (event.type === 'terminal.closed') {
      this.#screens.delete(event.terminalId);
      void screen.settled().then(() => screen.dispose());
    }
  }

  /** The terminal's emulator, fed from the scrollback when it is new (read and subscribe in one tick: no gap). */
  screen(id: string): Screen {
    let screen = this.#screens.get(id);
    if (screen) return screen;
    const info = this.#terminals.get(id);
    const slice = this.#terminals.read(id, 0);
    screen = new Screen(info.cols, info.rows, slice.since);
    if (slice.data !== '') screen.write(slice.data, slice.next);
    this.#screens.set(id, screen);
    return screen;
  }
}

const STORES = new WeakMap<TerminalManager, ScreenStore>();

export function screensOf(terminals: TerminalManager): ScreenStore {
  let store = STORES.get(terminals);
  if (!store) STORES.set(terminals, (store = new ScreenStore(terminals)));
  return store;
}
