// @ts-check
/**
 * The Terminals panel: one tab and one xterm.js view per terminal on the
 * server, all streaming live, each with its command timeline; and the list
 * of terminals beside it. Keystrokes go back as `terminal.input` command
 * frames; the visible terminal is fitted to its box and each new size goes
 * back as `terminal.resize` (neither with a read-only session). List, create
 * and close use REST: they work (and report clear errors) even while the
 * stream is reconnecting.
 *
 * Opening: a view starts from the server's screen snapshot
 * (`GET /screen?format=ansi`: the screen and up to 1000 lines above it, as
 * escape sequences) and then streams live from the snapshot's `offset`, instead
 * of replaying the whole scrollback (up to 8 MiB) through xterm.js. After a
 * dropped connection it replays what it missed when that is little
 * (RESUME_REPLAY_MAX), and reloads from a new snapshot otherwise.
 */
import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';
import { api, describe, readOnly } from './api.js';
import { OutputMap, Timeline } from './timeline.js';
import { byId } from './dom.js';

/**
 * @typedef {{ id: string, name: string, command: string, args: string[], cwd: string, cols: number, rows: number,
 *   pid: number, createdAt: string, exited: boolean, exitCode: number | null,
 *   shellIntegration?: 'active' | 'none', persistent?: boolean, restored?: boolean }} TerminalInfo
 * @typedef {import('./stream.js').Stream} Stream
 * @typedef {import('./timeline.js').CommandRecord} CommandRecord
 */

/** After a reconnect, missed output up to this much is replayed; more, and the view reloads from a snapshot. */
const RESUME_REPLAY_MAX = 256 * 1024;

