/**
 * `wait`: blocks until a terminal's output matches a pattern, goes quiet, a
 * command finishes (shell integration's command.finished), or its process
 * exits, or until a timeout. Driven by the manager's events
 * (subscribe): no polling, one timer for the timeout and one for idleness.
 *
 * The pattern runs on plain text: escape sequences removed (the grammar of
 * shape.ts, which also holds a sequence split across two chunks until it is
 * complete), `\r` and other control characters dropped except `\n` and `\t`.
 * Every piece of plain text remembers the output offset it came from, so a
 * match is reported at its exact offset and `next` (just after the match)
 * makes the next wait look only at what follows. A match may span chunks;
 * live output is searched in a window of the last WINDOW characters.
 */
import { TermgateError } from '../errors.ts';
import { escapeEnd } from './shape.ts';
import type { TerminalEvent, TerminalManager } from './types.ts';

/** A match must fit in this many characters of recent plain text (the history given by `since` is searched whole). */
export const WINDOW = 32 * 1024;
/** A matched text longer than this is answered cut (its offsets stay exact). */
const MAX_MATCH_CHARS = 4096;

export type WaitReason = 'matched' | 'idle' | 'exited' | 'command_finished' | 'timeout';

export interface WaitOptions {
  pattern?: RegExp | undefined;
  since?: number | undefined;
  idleMs?: number | undefined;
  exit?: boolean | undefined;
  /** Wait for a command to finish (shell integration's command records). */
  command?: boolean | undefined;
  timeoutMs: number;
}

export interface WaitResult {
  reason: WaitReason;
  /** The matched text (reason matched). */
  match?: string;
  /** The output offset where the match starts (reason matched). */
  offset?: number;
  /** Where to continue: after the match, or the end of the output seen. */
  next: number;
  /** The terminal was closed while waiting (reason exited). */
  closed?: boolean;
  /** The exit status of the process (exited) or of the command (command_finished). */
  exitCode?: number | null;
  /** With command_finished: the command's record. */
  seq?: number;
}

/** Compiles a client's pattern: multiline (^ and $ at line ends); a bad one is a 400 naming `pattern`. */
export function compilePattern(source: string): RegExp {
  try {
    return new RegExp(source, 'm');
  } catch (error) {
    throw new TermgateError('bad_request', `pattern: not a valid regular expression: ${error instanceof Error ? error.message : String(error)}`);
  }
}

const encoder = new TextEncoder();
const utf8Length = (text: string) => encoder.encode(text).length;

/** A run of plain text: where it starts in `text` and at which output offset. */
interface Run {
  at: number;
  offset: number;
}

/**
 * Plain text of a stream, with output offsets. push() takes each chunk in
 * order (its text and its offset); an escape sequence cut by a chunk's end
 * waits for the next chunk.
 */
export class PlainText {
  text = '';
  runs: Run[] = [];
  /** An escape sequence not complete yet, and its offset. */
  #pending = '';
  #pendingOffset = 0;

  push(content: string, offset: number): void {
    let input = content;
    let base = offset;
    if (this.#pending !== '') {
      input = this.#pending + content;
      base = this.#pendingOffset;
      this.#pending = '';
    }
    const at = (i: number) => (i < input.length ? input.charCodeAt(i) : undefined);
    let i = 0;
    let bytes = base;
    while (i < input.length) {
      const esc = input.indexOf('\x1b', i);
      const stop = esc < 0 ? input.length : esc;
      if (stop > i) {
        const piece = input.slice(i, stop);
        this.#append(piece, bytes);
        bytes += utf8Length(piece);
      }
      if (esc < 0) break;
      const end = escapeEnd(at, input.length, esc);
      if (end < 0) {
        this.#pending = input.slice(esc);
        this.#pendingOffset = bytes;
        break;
      }
      bytes += utf8Length(input.slice(esc, end));
      i = end;
    }
  }

