// @ts-check
/**
 * The Terminals panel: one tab and one xterm.js view per terminal on the
 * server, all streaming live. Keystrokes go back as `terminal.input` command
 * frames; the visible terminal is fitted to its box and each new size goes
 * back as `terminal.resize`. List, create and close use REST: they work (and
 * report clear errors) even while the stream is reconnecting.
 */
import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';
import { api, describe } from './api.js';

/**
 * @typedef {{ id: string, name: string, command: string, args: string[], cwd: string, cols: number, rows: number,
 *   pid: number, createdAt: string, exited: boolean, exitCode: number | null }} TerminalInfo
 * @typedef {import('./stream.js').Stream} Stream
 */

const THEME = {
  background: '#0d1117',
  foreground: '#e6edf3',
  cursor: '#7ee787',
  selectionBackground: '#264f78',
};

/** @param {string} id */
const byId = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

class TerminalView {
  /** Whether the xterm has been attached to the DOM (it is, on first show). */
  opened = false;
  exited = false;
  /** @type {number | null} */
  exitCode = null;

  /**
   * @param {TerminalInfo} info
   * @param {Terminals} owner
   */
  constructor(info, owner) {
    this.info = info;
    this.owner = owner;
    this.term = new Terminal({
      cols: info.cols,
      rows: info.rows,
      cursorBlink: true,
      fontFamily: 'ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace',
      fontSize: 13,
      scrollback: 5000,
      theme: THEME,
    });
    this.fit = new FitAddon();
    this.term.loadAddon(this.fit);

    this.tab = document.createElement('div');
    this.tab.className = 'tab';
    this.tab.setAttribute('role', 'tab');
    this.tab.dataset['terminalId'] = info.id;
    this.label = document.createElement('button');
    this.label.type = 'button';
    this.label.className = 'tab-label';
    this.label.addEventListener('click', () => owner.select(info.id));
    this.closeButton = document.createElement('button');
    this.closeButton.type = 'button';
    this.closeButton.className = 'tab-close';
    this.closeButton.textContent = '×';
    this.closeButton.title = 'Close this terminal (kills its processes)';
    this.closeButton.setAttribute('aria-label', `Close terminal ${info.name}`);
    this.closeButton.addEventListener('click', () => void owner.close(info.id));
    this.tab.append(this.label, this.closeButton);

    this.panel = document.createElement('div');
    this.panel.className = 'view';
    this.panel.setAttribute('role', 'tabpanel');
    this.panel.dataset['terminalId'] = info.id;
    this.panel.hidden = true;
    this.screen = document.createElement('div');
    this.screen.className = 'screen';
    this.footer = document.createElement('div');
    this.footer.className = 'view-status muted';
    this.panel.append(this.screen, this.footer);
    this.render();

    this.term.onData((data) => this.#input(data));
    this.term.onBinary((data) => this.#input(data));
    this.term.onResize(({ cols, rows }) => {
      if (this.exited || (cols === this.info.cols && rows === this.info.rows)) return;
      this.info = { ...this.info, cols, rows };
      this.render();
      owner.stream.command('terminal.resize', { terminalId: info.id, cols, rows }).catch(() => {
        // Stale or exited terminal: the next fit sends the size again.
      });
    });
  }

  /** @param {string} data */
  #input(data) {
    if (this.exited) return;
    this.owner.stream.command('terminal.input', { terminalId: this.info.id, data }).catch((error) => {
      this.owner.setStatus(`input to ${this.info.name} failed: ${describe(error)}`);
    });
  }

  /** Tab label and footer from the current state. */
  render() {
    const { name, command, args, cols, rows, pid } = this.info;
    this.label.textContent = this.exited ? `${name} (exited)` : name;
    this.tab.classList.toggle('exited', this.exited);
    const state = this.exited ? `exited${this.exitCode === null ? '' : ` with code ${this.exitCode}`}` : `pid ${pid}`;
    this.footer.textContent = `${[command, ...args].join(' ')} · ${cols}×${rows} · ${state}`;
  }

  /** Shows this view, attaching xterm to the DOM the first time (it measures on open). */
  show() {
    this.panel.hidden = false;
    this.tab.classList.add('selected');
    this.tab.setAttribute('aria-selected', 'true');
    if (!this.opened) {
      this.term.open(this.screen);
      this.opened = true;
    }
    this.resize();
    this.term.focus();
  }

  hide() {
    this.panel.hidden = true;
    this.tab.classList.remove('selected');
    this.tab.setAttribute('aria-selected', 'false');
  }

  /** Fits the terminal to its box; xterm's onResize sends the new size to the server. */
  resize() {
    if (!this.opened || this.panel.hidden || this.exited) return;
    try {
      this.fit.fit();
    } catch {
      // Not measurable yet (zero-size box): the next window resize fits it.
    }
  }

  /** @param {{ exited: boolean, exitCode: number | null }} state */
  setState({ exited, exitCode }) {
    if (!exited || this.exited) return;
    this.exited = true;
    this.exitCode = exitCode;
    this.render();
  }

  dispose() {
    this.term.dispose();
    this.tab.remove();
    this.panel.remove();
  }
}

export class Terminals {
  /** @type {Map<string, TerminalView>} */
  #views = new Map();
  /** @type {string | null} */
  #selected = null;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #resizeTimer;

