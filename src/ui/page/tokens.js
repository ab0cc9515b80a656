// @ts-check
/**
 * The Tokens panel (admin only; docs/security.md): named tokens with a scope
 * and, optionally, the terminals they are limited to.
 *
 * The secret of a new token is shown once, in this panel, with Copy: the
 * server keeps only its hash and never shows it again, and the page keeps it
 * only in the DOM until Done (a reload forgets it). Revoking asks first; the
 * server then closes every WebSocket opened with the token (4001).
 */
import { api, describe } from './api.js';
import { copyText } from './connections.js';
import { byId } from './dom.js';

/**
 * @typedef {{ name: string, scope: 'read' | 'write' | 'admin', terminals?: string[], createdAt: string, lastUsedAt: string | null }} NamedToken
 * @typedef {{ id: string, name: string }} TerminalRef
 */


/** @param {string | null} iso */
function when(iso) {
  if (iso === null) return 'never';
  const date = new Date(iso);
  const time = date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  return date.toDateString() === new Date().toDateString() ? `today ${time}` : `${date.toLocaleDateString()} ${time}`;
}

export class Tokens {
  /** @type {NamedToken[]} */
  tokens = [];

  /** @param {(text: string) => void} [onChange] after a create or revoke (the audit view refreshes) */
  constructor(onChange = () => {}) {
    this.onChange = onChange;
    this.panel = byId('tokens');
    this.form = /** @type {HTMLFormElement} */ (byId('token-form'));
    this.name = /** @type {HTMLInputElement} */ (byId('token-name'));
    this.scope = /** @type {HTMLSelectElement} */ (byId('token-scope'));
    this.terminalBox = byId('token-terminal-list');
    this.formStatus = byId('token-form-status');
    this.created = byId('token-created');
    this.secret = byId('token-secret');
    this.secretStatus = byId('token-secret-status');
    this.list = /** @type {HTMLTableSectionElement} */ (byId('token-list').querySelector('tbody'));
    this.empty = byId('token-list-empty');
    this.listStatus = byId('token-list-status');

    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.create();
    });
    // An admin token cannot be limited to terminals (the server says 400): offer no such choice.
    this.scope.addEventListener('change', () => this.#renderTerminalChoice());
    byId('token-secret-copy').addEventListener('click', () => void this.#copySecret());
    byId('token-secret-done').addEventListener('click', () => this.#hideSecret());
    this.setTerminals([]);
  }

  async load() {
    this.panel.hidden = false;
    try {
      const { tokens } = /** @type {{ tokens: NamedToken[] }} */ (await api('/api/tokens'));
      this.tokens = tokens;
      this.#renderList();
      this.#listError(null);
    } catch (error) {
      this.#listError(`could not list the tokens: ${describe(error)}`);
    }
  }

  /**
   * The terminals a new token may be limited to (from the Terminals list).
   * @param {TerminalRef[]} terminals
   */
  setTerminals(terminals) {
    const ticked = new Set(this.#tickedTerminals());
    this.terminalBox.replaceChildren();
    for (const { id, name } of terminals) {
      const label = document.createElement('label');
      label.className = 'check';
      const box = document.createElement('input');
      box.type = 'checkbox';
      box.value = id;
      box.checked = ticked.has(id);
      label.append(box, ` ${name}`);
      label.title = id;
      this.terminalBox.append(label);
    }
    if (terminals.length === 0) {
      const none = document.createElement('span');
      none.className = 'muted';
      none.textContent = 'no open terminals';
      this.terminalBox.append(none);
    }
    this.#renderTerminalChoice();
  }

  /** @returns {string[]} */
  #tickedTerminals() {
    return [...this.terminalBox.querySelectorAll('input[type="checkbox"]')]
      .filter((box) => /** @type {HTMLInputElement} */ (box).checked && !(/** @type {HTMLInputElement} */ (box).disabled))
      .map((box) => /** @type {HTMLInputElement} */ (box).value);
  }

  #renderTerminalChoice() {
    const admin = this.scope.value === 'admin';
    byId('token-terminals').toggleAttribute('disabled', admin);
    byId('token-terminals').title = admin ? 'An admin token cannot be limited to terminals' : '';
  }

  async create() {
    const name = this.name.value.trim();
    if (name === '') {
      this.name.setAttribute('aria-invalid', 'true');
      this.formStatus.textContent = 'Name: give the token a name (it is how you will recognise it in the audit log).';
      return;
    }
    this.name.setAttribute('aria-invalid', 'false');
    const scope = this.scope.value;
    const terminals = scope === 'admin' ? [] : this.#tickedTerminals();
    const button = /** @type {HTMLButtonElement} */ (byId('token-create'));
    button.disabled = true;
    this.formStatus.textContent = 'Creating…';
    try {
      /** @type {{ name: string, token: string, scope: string }} */
      const created = await api('/api/tokens', { method: 'POST', body: { name, scope, ...(terminals.length > 0 ? { terminals } : {}) } });
      this.formStatus.textContent = '';
      this.name.value = '';
      this.#showSecret(created.name, created.token);
      await this.load();
      this.onChange(`token.create ${created.name}`);
    } catch (error) {
      // The server's message names the field (name taken, bad characters, …).
      this.formStatus.textContent = `Not created: ${describe(error)}`;
    } finally {
      button.disabled = false;
    }
  }

  /**
   * @param {string} name
   * @param {string} secret
   */
  #showSecret(name, secret) {
    byId('token-created-name').textContent = name;
    this.secret.textContent = secret;
    this.secretStatus.textContent = '';
    this.created.hidden = false;
  }

  #hideSecret() {
    this.secret.textContent = '';
    this.created.hidden = true;
  }

  async #copySecret() {
    try {
      await copyText(this.secret.textContent ?? '');
      this.secretStatus.textContent = 'Copied.';
    } catch (error) {
      this.secretStatus.textContent = `could not copy: ${describe(error)}`;
    }
  }

  /** @param {string} name */
  async revoke(name) {
    if (!confirm(`Revoke the token "${name}"? Every client using it is refused at once, and its open terminal streams are closed.`)) return;
    try {
      await api(`/api/tokens/${encodeURIComponent(name)}`, { method: 'DELETE' });
      this.#listError(null);
    } catch (error) {
      if (/** @type {any} */ (error).status !== 404) {
        this.#listError(`could not revoke ${name}: ${describe(error)}`);
        return;
      }
    }
    await this.load();
    this.onChange(`token.revoke ${name}`);
  }

  #renderList() {
    const rows = this.tokens.map((token) => {
      const row = document.createElement('tr');
      row.dataset['token'] = token.name;
      const name = document.createElement('td');
      name.textContent = token.name;
      const scope = document.createElement('td');
      const badge = document.createElement('span');
      badge.className = `badge scope-${token.scope}`;
      badge.textContent = token.scope;
      scope.append(badge);
      if (token.terminals) {
        scope.append(` ${token.terminals.length} terminal${token.terminals.length === 1 ? '' : 's'}`);
        scope.title = token.terminals.join('\n');
      }
      const created = document.createElement('td');
      created.textContent = when(token.createdAt);
      created.title = token.createdAt;
      const used = document.createElement('td');
      used.textContent = when(token.lastUsedAt);
      used.title = token.lastUsedAt ?? '';
      const actions = document.createElement('td');
      const revoke = document.createElement('button');
      revoke.type = 'button';
      revoke.className = 'revoke';
      revoke.textContent = 'Revoke';
      revoke.setAttribute('aria-label', `Revoke token ${token.name}`);
      revoke.addEventListener('click', () => void this.revoke(token.name));
      actions.append(revoke);
      row.append(name, scope, created, used, actions);
      return row;
    });
    this.list.replaceChildren(...rows);
    this.empty.hidden = rows.length > 0;
  }

  /** @param {string | null} text */
  #listError(text) {
    this.listStatus.hidden = text === null;
    this.listStatus.textContent = text ?? '';
  }
}
