// @ts-check
/**
 * A terminal's command timeline (shell integration's command records, SPEC
 * §13) and the map from output offsets to xterm rows that lets a click on a
 * command scroll the terminal to it.
 *
 * Offsets to rows: xterm.js knows rows, the records know byte offsets. The
 * page knows one exact pair at every moment: the offset after the last byte
 * written (`end`) is where the cursor is once xterm has parsed it. A record's
 * row is found by counting the newlines between its offset and `end`, and
 * walking that many logical lines up from the cursor in xterm's buffer
 * (skipping rows xterm wrapped, so long lines and a resize reflow count right).
 * The bytes come from what this view has written since it opened (kept, up to
 * a bound); a command from before that (inside the screen snapshot the view
 * opened from) has its bytes read from the server once. Chosen over keeping a
 * marker per chunk because live chunks are batched (three quick commands can
 * arrive in one), and over re-reading the snapshot because the snapshot has
 * no offsets inside it. Exact for output that moves down line by line; a
 * command that clears the screen or redraws with cursor moves (vim, top) is
 * found only roughly, and one older than the view's scrollback not at all.
 */
import { api, describe } from './api.js';

/** Written text kept for the map; older commands are measured from the server's scrollback. */
const KEEP_BYTES = 8 * 1024 * 1024;
/** Reading more than this from the server to place one command is not worth it. */
const FETCH_MAX_BYTES = 4 * 1024 * 1024;

const encoder = new TextEncoder();

/**
 * @typedef {{ seq: number, command: string, source: 'run' | 'typed', cwd: string, startedAt: string,
 *   finishedAt: string | null, durationMs: number | null, exitCode: number | null,
 *   startOffset: number, outputOffset: number, endOffset: number | null }} CommandRecord
 * @typedef {import('@xterm/xterm').Terminal} Terminal
 */

/**
 * Line feeds that move the cursor down, in `parts` read in order: those inside
 * an OSC, DCS, APC, PM or SOS string (ESC ] … BEL or ESC \) print nothing
 * (shell integration's history report carries one).
 * @param {Uint8Array[]} parts
 */
export function countNewlines(parts) {
  const GROUND = 0;
  const ESCAPE = 1;
  const STRING = 2;
  const STRING_ESCAPE = 3;
  let state = GROUND;
  let count = 0;
  for (const bytes of parts) {
    for (let index = 0; index < bytes.length; index++) {
      const byte = /** @type {number} */ (bytes[index]);
      if (state === STRING) {
        if (byte === 0x07 || byte === 0x18 || byte === 0x1a) state = GROUND;
        else if (byte === 0x1b) state = STRING_ESCAPE;
        continue;
      }
      if (state === STRING_ESCAPE) {
        if (byte === 0x5c) {
          state = GROUND;
          continue;
        }
        state = ESCAPE; // ESC ends the string and starts a new sequence: read this byte as its next
      }
      if (state === ESCAPE) {
        if (byte === 0x5d || byte === 0x50 || byte === 0x5f || byte === 0x5e || byte === 0x58) {
          state = STRING;
          continue;
        }
        if (byte !== 0x1b) state = GROUND;
        if (byte !== 0x0a) continue;
      }
      if (byte === 0x1b) state = ESCAPE;
      else if (byte === 0x0a) count++;
    }
  }
  return count;
}

export class OutputMap {
  /** Written chunks, oldest first, as UTF-8 bytes with their offsets. @type {{ offset: number, bytes: Uint8Array }[]} */
  #chunks = [];
  #kept = 0;
  /** Offset after the last byte handed to xterm. */
  end = 0;
  /** Offset of the first byte written into this xterm by the live stream (the snapshot's offset). */
  start = 0;

  /**
   * @param {Terminal} term
   * @param {string} terminalId
   */
  constructor(term, terminalId) {
    this.term = term;
    this.terminalId = terminalId;
  }

  /** A fresh start at `offset` (the view was (re)loaded from a snapshot taken there). @param {number} offset */
  reset(offset) {
    this.#chunks = [];
    this.#kept = 0;
    this.start = offset;
    this.end = offset;
  }

