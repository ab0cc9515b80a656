/**
 * `plain: true`: terminal output as an emulator renders it. The text goes
 * through a fresh @xterm/headless terminal of the terminal's size, and the
 * rows are read back as lines: colours gone, cursor moves applied, `\r`
 * progress collapsed to its final state, wrapped rows joined into the line
 * that was printed, trailing spaces trimmed, trailing empty lines dropped.
 *
 * Bounded in time and memory. Rows that scroll off the screen can no longer
 * change, so they are read off in segments and the emulator keeps only a
 * small scrollback (a row costs 12 bytes per column). Input larger than
 * RENDER_MAX_BYTES (or maxBytes, if larger) is cut to head and tail first
 * (shape.ts), each rendered on its own, so the work stays proportional to
 * that budget whatever the output's size; the rendered text is then shaped
 * to maxBytes, one marker and one count for both cuts.
 */
import headless from '@xterm/headless';
import type { IMarker, Terminal as HeadlessTerminal } from '@xterm/headless';
import { type Shaped, headCut, joinParts, tailCut, utf8Bytes } from './shape.ts';

const { Terminal } = headless as unknown as { Terminal: typeof HeadlessTerminal };

/**
 * Raw output rendered at most; more is cut to head and tail before rendering. Measured here (warm, one
 * core): 1 MiB of coloured lines renders in about 110 ms on Node, 60 ms on Bun and Deno; 1 MiB of \r
 * progress redraws in about 15 ms.
 */
export const RENDER_MAX_BYTES = 1024 * 1024;
/** The emulator's rows, summed over the scrollback, take at most about this much memory. */
const SCROLLBACK_MEMORY = 8 * 1024 * 1024;
const BYTES_PER_CELL = 12;

export interface RenderSize {
  cols: number;
  rows: number;
}

/** The lines of `text` as rendered on a screen of this size (see the file's comment). */
export async function renderLines(text: string, { cols, rows }: RenderSize): Promise<string[]> {
  // Each line that scrolls off takes at least one input character, so a segment of
  // this many characters cannot scroll out rows that have not been read yet.
  const segment = Math.max(256, Math.min(16_384, Math.floor(SCROLLBACK_MEMORY / (cols * BYTES_PER_CELL))));
  const term = new Terminal({ cols, rows, scrollback: segment, convertEol: true, allowProposedApi: true });
  const lines: string[] = [];
  let line: string | undefined;
  /** Rows of the normal buffer trimmed from its top so far. */
  let trimmed = 0;
  /** Absolute index (counting trimmed rows) of the next row to read. */
  let read = 0;
  const take = (until: number) => {
    const buffer = term.buffer.normal;
    for (let y = Math.max(0, read - trimmed); y < until; y++) {
      const row = buffer.getLine(y);
      if (!row) break;
      const content = row.translateToString(false);
      if (row.isWrapped && line !== undefined) line += content;
      else {
        if (line !== undefined) lines.push(trimEnd(line));
        line = content;
      }
    }
    read = Math.max(read, trimmed + until);
  };
  try {
    let marker: { marker: IMarker; line: number } | undefined;
    const done = new Promise<void>((resolve) => {
      for (let start = 0; start < text.length; ) {
        let end = Math.min(text.length, start + segment);
        // Never between the halves of a surrogate pair.
        if (end < text.length && isHighSurrogate(text.charCodeAt(end - 1))) end++;
        const piece = text.slice(start, end);
        start = end;
        const last = start >= text.length;
        term.write(piece, () => {
          if (marker) {
            // A marker moves up as rows are trimmed above it: the count of rows trimmed.
            trimmed += marker.marker.isDisposed ? 0 : marker.line - marker.marker.line;
            marker.marker.dispose();
          }
          take(term.buffer.normal.baseY);
          const next = term.buffer.active === term.buffer.normal ? term.registerMarker(0) : undefined;
          marker = next ? { marker: next, line: next.line } : undefined;
          if (last) resolve();
        });
      }
      if (text.length === 0) resolve();
    });
    await done;
    const normal = term.buffer.normal;
    take(normal.length);
    if (line !== undefined) lines.push(trimEnd(line));
    // Ended inside a full-screen program: what it shows, after what the normal screen held.
    if (term.buffer.active !== normal) {
      const alternate = term.buffer.active;
      while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
      for (let y = 0; y < alternate.length; y++) lines.push(trimEnd(alternate.getLine(y)?.translateToString(false) ?? ''));
    }
  } finally {
    term.dispose();
  }
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** `text` rendered (renderLines) and joined with `\n`. */
export async function renderText(text: string, size: RenderSize): Promise<string> {
  return (await renderLines(text, size)).join('\n');
}

/**
 * Renders `text` and shapes the result to maxBytes. Input over the render
 * budget is cut (head and tail, escape-safe) before rendering; the answer's
 * omittedBytes counts both the raw bytes cut before and the rendered bytes
 * cut after.
 */
export async function renderShaped(text: string, size: RenderSize, maxBytes = Infinity): Promise<Shaped> {
  const budget = Math.max(RENDER_MAX_BYTES, Number.isFinite(maxBytes) ? maxBytes : 0);
  const raw = text.length > budget / 3 ? utf8Bytes(text) : undefined;
  if (!raw || raw.length <= budget) {
    const rendered = await renderText(text, size);
    return Number.isFinite(maxBytes) ? joinParts(utf8Bytes(rendered), new Uint8Array(0), 0, maxBytes) : { text: rendered, omittedBytes: 0 };
  }
  const half = Math.floor(budget / 2);
  const headEnd = headCut(raw, half);
  const tailStart = Math.max(headEnd, tailCut(raw, half));
  const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  const [head, tail] = await Promise.all([
    renderText(decoder.decode(raw.subarray(0, headEnd)), size),
    renderText(decoder.decode(raw.subarray(tailStart)), size),
  ]);
  return joinParts(utf8Bytes(head + '\n'), utf8Bytes(tail), tailStart - headEnd, Number.isFinite(maxBytes) ? maxBytes : Number.MAX_SAFE_INTEGER);
}

function trimEnd(line: string): string {
  return line.replace(/ +$/, '');
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}
