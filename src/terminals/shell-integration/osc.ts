/**
 * Finds OSC sequences (ESC ] payload BEL, or ESC ] payload ESC \) in a
 * terminal's output bytes, across chunk boundaries, with the stream offsets
 * where each starts and ends. Only payloads that start with one of `prefixes`
 * are kept (and at most MAX_PAYLOAD bytes of one); the text between sequences
 * is skipped with indexOf, so a terminal printing plain text costs little.
 */
const ESC = 0x1b;
const BEL = 0x07;
const RIGHT_BRACKET = 0x5d;
const BACKSLASH = 0x5c;
const MAX_PAYLOAD = 8192;

export interface Osc {
  /** Offset of the ESC that opens it. */
  start: number;
  /** Offset just past its terminator. */
  end: number;
  payload: string;
}

const enum State {
  Text,
  Escape,
  Payload,
  PayloadEscape,
}

export class OscScanner {
  readonly #prefixes: readonly string[];
  #state = State.Text;
  #start = 0;
  #payload: number[] = [];
  #overflow = false;

  constructor(prefixes: readonly string[]) {
    this.#prefixes = prefixes;
  }

  /** Scans `bytes`, whose first byte is at stream offset `offset`; returns the sequences that ended in them. */
  push(bytes: Uint8Array, offset: number): Osc[] {
    const found: Osc[] = [];
    let i = 0;
    while (i < bytes.length) {
      switch (this.#state) {
        case State.Text: {
          const at = bytes.indexOf(ESC, i);
          if (at < 0) return found;
          this.#start = offset + at;
          this.#state = State.Escape;
          i = at + 1;
          break;
        }
        case State.Escape:
          if (bytes[i] === RIGHT_BRACKET) {
            this.#state = State.Payload;
            this.#payload = [];
            this.#overflow = false;
            i++;
          } else this.#state = State.Text; // not an OSC: look at this byte again as text (it may be an ESC)
          break;
        case State.Payload:
        case State.PayloadEscape: {
          const byte = bytes[i]!;
          i++;
          if (this.#state === State.PayloadEscape) {
            if (byte === BACKSLASH) {
              this.#finish(offset + i, found);
              break;
            }
            // ESC inside an OSC cancels it; the ESC may open the next sequence.
            this.#start = offset + i - 2;
            this.#state = State.Escape;
            i--;
            break;
          }
          if (byte === BEL) this.#finish(offset + i, found);
          else if (byte === ESC) this.#state = State.PayloadEscape;
          else if (this.#payload.length < MAX_PAYLOAD) this.#payload.push(byte);
          else this.#overflow = true;
          break;
        }
      }
    }
    return found;
  }

  #finish(end: number, found: Osc[]): void {
    this.#state = State.Text;
    if (this.#overflow) return;
    const payload = new TextDecoder().decode(Uint8Array.from(this.#payload));
    if (this.#prefixes.some((prefix) => payload.startsWith(prefix))) found.push({ start: this.#start, end, payload });
  }
}

/** The sequences shell integration writes (OSC 133, 7770 and 7), removed from text handed to a reader. */
const INTEGRATION_SEQUENCE = /\x1b\](?:133|7770|7);[^\x07\x1b]*(?:\x07|\x1b\\)/g;

export function stripIntegrationSequences(text: string): string {
  return text.includes('\x1b]') ? text.replace(INTEGRATION_SEQUENCE, '') : text;
}

/**
 * fish reports a command (its preexec event) before it turns bracketed paste
 * off, sets the title and resets colours for it: control sequences and a \r
 * that no command printed. They are cut from the start of a fish command's
 * output; a leading colour of the command's own goes with them, its text stays.
 */
const LEADING_CONTROLS = /^(?:\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-Za-z]|\r)+/;

export function withoutLeadingControls(text: string): string {
  return text.replace(LEADING_CONTROLS, '');
}