  #append(piece: string, offset: number): void {
    // Control characters other than \n and \t go (\r among them: "100%\r\n" matches /100%$/).
    if (!/[\x00-\x08\x0b-\x1f\x7f]/.test(piece)) {
      this.runs.push({ at: this.text.length, offset });
      this.text += piece;
      return;
    }
    let start = 0;
    let bytes = offset;
    const flush = (end: number) => {
      if (end > start) {
        const part = piece.slice(start, end);
        this.runs.push({ at: this.text.length, offset: bytes });
        this.text += part;
        bytes += utf8Length(part);
      }
    };
    for (let k = 0; k < piece.length; k++) {
      const c = piece.charCodeAt(k);
      if ((c < 0x20 && c !== 0x0a && c !== 0x09) || c === 0x7f) {
        flush(k);
        bytes += 1;
        start = k + 1;
      }
    }
    flush(piece.length);
  }

  /**
   * The output offset of position `index` of `text`: of the character there,
   * or with `after`, just after the character before it (they differ where
   * escape sequences or control characters were dropped between the two).
   */
  offsetOf(index: number, after = false): number {
    let low = 0;
    let high = this.runs.length - 1;
    if (high < 0) return 0;
    const within = (run: Run) => (after ? run.at < index : run.at <= index);
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (within(this.runs[mid]!)) low = mid;
      else high = mid - 1;
    }
    const run = this.runs[low]!;
    return run.offset + utf8Length(this.text.slice(run.at, index));
  }

  /** Keeps only the last `chars` characters. */
  trim(chars: number): void {
    const cut = this.text.length - chars;
    if (cut <= 0) return;
    let first = 0;
    while (first + 1 < this.runs.length && this.runs[first + 1]!.at <= cut) first++;
    const run = this.runs[first]!;
    const kept = this.runs.slice(first);
    kept[0] = { at: cut, offset: run.offset + utf8Length(this.text.slice(run.at, cut)) };
    this.runs = kept.map((r) => ({ at: r.at - cut, offset: r.offset }));
    this.text = this.text.slice(cut);
  }
}

/**
 * Waits on terminal `id` of `terminals` (see the file's comment). The wait
 * always ends when the process exits or the terminal is closed (reason
 * "exited": nothing more can come).
 */
export function waitFor(terminals: TerminalManager, id: string, options: WaitOptions): Promise<WaitResult> {
  const { pattern, idleMs, timeoutMs } = options;
  const info = terminals.get(id);
  const outputEnd = terminals.outputEnd(id);
  const start = options.since ?? outputEnd;
  if (start > outputEnd) throw new TermgateError('bad_request', `since: ${start} is past the end of this terminal's output (${outputEnd})`);
  // Read and subscribe in one tick: no output falls between them.
  const history = start < outputEnd ? terminals.read(id, start) : undefined;
  let end = history?.next ?? outputEnd;

  return new Promise<WaitResult>((resolve) => {
    const plain = new PlainText();
    let idleTimer: ReturnType<typeof setTimeout> | undefined;
    let settled = false;
    const finish = (result: WaitResult) => {
      if (settled) return;
      settled = true;
      unsubscribe();
      clearTimeout(timeoutTimer);
      clearTimeout(idleTimer);
      resolve(result);
    };
    const search = (): boolean => {
      if (!pattern) return false;
      const found = pattern.exec(plain.text);
      if (!found) return false;
      const offset = plain.offsetOf(found.index);
      const next = found[0].length === 0 ? offset : plain.offsetOf(found.index + found[0].length, true);
      const match = found[0].length > MAX_MATCH_CHARS ? found[0].slice(0, MAX_MATCH_CHARS) : found[0];
      finish({ reason: 'matched', match, offset, next });
      return true;
    };
    const armIdle = () => {
      if (idleMs === undefined) return;
      clearTimeout(idleTimer);
      idleTimer = setTimeout(() => finish({ reason: 'idle', next: end }), idleMs);
    };
    const unsubscribe = terminals.subscribe((event: TerminalEvent) => {
      if (event.terminalId !== id || settled) return;
      if (event.type === 'output.data') {
        if (event.next <= end) return;
        end = event.next;
        if (pattern) {
          plain.push(event.content, event.offset);
          if (search()) return;
          if (plain.text.length > 2 * WINDOW) plain.trim(WINDOW);
        }
        armIdle();
      } else if (event.type === 'command.finished' && options.command) {
        const record = event.command;
        finish({ reason: 'command_finished', next: Math.max(end, record.endOffset ?? 0), exitCode: record.exitCode, seq: record.seq });
      } else if (event.type === 'terminal.exit') {
        finish({ reason: 'exited', next: end, exitCode: event.exitCode });
      } else if (event.type === 'terminal.closed') {
        finish({ reason: 'exited', next: end, closed: true });
      }
    });
    const timeoutTimer = setTimeout(() => finish({ reason: 'timeout', next: end }), timeoutMs);

    if (history && pattern) {
      plain.push(history.data, history.since);
      if (search()) return;
      plain.trim(WINDOW);
    }
    if (options.command && options.since !== undefined) {
      // A command may have finished between `since` and the start of the wait (its output ended after `since`).
      const record = terminals.commands(id).find((r) => r.endOffset !== null && r.endOffset >= start);
      if (record) {
        finish({ reason: 'command_finished', next: Math.max(record.endOffset ?? end, 0), exitCode: record.exitCode, seq: record.seq });
        return;
      }
    }
    if (info.exited) {
      finish({ reason: 'exited', next: end, exitCode: info.exitCode });
      return;
    }
    armIdle();
  });
}