const THEME = {
  background: '#0d1117',
  foreground: '#e6edf3',
  cursor: '#7ee787',
  selectionBackground: '#264f78',
};


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
      cursorBlink: !readOnly(),
      disableStdin: readOnly(),
      fontFamily: 'ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace',
      fontSize: 13,
      scrollback: 5000,
      theme: THEME,
    });
    this.fit = new FitAddon();
    this.term.loadAddon(this.fit);
    this.map = new OutputMap(this.term, info.id);
    this.timeline = new Timeline((record) => void this.pick(record));
    /** Resolves once the view shows its snapshot and streams (the first load). */
    this.loaded = Promise.resolve();

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
    this.closeButton.hidden = readOnly();
    this.tab.append(this.label, this.closeButton);

    this.panel = document.createElement('div');
    this.panel.className = 'view';
    this.panel.setAttribute('role', 'tabpanel');
    this.panel.dataset['terminalId'] = info.id;
    this.panel.hidden = true;
    this.screen = document.createElement('div');
    this.screen.className = 'screen';
    const body = document.createElement('div');
    body.className = 'view-body';
    body.append(this.screen, this.timeline.element);
    this.footer = document.createElement('div');
    this.footer.className = 'view-status muted';
    this.panel.append(body, this.footer);
    this.render();

    this.term.onData((data) => this.#input(data));
    this.term.onBinary((data) => this.#input(data));
    this.term.onResize(({ cols, rows }) => {
      if (readOnly() || this.exited || (cols === this.info.cols && rows === this.info.rows)) return;
      this.info = { ...this.info, cols, rows };
      this.render();
      owner.stream.command('terminal.resize', { terminalId: info.id, cols, rows }).catch(() => {
        // Stale or exited terminal: the next fit sends the size again.
      });
    });
  }

  /** @param {string} data */
  #input(data) {
    // Read-only: nothing typed leaves the page (the server would refuse it anyway).
    if (this.exited || readOnly()) return;
    // Without an id: only a failure comes back (the stream's onSendFailed).
    this.owner.stream.send('terminal.input', { terminalId: this.info.id, data });
  }

  /** Tab label and footer from the current state. */
  render() {
    const { name, command, args, cols, rows, pid } = this.info;
    this.label.textContent = this.exited ? `${name} (exited)` : name;
    this.tab.classList.toggle('exited', this.exited);
    const state = this.exited ? `exited${this.exitCode === null ? '' : ` with code ${this.exitCode}`}` : `pid ${pid}`;
    this.footer.textContent = `${[command, ...args].join(' ')} · ${cols}×${rows} · ${state}`;
  }

  /**
   * Shows this view, attaching xterm to the DOM the first time (it measures on open).
   * @param {boolean} [focus] whether the terminal takes the keyboard focus
   */
  show(focus = true) {
    this.panel.hidden = false;
    this.tab.classList.add('selected');
    this.tab.setAttribute('aria-selected', 'true');
    if (!this.opened) {
      this.term.open(this.screen);
      this.opened = true;
    }
    this.resize();
    if (focus) this.term.focus();
  }

  hide() {
    this.panel.hidden = true;
    this.tab.classList.remove('selected');
    this.tab.setAttribute('aria-selected', 'false');
  }

  /** Fits the terminal to its box; xterm's onResize sends the new size to the server. */
  resize() {
    // A read-only view keeps the terminal's own size: it may not change it.
    if (!this.opened || this.panel.hidden || this.exited || readOnly()) return;
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
    this.owner.renderList();
  }

  /** Loads the screen snapshot into a fresh xterm, then streams from its offset. */
  async open() {
    const id = this.info.id;
    let since = 0;
    try {
      const snapshot = await this.#snapshot();
      since = this.#show(snapshot);
    } catch (error) {
      // No snapshot (an old server, an error): replay the scrollback instead.
      this.owner.setStatus(`${this.info.name}: no screen snapshot (${describe(error)}); replaying the output instead`);
    }
    this.owner.stream.subscribe(
      id,
      {
        write: (text, next) => {
          this.map.wrote(text, next);
          this.term.write(text);
        },
        dropped: (bytes) => this.term.write(`\x1b[2m[${bytes} bytes of older output no longer held by the server]\x1b[0m\r\n`),
        status: (state) => this.setState(state),
        gone: () => this.owner.remove(id),
        resume: (next) => this.#resume(next),
        // Read once the server sends this terminal's command events: a command that
        // starts in between is then in the list or arrives live, never neither.
        subscribed: () => void this.loadCommands(),
      },
      since,
    );
  }

  /** @returns {Promise<{ data: string, offset: number }>} */
  #snapshot() {
    return api(`/api/terminals/${encodeURIComponent(this.info.id)}/screen?format=ansi`);
  }

  /**
   * Writes a snapshot into the (reset) xterm; returns the offset live output continues from.
   * @param {{ data: string, offset: number }} snapshot
   */
  #show({ data, offset }) {
    this.term.reset();
    this.term.write(data);
    this.map.reset(offset);
    return offset;
  }

  /**
   * After a reconnect: replay a small gap (exact, keeps this view's own
   * scrollback), reload from a snapshot after a large one.
   * @param {number} next
   */
  async #resume(next) {
    const id = encodeURIComponent(this.info.id);
    const tail = /** @type {{ next: number }} */ (await api(`/api/terminals/${id}/output?tail=1`));
    if (tail.next - next <= RESUME_REPLAY_MAX) return next;
    return this.#show(await this.#snapshot());
  }

  /** The timeline from the server's records (each time the subscription is confirmed: on open and after each reconnect). */
  async loadCommands() {
    if (this.info.shellIntegration === 'none') {
      this.timeline.setNote('No shell integration in this terminal (sh, a REPL, ssh…): its commands are not recorded.');
      return;
    }
    try {
      const { commands } = /** @type {{ commands: CommandRecord[] }} */ (
        await api(`/api/terminals/${encodeURIComponent(this.info.id)}/commands`)
      );
      this.timeline.replace(commands);
    } catch (error) {
      this.timeline.setNote(`could not read the commands: ${describe(error)}`);
    }
  }

  /**
   * Scrolls the terminal to a command: its command line at the top, selected.
   * @param {CommandRecord} record
   */
  async pick(record) {
    this.timeline.mark(record.seq);
    const found = await this.map.rowOf(record.startOffset);
    if ('error' in found) {
      this.owner.setStatus(`${record.command}: ${found.error}`);
      return;
    }
    this.owner.setStatus('');
    this.term.scrollToLine(found.row);
    this.term.selectLines(found.row, found.row);
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

  /**
   * @param {Stream} stream
   * @param {(terminals: TerminalInfo[]) => void} [onChange] the list changed (the Tokens panel offers its ids)
   */
  constructor(stream, onChange = () => {}) {
    this.stream = stream;
    this.onChange = onChange;
    this.tabs = byId('terminal-tabs');
    this.views = byId('terminal-views');
    this.empty = byId('terminals-empty');
    this.message = byId('terminal-message');
    this.list = /** @type {HTMLTableSectionElement} */ (byId('terminal-list').querySelector('tbody'));
    this.listEmpty = byId('terminal-list-empty');
    byId('terminal-new').hidden = readOnly();
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
      for (const id of [...this.#views.keys()]) if (!present.has(id)) this.remove(id);
      for (const info of terminals) {
        const view = this.#views.get(info.id);
        if (!view) {
          this.#add(info);
          continue;
        }
        // Known already: what changed while the stream was down (exit, size); the
        // records are read again when the renewed subscription is confirmed.
        view.info = { ...view.info, ...info };
        view.setState(info);
        view.render();
      }
      this.renderList();
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
    this.remove(id);
  }

  /**
   * @param {string} id
   * @param {boolean} [chosen] picked by the user (a tab, a row, New): the terminal takes the
   *   focus. Otherwise (the first terminal listed, the next one after a close) only when
   *   nothing else has it, so the keys of someone typing in a field never go to a shell.
   */
  select(id, chosen = true) {
    const view = this.#views.get(id);
    if (!view) return;
    this.#selectedView()?.hide();
    this.#selected = id;
    view.show(chosen || document.activeElement === null || document.activeElement === document.body);
    this.renderList();
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
        this.renderList();
        break;
      case 'terminal.closed':
        this.remove(event.terminalId);
        break;
      case 'terminal.resized': {
        const view = this.#views.get(event.terminalId);
        if (view && event.data) {
          view.info = { ...view.info, cols: event.data.cols, rows: event.data.rows };
          // A read-only view follows the terminal's size; the others set it themselves.
          if (readOnly()) view.term.resize(event.data.cols, event.data.rows);
          view.render();
        }
        break;
      }
      case 'command.started':
      case 'command.finished':
        if (event.data && typeof event.data.seq === 'number') this.#views.get(event.terminalId)?.timeline.upsert(event.data);
        break;
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
    view.loaded = view.open();
    if (this.#selected === null) this.select(info.id, false);
    this.renderList();
  }

  /** The list of terminals: name, command, status, persistent, shell integration. */
  renderList() {
    const rows = [];
    for (const [id, view] of this.#views) {
      const { name, command, args, persistent, restored, shellIntegration, pid } = view.info;
      const row = document.createElement('tr');
      row.dataset['terminalId'] = id;
      row.classList.toggle('selected', id === this.#selected);
      row.tabIndex = 0;
      row.addEventListener('click', () => this.select(id));
      row.addEventListener('keydown', (event) => {
        if (event.key === 'Enter') this.select(id);
      });
      const status = view.exited ? `exited${view.exitCode === null ? '' : ` (${view.exitCode})`}` : `running · pid ${pid}`;
      const cells = [
        name,
        [command, ...args].join(' '),
        status,
        // restored: this server took it over from one that stopped (docs/persistent.md).
        persistent === undefined ? '—' : persistent ? (restored ? 'yes, restored' : 'yes') : 'no',
        shellIntegration ?? '—',
      ];
      for (const [index, text] of cells.entries()) {
        const cell = document.createElement('td');
        cell.textContent = text;
        if (index === 2) cell.className = view.exited ? 'status exited' : 'status running';
        if (index === 4) cell.className = shellIntegration === 'active' ? 'integration active' : 'integration';
        row.append(cell);
      }
      rows.push(row);
    }
    this.list.replaceChildren(...rows);
    this.listEmpty.hidden = rows.length > 0;
    this.onChange([...this.#views.values()].map((view) => view.info));
  }

  /** @param {string} id */
  remove(id) {
    const view = this.#views.get(id);
    if (!view) return;
    this.stream.unsubscribe(id);
    this.#views.delete(id);
    view.dispose();
    if (this.#selected === id) {
      this.#selected = null;
      const first = this.#views.keys().next();
      if (!first.done) this.select(first.value, false);
    }
    this.empty.hidden = this.#views.size > 0;
    this.renderList();
  }
}
