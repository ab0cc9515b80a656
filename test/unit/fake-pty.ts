/** A PTY the unit tests drive: it records writes and emits the bytes a test gives it. */
import type { PtyProcess, PtySpawnOptions } from '../../src/platform.ts';

const encode = (text: string) => new TextEncoder().encode(text);

export class FakePty implements PtyProcess {
  readonly pid = 4242;
  readonly writes: string[] = [];
  killed = false;
  #data: ((chunk: Uint8Array) => void)[] = [];
  #exit: ((code: number | null, signal: number | null) => void)[] = [];
  constructor(readonly options: PtySpawnOptions) {}
  write(data: string) {
    this.writes.push(data);
  }
  resize() {}
  kill() {
    this.killed = true;
    this.exit(null, 9);
  }
  onData(listener: (chunk: Uint8Array) => void) {
    this.#data.push(listener);
  }
  onExit(listener: (code: number | null, signal: number | null) => void) {
    this.#exit.push(listener);
  }
  emit(bytes: Uint8Array | string) {
    const chunk = typeof bytes === 'string' ? encode(bytes) : bytes;
    for (const listener of this.#data) listener(chunk);
  }
  exit(code: number | null, signal: number | null = null) {
    for (const listener of this.#exit.splice(0)) listener(code, signal);
  }
}
