/**
 * Who subscribes to which terminal (by terminal for fan-out, by session for
 * the pump and frame dispatch), and where each terminal's output ends as seen
 * in events. A closed terminal is forgotten once no subscription takes its tail.
 */
import type { Session } from './session.ts';
import type { Subscription } from './subscription.ts';

export class Registry {
  readonly #subscribers = new Map<string, Set<Subscription>>();
  readonly #bySession = new Map<Session, Map<string, Subscription>>();
  readonly #ends = new Map<string, number>();
  readonly #forgotten: (terminalId: string) => void;

  /** `forgotten`: called when a closed terminal is forgotten, to drop what else is kept for it. */
  constructor(forgotten: (terminalId: string) => void) {
    this.#forgotten = forgotten;
  }

  /** The terminal's subscriptions; undefined when it has none. */
  of(terminalId: string): ReadonlySet<Subscription> | undefined {
    return this.#subscribers.get(terminalId);
  }

  /** The session's subscriptions by terminal id; undefined when it has none. */
  ofSession(session: Session): ReadonlyMap<string, Subscription> | undefined {
    return this.#bySession.get(session);
  }

  /** The session's subscription to the terminal. */
  get(session: Session, terminalId: string): Subscription | undefined {
    return this.#bySession.get(session)?.get(terminalId);
  }

  /** The end offset of the terminal's output as seen in events (undefined before its first output). */
  end(terminalId: string): number | undefined {
    return this.#ends.get(terminalId);
  }

  setEnd(terminalId: string, end: number): void {
    this.#ends.set(terminalId, end);
  }

  /** Registers a subscription; its session must not hold another to the same terminal. */
  add(sub: Subscription): void {
    let mine = this.#bySession.get(sub.session);
    if (!mine) this.#bySession.set(sub.session, (mine = new Map()));
    mine.set(sub.terminalId, sub);
    let set = this.#subscribers.get(sub.terminalId);
    if (!set) this.#subscribers.set(sub.terminalId, (set = new Set()));
    set.add(sub);
  }

  remove(sub: Subscription): void {
    const mine = this.#bySession.get(sub.session);
    mine?.delete(sub.terminalId);
    if (mine?.size === 0) this.#bySession.delete(sub.session);
    const set = this.#subscribers.get(sub.terminalId);
    set?.delete(sub);
    if (set?.size === 0) {
      this.#subscribers.delete(sub.terminalId);
      if (sub.closedTerminal) this.#forget(sub.terminalId);
    }
  }

  /** Drops every subscription of a session that takes no more frames. */
  dropSession(session: Session): void {
    const mine = this.#bySession.get(session);
    if (mine) for (const sub of mine.values()) this.remove(sub);
  }

  /** The terminal was closed: forgets it now unless a subscription is still taking its tail. */
  closed(terminalId: string): void {
    if (!this.#subscribers.has(terminalId)) this.#forget(terminalId);
  }

  #forget(terminalId: string): void {
    this.#ends.delete(terminalId);
    this.#forgotten(terminalId);
  }
}
