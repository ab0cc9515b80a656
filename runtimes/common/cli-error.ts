/** An error meant for the person at the terminal: printed as one line, exits with `exitCode`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** Exit codes: 1 a failure, 2 a usage mistake, 3 `status` found no server running. */
export const EXIT_USAGE = 2;
export const EXIT_NOT_RUNNING = 3;
