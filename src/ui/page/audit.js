// @ts-check
/**
 * The audit view (admin only; docs/security.md): the latest lines of the
 * audit log (`GET /api/audit?limit=`), newest first, filtered in the page by
 * terminal and by token. Refreshed on demand, after the page's own token
 * changes, and (debounced) when the stream reports a state change.
 */
import { api, describe } from './api.js';
import { byId } from './dom.js';

const LIMIT = 200;
const REFRESH_DEBOUNCE_MS = 1000;

/**
 * @typedef {{ time: string, door: string, token: string, op: string, terminalId?: string, bytes?: number, name?: string }} AuditEntry
 */


export class Audit {
  /** @type {AuditEntry[]} */
  entries = [];
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #timer;
  #enabled = false;

  constructor() {
    this.panel = byId('audit');
    this.list = /** @type {HTMLTableSectionElement} */ (byId('audit-list').querySelector('tbody'));
    this.terminal = /** @type {HTMLSelectElement} */ (byId('audit-terminal'));
    this.token = /** @type {HTMLSelectElement} */ (byId('audit-token'));
    this.status = byId('audit-status');
    byId('audit-refresh').addEventListener('click', () => void this.load());
    this.terminal.addEventListener('change', () => this.#render());
    this.token.addEventListener('change', () => this.#render());
  }

  async load() {
    this.#enabled = true;
    this.panel.hidden = false;
    try {
      const { entries } = /** @type {{ entries: AuditEntry[] }} */ (await api(`/api/audit?limit=${LIMIT}`));
      this.entries = entries.slice().reverse();
      this.#fillFilters();
      this.#render();
    } catch (error) {
      this.status.textContent = `could not read the audit log: ${describe(error)}`;
    }
  }

  /** Something changed on the server: refresh soon (several changes, one read). */
  soon() {
    if (!this.#enabled) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.load(), REFRESH_DEBOUNCE_MS);
  }

  #fillFilters() {
    /**
     * @param {HTMLSelectElement} select
     * @param {string[]} values
     */
    const fill = (select, values) => {
      const chosen = select.value;
      const options = [new Option('all', '')];
      for (const value of [...new Set(values)].sort()) options.push(new Option(value, value));
      if (chosen && !values.includes(chosen)) options.push(new Option(chosen, chosen));
      select.replaceChildren(...options);
      select.value = chosen;
    };
    fill(this.terminal, this.entries.flatMap((entry) => (entry.terminalId ? [entry.terminalId] : [])));
    fill(this.token, this.entries.map((entry) => entry.token));
  }

  #render() {
    const terminal = this.terminal.value;
    const token = this.token.value;
    const shown = this.entries.filter((entry) => (!terminal || entry.terminalId === terminal) && (!token || entry.token === token));
    const rows = shown.map((entry) => {
      const row = document.createElement('tr');
      const time = new Date(entry.time);
      const what = entry.name ? `${entry.op} ${entry.name}` : entry.bytes === undefined ? entry.op : `${entry.op} (${entry.bytes} B)`;
      for (const [index, text] of [time.toLocaleTimeString([], { hourCycle: 'h23' }), entry.token, entry.door, what, entry.terminalId ?? ''].entries()) {
        const cell = document.createElement('td');
        cell.textContent = text;
        if (index === 0) cell.title = entry.time;
        if (index === 4) {
          cell.className = 'id';
          cell.title = text;
          cell.textContent = text.slice(0, 8);
        }
        row.append(cell);
      }
      return row;
    });
    this.list.replaceChildren(...rows);
    this.status.textContent =
      this.entries.length === 0 ? 'Nothing yet: a line is written for each change (create, input, run, tokens…).' : `${shown.length} of the latest ${this.entries.length}`;
  }
}
