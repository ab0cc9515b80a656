/**
 * Key names to the bytes a terminal expects, for the terminal's current modes
 * (application cursor keys, bracketed paste), as xterm encodes them.
 */
import type { ScreenModes } from './screen.ts';

const ESC = '\x1b';

const CURSOR: Record<string, string> = { Up: 'A', Down: 'B', Right: 'C', Left: 'D', Home: 'H', End: 'F' };

const FIXED: Record<string, string> = {
  Enter: '\r',
  Tab: '\t',
  'S-Tab': `${ESC}[Z`,
  Escape: ESC,
  Backspace: '\x7f',
  Space: ' ',
  Insert: `${ESC}[2~`,
  Delete: `${ESC}[3~`,
  PageUp: `${ESC}[5~`,
  PageDown: `${ESC}[6~`,
  F1: `${ESC}OP`,
  F2: `${ESC}OQ`,
  F3: `${ESC}OR`,
  F4: `${ESC}OS`,
  F5: `${ESC}[15~`,
  F6: `${ESC}[17~`,
  F7: `${ESC}[18~`,
  F8: `${ESC}[19~`,
  F9: `${ESC}[20~`,
  F10: `${ESC}[21~`,
  F11: `${ESC}[23~`,
  F12: `${ESC}[24~`,
};

const NO_MODES: ScreenModes = { applicationCursorKeys: false, bracketedPaste: false };

function ctrl(key: string): string | undefined {
  if (key.length !== 1) return undefined;
  const c = key.toUpperCase();
  if (c >= 'A' && c <= 'Z') return String.fromCharCode(c.charCodeAt(0) - 64);
  const map: Record<string, string> = { '@': '\0', ' ': '\0', '[': ESC, '\\': '\x1c', ']': '\x1d', '^': '\x1e', _: '\x1f', '?': '\x7f' };
  return map[key];
}

/** The bytes of one key name, or undefined when the name is unknown. */
export function encodeKey(name: string, modes: ScreenModes = NO_MODES): string | undefined {
  if (name.startsWith('text:')) {
    const text = name.slice(5);
    return modes.bracketedPaste ? `${ESC}[200~${text}${ESC}[201~` : text;
  }
  const cursor = CURSOR[name];
  if (cursor !== undefined) return modes.applicationCursorKeys ? `${ESC}O${cursor}` : `${ESC}[${cursor}`;
  const fixed = FIXED[name];
  if (fixed !== undefined) return fixed;
  if (name.startsWith('C-') && name.length > 2) return ctrl(name.slice(2));
  if (name.startsWith('M-') && name.length > 2) {
    const rest = name.slice(2);
    const inner = rest.length === 1 ? rest : encodeKey(rest, modes);
    return inner === undefined ? undefined : ESC + inner;
  }
  if ([...name].length === 1) return name;
  return undefined;
}

/** Whether `name` is a key name (or text:) that encodeKey knows. */
export function isKnownKey(name: string): boolean {
  return encodeKey(name) !== undefined;
}

export function encodeKeys(names: readonly string[], modes: ScreenModes = NO_MODES): string {
  return names.map((name) => encodeKey(name, modes) ?? '').join('');
}
