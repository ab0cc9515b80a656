/** A persistent terminal's holder on Bun (runtimes/holder/holder.ts), with Bun's own PTY; argv: the session directory. */
import { runHolder } from '../holder/holder.ts';
import { bunPtyHost } from './pty.ts';

runHolder(bunPtyHost, process.argv[2]!);