  /**
   * Output about to be written to the xterm, ending at `next`.
   * @param {string} text
   * @param {number} next
   */
  wrote(text, next) {
    const bytes = encoder.encode(text);
    this.#chunks.push({ offset: next - bytes.length, bytes });
    this.#kept += bytes.length;
    this.end = next;
    while (this.#kept > KEEP_BYTES && this.#chunks.length > 1) {
      const dropped = /** @type {{ offset: number, bytes: Uint8Array }} */ (this.#chunks.shift());
      this.#kept -= dropped.bytes.length;
    }
  }

  /**
   * Newlines in the kept bytes from `offset` to `end`.
   * @param {number} offset
   * @param {number} [end]
   */
  #localNewlines(offset, end = this.end) {
    /** @type {Uint8Array[]} */
    const parts = [];
    for (const { offset: at, bytes } of this.#chunks) {
      if (at + bytes.length <= offset || at >= end) continue;
      parts.push(bytes.subarray(Math.max(0, offset - at), Math.min(bytes.length, end - at)));
    }
    return countNewlines(parts);
  }

  /**
   * The buffer row (absolute, as scrollToLine takes it) where output byte `offset` is, or an error.
   * @param {number} offset
   * @returns {Promise<{ row: number } | { error: string }>}
   */
  async rowOf(offset) {
    const keptFrom = this.#chunks[0]?.offset ?? this.end;
    let before = 0;
    if (offset < keptFrom) {
      // Before what this view wrote itself: count the newlines in the server's copy of those bytes.
      if (keptFrom - offset > FETCH_MAX_BYTES) return { error: 'too far back in the output to find' };
      try {
        const slice = await api(`/api/terminals/${encodeURIComponent(this.terminalId)}/output?since=${offset}&limit=${keptFrom - offset}`);
        if (slice.since > offset) return { error: 'that output has left the server\'s scrollback' };
        before = countNewlines([encoder.encode(slice.data)]);
      } catch (error) {
        return { error: `could not read the output: ${describe(error)}` };
      }
    }
    // Wait until xterm has parsed everything written so far: then the cursor is at `end`.
    const end = this.end;
    return new Promise((resolve) => {
      // Output that arrives meanwhile is parsed after this callback: count up to `end` only.
      this.term.write('', () => resolve(this.#walkUp(before + this.#localNewlines(Math.max(offset, keptFrom), end))));
    });
  }

  /**
   * The row `lines` logical lines above the cursor's, at that logical line's first row.
   * @param {number} lines
   * @returns {{ row: number } | { error: string }}
   */
  #walkUp(lines) {
    const buffer = this.term.buffer.normal;
    /** @param {number} y */
    const wrapped = (y) => buffer.getLine(y)?.isWrapped === true;
    let row = buffer.baseY + buffer.cursorY;
    for (let left = lines; left > 0; left--) {
      while (row > 0 && wrapped(row)) row--;
      row--;
      if (row < 0) return { error: "older than this view's scrollback" };
    }
    while (row > 0 && wrapped(row)) row--;
    return { row };
  }
}

/** @param {number} ms */
export function formatDuration(ms) {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** @param {string} iso */
const clock = (iso) => new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });

/**
 * The list beside a terminal: one entry per command, newest at the bottom.
 */
export class Timeline {
  /** @type {Map<number, { record: CommandRecord, item: HTMLLIElement }>} */
  #entries = new Map();

  /**
   * @param {(record: CommandRecord) => void} onPick a command was clicked
   */
  constructor(onPick) {
    this.onPick = onPick;
    this.element = document.createElement('aside');
    this.element.className = 'timeline';
    const head = document.createElement('h3');
    head.textContent = 'Commands';
    this.list = document.createElement('ol');
    this.list.className = 'timeline-list';
    this.note = document.createElement('p');
    this.note.className = 'muted timeline-note';
    this.element.append(head, this.note, this.list);
    this.setNote('No commands yet.');
  }

