/**
 * Ending a terminal for good. A PTY child is a session leader (setsid), so its
 * pid is its session id. Killing its process group is not enough: an
 * interactive shell puts background jobs (`sleep 1000 &`) in process groups of
 * their own. So we kill every process whose session is the terminal's, found
 * in /proc, plus the group itself.
 */
import { readdirSync, readFileSync } from 'node:fs';

export function sessionMembers(sessionId: number): number[] {
  const members: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return members; // no /proc (not Linux): the group kill below is all we can do
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces) start after the last ')'.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[3]) === sessionId) members.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return members;
}

export function killSession(sessionId: number, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (!Number.isInteger(sessionId) || sessionId <= 1) return;
  for (const pid of sessionMembers(sessionId)) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
  try {
    process.kill(-sessionId, signal);
  } catch {
    // already gone
  }
}
