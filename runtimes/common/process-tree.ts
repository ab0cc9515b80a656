/**
 * Ending a terminal for good. A PTY child is a session leader (setsid), so its
 * pid is its session id. Killing its process group is not enough: an
 * interactive shell puts background jobs (`sleep 1000 &`) in process groups of
 * their own, and `setsid cmd &` leaves the session altogether. So we kill
 * every process whose session is the terminal's, and every descendant of
 * those (found through parent pids), all read from /proc, plus the group
 * itself. A process that has left the session and been re-parented (a daemon
 * that forked twice) is out of reach, as it is for a terminal emulator.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** A process as /proc shows it; `started` (clock ticks after boot) tells a reused pid apart. */
interface ProcessEntry {
  pid: number;
  parent: number;
  session: number;
  started: string;
}

/** Live processes (zombies left out: they are gone, only not yet reaped); undefined without /proc. */
function processTable(): ProcessEntry[] | undefined {
  const table: ProcessEntry[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return undefined; // not Linux: the group kill below is all we can do
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces) start after the last ')':
      // state, ppid, pgrp, session, ... and starttime as the 20th.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] === 'Z') continue;
      table.push({ pid: Number(entry), parent: Number(fields[1]), session: Number(fields[3]), started: fields[19]! });
    } catch {
      // the process ended while we looked
    }
  }
  return table;
}

/** The session's processes and all their descendants, inside the session or not. */
function sessionMembers(sessionId: number, table: ProcessEntry[]): ProcessEntry[] {
  const doomed = new Set(table.filter((entry) => entry.session === sessionId).map((entry) => entry.pid));
  for (let grew = doomed.size > 0; grew; ) {
    grew = false;
    for (const entry of table) {
      if (!doomed.has(entry.pid) && doomed.has(entry.parent)) {
        doomed.add(entry.pid);
        grew = true;
      }
    }
  }
  return table.filter((entry) => doomed.has(entry.pid));
}

/**
 * The processes of the session and their descendants, and those of `earlier`
 * (members listed before) that still run: a job whose parent died in between
 * was re-parented out of the tree, but it is still the same process if its
 * start time matches. Undefined without /proc.
 */
function survivors(sessionId: number, earlier: readonly ProcessEntry[]): Set<number> | undefined {
  const table = processTable();
  if (table === undefined) return undefined;
  const pids = new Set(sessionMembers(sessionId, table).map((entry) => entry.pid));
  const running = new Map(table.map((entry) => [entry.pid, entry.started]));
  for (const entry of earlier) if (running.get(entry.pid) === entry.started) pids.add(entry.pid);
  return pids;
}

/** Sends `signal` once to each survivor (see above); to the process group when there is no /proc. */
export function killSession(sessionId: number, signal: NodeJS.Signals = 'SIGKILL', earlier: readonly ProcessEntry[] = []): void {
  if (!Number.isInteger(sessionId) || sessionId <= 1) return;
  for (const pid of survivors(sessionId, earlier) ?? [-sessionId]) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/** How long programs get to exit on SIGHUP before the rest of the session is killed. */
const HANGUP_GRACE_MS = 500;
/** How often we look whether the session has emptied before that. */
const HANGUP_POLL_MS = 25;

/**
 * Ends a terminal's session as closing a terminal window does: SIGHUP to the
 * session leader only, then SIGKILL after 0.5 s for whatever is left (a job
 * that ignores SIGHUP, a descendant in a session of its own, also one whose
 * parent died meanwhile: the members are listed before the hangup). Resolves
 * when the session is empty, so the PTY hosts report the exit only then, and
 * a shutting-down server does not exit before its SIGKILL.
 *
 * Only the leader, as a hangup does: an interactive shell passes SIGHUP on to
 * its jobs, and when the leader exits the kernel sends it to the foreground
 * process group. Signalling every member at once gave some of them a second
 * SIGHUP while they ran their EXIT trap, and they died in it: pyenv's rehash
 * in a `.bashrc` then left its lock file behind, and every later shell on the
 * machine waited 60 s for it. Measured here, shells ended at a random moment
 * of their startup: SIGHUP to every member left the lock in 10 of 200 runs,
 * SIGHUP to the leader in 6 of 280 (1 of 200 through DELETE; a hangup alone, never followed by SIGKILL,
 * in 2 of 200: pyenv's own window between taking the lock and setting its trap).
 */
export async function endSession(sessionId: number): Promise<void> {
  if (!Number.isInteger(sessionId) || sessionId <= 1) return;
  const members = sessionMembers(sessionId, processTable() ?? []);
  try {
    process.kill(sessionId, 'SIGHUP');
  } catch {
    // already gone; its session may still hold processes
  }
  for (const deadline = Date.now() + HANGUP_GRACE_MS; Date.now() < deadline; ) {
    await new Promise((done) => setTimeout(done, HANGUP_POLL_MS));
    if (survivors(sessionId, members)?.size === 0) return;
  }
  killSession(sessionId, 'SIGKILL', members);
}