  /** @param {Stream} stream */
  constructor(stream) {
    this.stream = stream;
    this.tabs = byId('terminal-tabs');
    this.views = byId('terminal-views');
    this.empty = byId('terminals-empty');
    this.message = byId('terminal-message');
    byId('terminal-new').addEventListener('click', () => void this.create());
    // Resize follows the window (debounced: a drag fires many events).
    window.addEventListener('resize', () => {
      clearTimeout(this.#resizeTimer);
      this.#resizeTimer = setTimeout(() => this.#selectedView()?.resize(), 100);
    });
  }

  /** @param {string} text an error to show ('' clears it) */
  setStatus(text) {
    this.message.textContent = text;
    this.message.hidden = text === '';
  }

  /** Brings the tabs in line with the server's list (on load and after each reconnect). */
  async refresh() {
    try {
      const { terminals } = /** @type {{ terminals: TerminalInfo[] }} */ (await api('/api/terminals'));
      const present = new Set(terminals.map((t) => t.id));
      for (const id of [...this.#views.keys()]) if (!present.has(id)) this.#remove(id);
      for (const info of terminals) this.#add(info);
    } catch (error) {
      this.setStatus(`could not list terminals: ${describe(error)}`);
    }
  }

  async create() {
    const button = /** @type {HTMLButtonElement} */ (byId('terminal-new'));
    button.disabled = true;
    try {
      // Start the shell at the size the view will have, so its first prompt is laid out right.
      const size = this.#selectedView()?.fit.proposeDimensions();
      const body = size && size.cols > 0 && size.rows > 0 ? { cols: size.cols, rows: size.rows } : {};
      const info = /** @type {TerminalInfo} */ (await api('/api/terminals', { method: 'POST', body }));
      this.#add(info);
      this.select(info.id);
      this.setStatus('');
    } catch (error) {
      this.setStatus(`could not create a terminal: ${describe(error)}`);
    } finally {
      button.disabled = false;
    }
  }

  /** @param {string} id */
  async close(id) {
    try {
      await api(`/api/terminals/${encodeURIComponent(id)}`, { method: 'DELETE' });
    } catch (error) {
      // Already gone is what we wanted; anything else is worth saying.
      if (/** @type {any} */ (error).status !== 404) {
        this.setStatus(`could not close the terminal: ${describe(error)}`);
        return;
      }
    }
    this.#remove(id);
  }

  /** @param {string} id */
  select(id) {
    const view = this.#views.get(id);
    if (!view) return;
    this.#selectedView()?.hide();
    this.#selected = id;
    view.show();
  }

  /**
   * Lifecycle events from the stream (output goes straight to each view's sink).
   * @param {{ type: string, terminalId: string, data: any }} event
   */
  onEvent(event) {
    switch (event.type) {
      case 'terminal.created':
        if (event.data && typeof event.data.id === 'string') this.#add(event.data);
        break;
      case 'terminal.exit':
        this.#views.get(event.terminalId)?.setState({ exited: true, exitCode: event.data?.exitCode ?? null });
        break;
      case 'terminal.closed':
        this.#remove(event.terminalId);
        break;
      case 'terminal.resized': {
        const view = this.#views.get(event.terminalId);
        if (view && event.data) {
          view.info = { ...view.info, cols: event.data.cols, rows: event.data.rows };
          view.render();
        }
        break;
      }
    }
  }

  #selectedView() {
    return this.#selected === null ? undefined : this.#views.get(this.#selected);
  }

  /** @param {TerminalInfo} info */
  #add(info) {
    if (this.#views.has(info.id)) return;
    const view = new TerminalView(info, this);
    this.#views.set(info.id, view);
    this.tabs.append(view.tab);
    this.views.append(view.panel);
    this.empty.hidden = true;
    view.setState(info);
    this.stream.subscribe(info.id, {
      write: (text) => view.term.write(text),
      dropped: (bytes) => view.term.write(`\x1b[2m[${bytes} bytes of older output no longer held by the server]\x1b[0m\r\n`),
      status: (state) => view.setState(state),
      gone: () => this.#remove(info.id),
    });
    if (this.#selected === null) this.select(info.id);
  }

  /** @param {string} id */
  #remove(id) {
    const view = this.#views.get(id);
    if (!view) return;
    this.stream.unsubscribe(id);
    this.#views.delete(id);
    view.dispose();
    if (this.#selected === id) {
      this.#selected = null;
      const first = this.#views.keys().next();
      if (!first.done) this.select(first.value);
    }
    this.empty.hidden = this.#views.size > 0;
  }
}
