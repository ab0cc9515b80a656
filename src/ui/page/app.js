// @ts-check
/**
 * The dashboard's entry: health first (always open), then, in exposed mode,
 * the token (see api.js), then the Connections panel and the live terminals.
 */
import { api, auth, describe } from './api.js';
import { Connections, Health } from './connections.js';
import { Stream } from './stream.js';
import { Terminals } from './terminals.js';

/** @param {string} id */
const byId = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

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

async function main() {
  const health = new Health();
  const info = await health.start();
  if (!info) {
    pageError('The termgate server does not answer. This page retries its health check every few seconds; reload once it is back.');
    return;
  }
  byId('version').textContent = `v${info.version} · ${info.runtime}`;
  showMode(info.mode);

  if (info.mode === 'exposed') {
    // This page was loaded through the browser's Basic login, which the
    // browser also applies to this same-origin request. From here on the page
    // holds the token itself (memory only) for REST and the WebSocket.
    try {
      auth.token = /** @type {{ token: string }} */ (await api('/api/settings/token')).token;
    } catch (error) {
      pageError(`Could not sign in: ${describe(error)}. Reload the page and enter the auth token as the password.`);
      return;
    }
  }

  const stream = new Stream({
    onState: (state, detail) => {
      const status = byId('stream-status');
      status.dataset['state'] = state;
      status.textContent = state === 'open' ? 'live' : state === 'reconnecting' ? `reconnecting… ${detail}` : state;
    },
    onEvent: (event) => terminals.onEvent(event),
    // Terminals created or closed while the stream was down: catch up with the list.
    onWelcome: () => void terminals.refresh(),
  });
  const terminals = new Terminals(stream);
  const connections = new Connections(health, showMode);

  try {
    await connections.load();
  } catch (error) {
    pageError(`Could not load the connection settings: ${describe(error)}`);
  }
  await terminals.refresh();
  stream.connect();
}

main().catch((error) => pageError(`The dashboard failed to start: ${describe(error)}`));
