/** The files of one persistent terminal in $TERMGATE_HOME/sessions/<id>/ (docs/persistent.md). */
export const SESSION_FILES = {
  /** What to start (server → holder; deleted by the holder once read: it holds the environment). */
  spawn: 'spawn.json',
  /** {"holderPid","pid","cols","rows"}: the holder's pid, the PTY process's, the PTY's size. */
  holder: 'holder.json',
  /** {"code","signal"}: written by the holder when the PTY's process has exited. */
  exit: 'exit.json',
  /** The holder's socket (0600). */
  socket: 'holder.sock',
  /** The holder's own stderr. */
  errors: 'holder.log',
} as const;
