import { describe, expect, it } from 'vitest';
import { encodeKey, encodeKeys, isKnownKey } from '../../../src/terminals/keys.ts';

const APP = { applicationCursorKeys: true, bracketedPaste: false };
const PASTE = { applicationCursorKeys: false, bracketedPaste: true };

describe('keys', () => {
  it('encodes named keys', () => {
    expect(encodeKeys(['C-c', 'Enter', 'Tab', 'Escape', 'Backspace', 'S-Tab'])).toBe('\x03\r\t\x1b\x7f\x1b[Z');
    expect(encodeKey('F1')).toBe('\x1bOP');
    expect(encodeKey('F5')).toBe('\x1b[15~');
    expect(encodeKey('F12')).toBe('\x1b[24~');
    expect(encodeKey('Delete')).toBe('\x1b[3~');
    expect(encodeKey('PageUp')).toBe('\x1b[5~');
    expect(encodeKey('M-b')).toBe('\x1bb');
    expect(encodeKey('M-Enter')).toBe('\x1b\r');
    expect(encodeKey('C-[')).toBe('\x1b');
  });
  it('encodes cursor keys for the cursor key mode', () => {
    expect(encodeKeys(['Up', 'Down', 'Right', 'Left', 'Home', 'End'])).toBe('\x1b[A\x1b[B\x1b[C\x1b[D\x1b[H\x1b[F');
    expect(encodeKeys(['Up', 'Left'], APP)).toBe('\x1bOA\x1bOD');
  });
  it('wraps text in bracketed paste when it is on', () => {
    expect(encodeKey('text:ls -la')).toBe('ls -la');
    expect(encodeKey('text:ls', PASTE)).toBe('\x1b[200~ls\x1b[201~');
    expect(encodeKey('text:')).toBe('');
  });
  it('knows unknown names', () => {
    expect(isKnownKey('Foo')).toBe(false);
    expect(isKnownKey('C-Foo')).toBe(false);
    expect(isKnownKey('M-')).toBe(false);
    expect(isKnownKey('F13')).toBe(false);
    expect(isKnownKey('a')).toBe(true);
  });
});
