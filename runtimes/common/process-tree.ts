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

interface ProcessEntry {
  pid: number;
  parent: number;
  session: number;
}

function processTable(): ProcessEntry[] {
  const table: ProcessEntry[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return table; // no /proc (not Linux): the group kill below is all we can do
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces) start after the last ')': state, ppid, pgrp, session.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      table.push({ pid: Number(entry), parent: Number(fields[1]), session: Number(fields[3]) });
    } catch {
      // the process ended while we looked
    }
  }
  return table;
}

/** The session's processes and all their descendants, inside the session or not. */
export function sessionMembers(sessionId: number): number[] {
  const table = processTable();
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
  return [...doomed];
}

export function killSession(sessionId: number, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (!Number.isInteger(sessionId) || sessionId <= 1) return;
  const members = sessionMembers(sessionId);
  // Each process gets the signal once: the leader's group is part of the session, and a
  // shell that gets a second SIGHUP while running its EXIT trap dies in the middle of it.
  // The group kill is for systems without /proc, where no member could be listed.
  const targets = members.length > 0 ? members : [-sessionId];
  for (const pid of targets) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/** How long programs get to exit on SIGHUP before the rest of the session is killed. */
const HANGUP_GRACE_MS = 500;

/**
 * Ends a terminal's session as closing a terminal window does: SIGHUP first,
 * so programs can clean up (a shell runs its EXIT trap; pyenv's rehash, for
 * one, removes its lock file there; killed outright it leaves the lock behind
 * and every later shell waits 60 s for it), then SIGKILL for whatever is left
 * (a job that ignores SIGHUP). The timer is not unref'd: a shutting-down
 * server waits for it, so nothing outlives the server.
 */
export function endSession(sessionId: number): void {
  killSession(sessionId, 'SIGHUP');
  setTimeout(() => killSession(sessionId, 'SIGKILL'), HANGUP_GRACE_MS);
}
