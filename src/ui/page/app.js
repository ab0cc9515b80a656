// @ts-check
/**
 * The dashboard's entry: health first (always open), then who this page is
 * (signIn: the token and its scope), then the panels the scope allows
 * (Connections, Tokens, Audit: admin) and the live terminals.
 */
import { ApiError, api, auth, describe, session } from './api.js';
import { Audit } from './audit.js';
import { Connections, Health } from './connections.js';
import { Stream } from './stream.js';
import { Terminals } from './terminals.js';
import { Tokens } from './tokens.js';
import { byId } from './dom.js';


/** @param {string | null} text */
function pageError(text) {
  const banner = byId('page-error');
  banner.hidden = text === null;
  banner.textContent = text ?? '';
}

/** @param {'local' | 'exposed'} mode */
function showMode(mode) {
  const badge = byId('mode-badge');
  badge.hidden = false;
  badge.textContent = mode === 'exposed' ? '⚠ exposed' : 'local';
  badge.className = mode === 'exposed' ? 'badge warn' : 'badge';
  badge.title =
    mode === 'exposed'
      ? 'Bound to the network: every request needs the auth token'
      : 'Bound to loopback: only programs on this machine can connect';
}

/**
 * Who this page is, from the Connections panel's `GET /api/settings/connections`,
 * which is admin-only and which the page asks for anyway (started before the
 * health check answers, so the panel is filled as soon as the dot is). The main
 * token, and local mode, get it: admin; in exposed mode the page then fetches the
 * main token and holds it (memory only) for REST and the WebSocket. A named
 * `read` or `write` token (the browser's login, which the page cannot read) gets
 * 403, whose message names the token's scope; such a page keeps no token: the
 * browser sends its login with every same-origin request, the WebSocket
 * handshake included.
 * @param {'local' | 'exposed'} mode
 * @param {Promise<unknown>} settings the Connections panel's load: resolves with null, or with its error
 * @returns {Promise<string | null>} an error to show, or null
 */
async function signIn(mode, settings) {
  const failed = await settings;
  if (failed instanceof ApiError && failed.code === 'forbidden') {
    const named = /this token has "(read|write)"/.exec(failed.message)?.[1];
    // A scope the page cannot name is treated as the narrowest.
    session.scope = named === 'write' ? 'write' : 'read';
    return null;
  }
  session.scope = 'admin';
  if (failed !== null && mode === 'local') return `Could not load the connection settings: ${describe(failed)}`;
  if (mode === 'local') return null;
  try {
    auth.token = /** @type {{ token: string }} */ (await api('/api/settings/token')).token;
    return failed === null ? null : `Could not load the connection settings: ${describe(failed)}`;
  } catch (error) {
    return `Could not sign in: ${describe(error)}. Reload the page and enter the auth token as the password.`;
  }
}

/** The scope badge and the read-only banner. */
function showScope() {
  const badge = byId('scope-badge');
  badge.hidden = session.scope === 'admin';
  badge.textContent = session.scope === 'read' ? 'read-only' : `${session.scope} token`;
  badge.className = session.scope === 'read' ? 'badge warn' : 'badge';
  badge.title =
    session.scope === 'read'
      ? 'Signed in with a read token: terminals are shown live, nothing typed is sent'
      : 'Signed in with a write token: terminals only (no settings, tokens or audit)';
  byId('read-only').hidden = session.scope !== 'read';
  document.body.classList.toggle('read-only', session.scope === 'read');
}

async function main() {
  const health = new Health();
  const connections = new Connections(health, showMode);
  // In exposed mode this page was loaded through the browser's Basic login,
  // which the browser also applies to this same-origin request.
  const settings = connections.load().then(
    () => {
      // Answered: this page is admin (the settings are admin-only).
      byId('connections').hidden = false;
      return null;
    },
    (/** @type {unknown} */ error) => error,
  );
  const info = await health.start();
  if (!info) {
    pageError('The termgate server does not answer. This page retries its health check every few seconds; reload once it is back.');
    return;
  }
  byId('version').textContent = `v${info.version} · ${info.runtime}`;
  showMode(info.mode);

  const refused = await signIn(info.mode, settings);
  if (refused !== null) {
    pageError(refused);
    if (info.mode === 'exposed' && auth.token === null) return;
  }
  showScope();
  const admin = session.scope === 'admin';
  if (!admin) byId('connections').hidden = true;

  const stream = new Stream({
    onState: (state, detail) => {
      const status = byId('stream-status');
      status.dataset['state'] = state;
      status.textContent = state === 'open' ? 'live' : state === 'reconnecting' ? `reconnecting… ${detail}` : state;
    },
    onEvent: (event) => {
      terminals.onEvent(event);
      if (event.type !== 'command.started') audit?.soon();
    },
    // Terminals created or closed while the stream was down: catch up with the list.
    onWelcome: () => void terminals.refresh(),
    // A keystroke the server refused (its terminal closed meanwhile, a read-only token).
    onSendFailed: (message) => terminals.setStatus(`input failed: ${message}`),
  });
  const tokens = admin ? new Tokens(() => audit?.soon()) : null;
  const audit = admin ? new Audit() : null;
  const terminals = new Terminals(stream, (list) => tokens?.setTerminals(list));

  if (admin) {
    void tokens?.load();
    void audit?.load();
  }
  await terminals.refresh();
  stream.connect();
}

main().catch((error) => pageError(`The dashboard failed to start: ${describe(error)}`));
