/**
 * Ending a terminal for good. A PTY child is a session leader (setsid), so its
 * pid is its session id. Killing its process group is not enough: an
 * interactive shell puts background jobs (`sleep 1000 &`) in process groups of
 * their own, and `setsid cmd &` leaves the session altogether. So we end
 * every process whose session is the terminal's, and every descendant of
 * those (found through parent pids), all read from /proc; without /proc, the
 * leader's process group is all we can reach. A process that has left the
 * session and been re-parented (a daemon that forked twice) is out of reach,
 * as it is for a terminal emulator.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** A process as /proc shows it; `started` (clock ticks after boot) tells a reused pid apart. */
interface ProcessEntry {
  pid: number;
  parent: number;
  session: number;
  started: string;
}

/** Live processes (zombies left out: they are gone, only not yet reaped); undefined without /proc. */
function processTable(): ProcessEntry[] | undefined {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return undefined;
  }
  const table: ProcessEntry[] = [];
  for (const entry of entries) {
    const found = /^\d+$/.test(entry) ? readEntry(Number(entry)) : undefined;
    if (found) table.push(found);
  }
  return table;
}

/** One process from /proc/<pid>/stat; undefined when it is gone or a zombie. */
function readEntry(pid: number): ProcessEntry | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined; // it ended while we looked
  }
  // Fields after the command name (which may hold spaces) start after the last ')':
  // state, ppid, pgrp, session, ... and starttime as the 20th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (fields[0] === 'Z') return undefined;
  return { pid, parent: Number(fields[1]), session: Number(fields[3]), started: fields[19]! };
}

/** Whether this very process (same pid, same start time) still runs. */
function stillRuns(entry: ProcessEntry): boolean {
  return readEntry(entry.pid)?.started === entry.started;
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

function send(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** SIGKILL, now, to each process of the session and its descendants (the process group without /proc). */
export function killSession(sessionId: number): void {
  if (!Number.isInteger(sessionId) || sessionId <= 1) return;
  const table = processTable();
  if (table === undefined) return send(-sessionId, 'SIGKILL');
  for (const entry of sessionMembers(sessionId, table)) send(entry.pid, 'SIGKILL');
}

/** How long programs get to exit on SIGHUP before the rest of the session is killed. */
const HANGUP_GRACE_MS = 500;
/** How long SIGKILLed processes get to disappear before we stop waiting for them. */
const KILL_SETTLE_MS = 200;
/** How often we look whether the session has emptied. */
const POLL_MS = 25;

/**
 * Ends a terminal's session as closing a terminal window does: SIGHUP to the
 * session leader only, then SIGKILL after 0.5 s for whatever is left (a job
 * that ignores SIGHUP, a descendant in a session of its own, also one whose
 * parent died meanwhile: the members are listed before the hangup). Resolves
 * once the session is empty (or 0.2 s after the SIGKILL at the latest), so the
 * PTY hosts report the exit only then, and a shutting-down server does not
 * exit before its SIGKILL. When the leader is gone already (the shell exited by
 * itself), there is no one to hang up, and the rest is killed at once.
 *
 * Only the leader, as a hangup does: an interactive shell passes SIGHUP on to
 * its jobs, and when the leader exits the kernel sends it to the foreground
 * process group. Signalling every member at once cut programs short in their
 * EXIT trap: a program under the shell finished its trap in 3 runs of 10 that
 * way, in 10 of 10 with the leader only. pyenv's rehash in a `.bashrc` is such
 * a program: cut short, it leaves its lock file behind, and every later shell
 * on the machine waits 60 s for it. Measured here, shells ended at a random
 * moment of their startup: SIGHUP to every member left the lock in 10 of 200
 * runs, SIGHUP to the leader in 6 of 280 (5 of 500 through DELETE; a hangup
 * alone, never followed by SIGKILL, in 2 of 200: pyenv's own window between
 * taking the lock and setting its trap).
 *
 * The leader is signalled only if it was listed (running, not a zombie): once
 * reaped, its pid may belong to another process. Between polls only the listed
 * processes are looked at; the whole of /proc is read again only when they are
 * all gone, to catch processes started meanwhile.
 */
export async function endSession(sessionId: number): Promise<void> {
  if (!Number.isInteger(sessionId) || sessionId <= 1) return;
  const table = processTable();
  if (table === undefined) {
    send(-sessionId, 'SIGHUP');
    await sleep(HANGUP_GRACE_MS);
    return send(-sessionId, 'SIGKILL');
  }
  let members = sessionMembers(sessionId, table);
  const leaderRuns = members.some((entry) => entry.pid === sessionId);
  if (leaderRuns) send(sessionId, 'SIGHUP');
  const killFrom = Date.now() + (leaderRuns ? HANGUP_GRACE_MS : 0);
  for (;;) {
    members = members.filter(stillRuns);
    if (members.length === 0) {
      members = sessionMembers(sessionId, processTable() ?? []);
      if (members.length === 0) return;
    }
    if (Date.now() >= killFrom) {
      if (Date.now() >= killFrom + KILL_SETTLE_MS) return;
      for (const entry of members) send(entry.pid, 'SIGKILL');
    }
    await sleep(POLL_MS);
  }
}
