// @ts-check
/**
 * The Connections panel (docs/connections.md) and the health dot.
 *
 * Health: `GET /health` every few seconds. healthy = termgate answers;
 * down = nothing answers; conflict = a port is owned by another program (a
 * Save & apply refused with 409, or something other than termgate answering
 * here). A conflict stays shown until a save succeeds.
 */
import { ApiError, api, auth, describe } from './api.js';
import { byId } from './dom.js';

const HEALTH_EVERY_MS = 5000;
const HEALTH_TIMEOUT_MS = 3000;
const MIN_PORT = 1024;
const MAX_PORT = 65535;

/** @param {string} id */
const input = (id) => /** @type {HTMLInputElement} */ (document.getElementById(id));
/** @param {string} id */
const button = (id) => /** @type {HTMLButtonElement} */ (document.getElementById(id));

/**
 * @typedef {{ status: string, name: string, version: string, runtime: string, mode: 'local' | 'exposed' }} HealthInfo
 * @typedef {{ apiPort: number, mcpPort: number, expose: boolean, bindHost: string, mode: 'local' | 'exposed', url?: string,
 *   reachableAt: string[], token: string, tokenFromEnv?: boolean, rebound?: boolean }} ConnectionsInfo
 */

/** @param {string} hostname as URL.hostname gives it (IPv6 in brackets) */
export function isLoopbackName(hostname) {
  return hostname === 'localhost' || hostname.endsWith('.localhost') || hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

export class Health {
  /** @type {'unknown' | 'healthy' | 'conflict' | 'down'} */
  state = 'unknown';
  /** @type {HealthInfo | null} */
  info = null;
  /** @type {string | null} */
  #conflict = null;
  /** @type {ReturnType<typeof setInterval> | undefined} */
  #timer;

  constructor() {
    this.element = byId('health');
    this.text = byId('health-text');
  }

  start() {
    clearInterval(this.#timer);
    this.#timer = setInterval(() => void this.check(), HEALTH_EVERY_MS);
    return this.check();
  }

  /** @returns {Promise<HealthInfo | null>} */
  async check() {
    try {
      const response = await fetch('/health', { cache: 'no-store', signal: AbortSignal.timeout(HEALTH_TIMEOUT_MS) });
      const body = await response.json().catch(() => null);
      if (response.ok && body?.name === 'termgate') {
        this.info = body;
        this.#render(this.#conflict ? 'conflict' : 'healthy', this.#conflict ?? 'healthy');
      } else {
        this.info = null;
        this.#render('conflict', 'conflict: something other than termgate answers on this port');
      }
    } catch {
      this.info = null;
      this.#render('down', 'down: the server does not answer');
    }
    return this.info;
  }

  /** @param {string | null} message a port conflict to show until cleared */
  setConflict(message) {
    this.#conflict = message === null ? null : `conflict: ${message}`;
    void this.check();
  }

  /**
   * @param {'healthy' | 'conflict' | 'down'} state
   * @param {string} text
   */
  #render(state, text) {
    this.state = state;
    this.element.dataset['state'] = state;
    this.element.title = text;
    this.text.textContent = text;
  }
}

/**
 * A port field's value, or an error naming the field.
 * @param {string} label
 * @param {string} raw
 * @returns {{ port: number } | { error: string }}
 */
export function parsePort(label, raw) {
  const text = raw.trim();
  if (!/^\d+$/.test(text)) return { error: `${label}: a whole number from ${MIN_PORT} to ${MAX_PORT}` };
  const port = Number(text);
  if (port < MIN_PORT || port > MAX_PORT) return { error: `${label}: ${port} is outside ${MIN_PORT}–${MAX_PORT}` };
  return { port };
}

export class Connections {
  /** @type {ConnectionsInfo | null} */
  current = null;
  /** The full token, once fetched for Reveal or Copy. @type {string | null} */
  #token = null;
  #revealed = false;

  /**
   * @param {Health} health
   * @param {(mode: 'local' | 'exposed') => void} onModeChange
   */
  constructor(health, onModeChange) {
    this.health = health;
    this.onModeChange = onModeChange;
    this.form = /** @type {HTMLFormElement} */ (byId('connections-form'));
    this.apiPort = input('api-port');
    this.mcpPort = input('mcp-port');
    this.expose = input('expose');
    this.portError = byId('port-error');
    this.saveStatus = byId('save-status');
    this.tokenValue = byId('token-value');
    this.tokenStatus = byId('token-status');

    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.save();
    });
    this.expose.addEventListener('change', () => this.#renderExposure());
    this.apiPort.addEventListener('input', () => this.#renderExposure());
    for (const field of [this.apiPort, this.mcpPort]) field.addEventListener('input', () => this.#validate(false));
    button('token-reveal').addEventListener('click', () => void this.toggleReveal());
    button('token-copy').addEventListener('click', () => void this.copy());
    button('token-rotate').addEventListener('click', () => void this.rotate());
  }

  async load() {
    const info = /** @type {ConnectionsInfo} */ (await api('/api/settings/connections'));
    this.#fill(info);
    return info;
  }

  /** @param {ConnectionsInfo} info */
  #fill(info) {
    this.current = info;
    this.apiPort.value = String(info.apiPort);
    this.mcpPort.value = String(info.mcpPort);
    this.expose.checked = info.expose;
    this.#renderToken(info.token);
    const rotate = button('token-rotate');
    rotate.disabled = info.tokenFromEnv === true;
    rotate.title = info.tokenFromEnv ? 'TERMGATE_TOKEN is set: rotate it where it is managed' : 'Mint a new token; the old one stops working at once';
    this.#renderExposure();
    this.#validate(false);
  }

  /** The warning badge and the addresses, following the switch (saved or not). */
  #renderExposure() {
    const on = this.expose.checked;
    const applied = this.current?.expose === true;
    byId('expose-warning').hidden = !on;
    const reachable = byId('reachable');
    reachable.hidden = !on;
    byId('reachable-label').textContent = applied ? 'Reachable at' : 'Will be reachable at (after Save & apply)';
    const list = byId('reachable-list');
    list.replaceChildren();
    const port = this.apiPort.value.trim() || String(this.current?.apiPort ?? '');
    // Link-local IPv6 (fe80::) needs a zone id, which a browser URL cannot carry.
    const addresses = (this.current?.reachableAt ?? []).filter((address) => !/^fe80:/i.test(address));
    for (const address of addresses) {
      const item = document.createElement('li');
      const code = document.createElement('code');
      code.textContent = `http://${address.includes(':') ? `[${address}]` : address}:${port}/ui/`;
      item.append(code);
      list.append(item);
    }
    if (addresses.length === 0) {
      const item = document.createElement('li');
      item.className = 'muted';
      item.textContent = 'no network interface found';
      list.append(item);
    }
  }

  /**
   * @param {boolean} report whether to show errors (on save) or only clear them (while typing)
   * @returns {{ apiPort: number, mcpPort: number } | null}
   */
  #validate(report) {
    const apiField = parsePort('API port', this.apiPort.value);
    const mcpField = parsePort('MCP port', this.mcpPort.value);
    /** @type {string[]} */
    const errors = [];
    this.apiPort.setAttribute('aria-invalid', String('error' in apiField));
    this.mcpPort.setAttribute('aria-invalid', String('error' in mcpField));
    if ('error' in apiField) errors.push(apiField.error);
    if ('error' in mcpField) errors.push(mcpField.error);
    if ('port' in apiField && 'port' in mcpField && apiField.port === mcpField.port) {
      errors.push('the API and the MCP sidecar need different ports');
      this.mcpPort.setAttribute('aria-invalid', 'true');
    }
    if (errors.length > 0) {
      if (report || !this.portError.hidden) this.#portError(errors.join('; '));
      return null;
    }
    this.#portError(null);
    return 'port' in apiField && 'port' in mcpField ? { apiPort: apiField.port, mcpPort: mcpField.port } : null;
  }

  /** @param {string | null} text */
  #portError(text) {
    this.portError.hidden = text === null;
    this.portError.textContent = text ?? '';
  }

  /** @param {string} text */
  #saveStatus(text) {
    this.saveStatus.textContent = text;
  }

  async save() {
    const ports = this.#validate(true);
    if (!ports || !this.current) return;
    const expose = this.expose.checked;
    const saveButton = button('save');
    saveButton.disabled = true;
    this.#saveStatus('Applying…');
    try {
      // Exposing turns the gate on for the very next request: hold the token first.
      if (expose && !auth.token) auth.token = (await api('/api/settings/token')).token;
      const answer = /** @type {ConnectionsInfo} */ (
        await api('/api/settings/connections', { method: 'PUT', body: { ...ports, expose } })
      );
      this.health.setConflict(null);
      this.#follow(answer);
    } catch (error) {
      if (error instanceof ApiError && error.code === 'conflict') {
        this.health.setConflict(error.message);
        this.#saveStatus('Not applied: port in use.');
      } else if (error instanceof ApiError && error.status === 400) {
        this.#portError(error.message);
        this.#saveStatus('Not applied.');
      } else {
        this.#saveStatus(`Not applied: ${describe(error)}`);
      }
    } finally {
      saveButton.disabled = false;
    }
  }

  /**
   * Follows the server to where it now listens: same page when only the mode
   * changed; otherwise the same name on the new port (loopback when the server
   * went back to local mode and this page was opened through a network address).
   * @param {ConnectionsInfo} answer
   */
  #follow(answer) {
    const target = new URL('/ui/', location.href);
    if (answer.mode === 'local' && !isLoopbackName(location.hostname)) target.hostname = '127.0.0.1';
    target.port = String(answer.apiPort);
    if (target.origin === location.origin) {
      if (answer.mode === 'local') auth.token = null;
      this.#fill(answer);
      this.#saveStatus(answer.rebound ? `Saved and applied: now listening on ${answer.url ?? target.origin}.` : 'Saved.');
      this.onModeChange(answer.mode);
      return;
    }
    if (answer.mode === 'exposed') {
      // A new origin means a new browser login, which this page cannot carry over:
      // say so, and let the user copy the token before going.
      this.#fill(answer);
      this.saveStatus.replaceChildren(
        'Saved and applied. Sign in at ',
        Object.assign(document.createElement('a'), { href: target.href, textContent: target.origin, id: 'follow-link' }),
        ' with any user name and the auth token as password (Copy it first).',
      );
      return;
    }
    this.#saveStatus(`Saved and applied: moving to ${target.origin}…`);
    location.assign(target.href);
  }

  // ---- token -------------------------------------------------------------------

  /** @param {string} masked */
  #renderToken(masked) {
    this.tokenValue.textContent = this.#revealed && this.#token ? this.#token : masked;
    this.tokenValue.classList.toggle('revealed', this.#revealed);
    button('token-reveal').textContent = this.#revealed ? 'Hide' : 'Reveal';
  }

  /** @param {string} text */
  #tokenStatus(text) {
    this.tokenStatus.textContent = text;
  }

  async #fullToken() {
    this.#token ??= /** @type {{ token: string }} */ (await api('/api/settings/token')).token;
    return this.#token;
  }

  async toggleReveal() {
    try {
      if (!this.#revealed) await this.#fullToken();
      this.#revealed = !this.#revealed;
      this.#renderToken(this.current?.token ?? '');
      this.#tokenStatus('');
    } catch (error) {
      this.#tokenStatus(`could not read the token: ${describe(error)}`);
    }
  }

  async copy() {
    try {
      const token = await this.#fullToken();
      await copyText(token);
      this.#tokenStatus('Copied.');
    } catch (error) {
      this.#tokenStatus(`could not copy: ${describe(error)}`);
    }
  }

  async rotate() {
    if (!confirm('Rotate the auth token? The old one stops working at once for every client (open terminal streams stay connected).')) return;
    try {
      const { token } = /** @type {{ token: string }} */ (await api('/api/auth/rotate', { method: 'POST' }));
      this.#token = token;
      if (auth.token) auth.token = token;
      const info = /** @type {ConnectionsInfo} */ (await api('/api/settings/connections'));
      if (this.current) this.current = { ...this.current, token: info.token };
      this.#renderToken(info.token);
      this.#tokenStatus('Rotated: clients using the old token need the new one.');
    } catch (error) {
      this.#tokenStatus(`could not rotate: ${describe(error)}`);
    }
  }
}

/**
 * The async Clipboard API needs a secure context, which http://<LAN address>
 * is not; the old selection-based copy works there.
 * @param {string} text
 */
export async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return;
    } catch {
      // permission refused: try the old way
    }
  }
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.className = 'offscreen';
  document.body.append(area);
  area.select();
  const ok = document.execCommand('copy');
  area.remove();
  if (!ok) throw new Error('the browser refused to copy');
}
