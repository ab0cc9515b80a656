/**
 * An error meant for the person at the terminal: printed as one line, exits
 * with `exitCode`. Any other error is printed the same way with exit code 1
 * (the host helpers and the core word theirs for people too).
 */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** Exit codes: 1 a failure, 2 a usage mistake, 3 `status` found no server running. */
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
export const EXIT_NOT_RUNNING = 3;

/** A mistake in the command line: exit code 2, and a pointer to the help. */
export function usageError(message: string): CliError {
  return new CliError(`${message} (try --help)`, EXIT_USAGE);
}