  /** @param {string} text */
  setNote(text) {
    this.note.textContent = text;
    this.note.hidden = text === '';
  }

  /** The highest seq shown (0: none). */
  get lastSeq() {
    let last = 0;
    for (const seq of this.#entries.keys()) last = Math.max(last, seq);
    return last;
  }

  /** @param {CommandRecord[]} records all the terminal's records (replaces the list) */
  replace(records) {
    // Events keep arriving while the list is fetched: a record finished since keeps its
    // finished state, and one started since (newer than the list) stays.
    const newest = records.reduce((seq, record) => Math.max(seq, record.seq), 0);
    const shown = [...this.#entries.values()].map(({ record }) => record);
    const finished = new Map(shown.filter((record) => record.finishedAt !== null).map((record) => [record.seq, record]));
    this.list.replaceChildren();
    this.#entries.clear();
    for (const record of records) this.upsert(record.finishedAt === null ? (finished.get(record.seq) ?? record) : record);
    for (const record of shown) if (record.seq > newest) this.upsert(record);
    if (this.#entries.size > 0) this.setNote('');
  }

  /** @param {CommandRecord} record a new record or a newer state of one shown */
  upsert(record) {
    const known = this.#entries.get(record.seq);
    // Never back from finished to running (a stale list answer after the finished event).
    if (known && known.record.finishedAt !== null && record.finishedAt === null) return;
    const item = known?.item ?? document.createElement('li');
    if (!known) {
      item.className = 'command';
      item.tabIndex = 0;
      item.setAttribute('role', 'button');
      item.dataset['seq'] = String(record.seq);
      item.addEventListener('click', () => this.onPick(/** @type {CommandRecord} */ (this.#entries.get(record.seq)?.record)));
      item.addEventListener('keydown', (event) => {
        if (event.key === 'Enter' || event.key === ' ') {
          event.preventDefault();
          item.click();
        }
      });
      // Kept in seq order: a started and a finished event may come out of order with a refresh.
      const after = [...this.#entries.keys()].filter((seq) => seq > record.seq).sort((a, b) => a - b)[0];
      const next = after === undefined ? null : (this.#entries.get(after)?.item ?? null);
      this.list.insertBefore(item, next);
      this.setNote('');
    }
    this.#entries.set(record.seq, { record, item });
    this.#render(item, record);
    if (!known && this.list.lastElementChild === item) item.scrollIntoView({ block: 'nearest' });
  }

  /**
   * @param {HTMLLIElement} item
   * @param {CommandRecord} record
   */
  #render(item, record) {
    const running = record.finishedAt === null;
    const ok = record.exitCode === 0;
    const badge = document.createElement('span');
    badge.className = `exit ${running ? 'running' : record.exitCode === null ? 'unknown' : ok ? 'ok' : 'failed'}`;
    badge.textContent = running ? '…' : record.exitCode === null ? '?' : ok ? '✓ 0' : `✗ ${record.exitCode}`;
    badge.title = running ? 'running' : record.exitCode === null ? 'exit status unknown' : `exit code ${record.exitCode}`;
    const command = document.createElement('code');
    command.className = 'command-line';
    command.textContent = record.command;
    const meta = document.createElement('span');
    meta.className = 'command-meta muted';
    const duration = record.durationMs === null ? 'running' : formatDuration(record.durationMs);
    meta.textContent = `${clock(record.startedAt)} · ${duration}${record.source === 'run' ? ' · agent' : ''}`;
    meta.title = `${record.cwd}\nstarted ${record.startedAt}${record.finishedAt ? `\nfinished ${record.finishedAt}` : ''}`;
    item.dataset['exit'] = running ? 'running' : String(record.exitCode);
    item.replaceChildren(badge, command, meta);
    item.setAttribute('aria-label', `${record.command}: ${badge.title}, ${duration}`);
  }

  /** @param {number} seq */
  mark(seq) {
    for (const [key, { item }] of this.#entries) item.classList.toggle('picked', key === seq);
  }
}
