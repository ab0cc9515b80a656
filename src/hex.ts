/** Small byte helpers on Web Crypto, shared by credentials and config. */

export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) out += byte.toString(16).padStart(2, '0');
  return out;
}

export function randomHex(byteCount: number): string {
  return toHex(crypto.getRandomValues(new Uint8Array(byteCount)));
}

export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return toHex(new Uint8Array(digest));
}

/**
 * Compares two strings in time that depends only on `expected`'s length, not on
 * where they differ. A length mismatch is not secret (every token kind has a
 * fixed, documented length), but we still walk the whole expected string.
 */
export function constantTimeEqual(presented: string, expected: string): boolean {
  let diff = presented.length ^ expected.length;
  for (let i = 0; i < expected.length; i++) {
    diff |= (presented.charCodeAt(i) | 0) ^ expected.charCodeAt(i);
  }
  return diff === 0;
}
