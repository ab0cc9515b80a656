/** A persistent terminal's holder on Deno (runtimes/holder/holder.ts), with node-pty (-A: FFI); argv: the session directory. */
import { runHolder } from '../holder/holder.ts';
import { nodePtyHost } from '../pty/node-pty-host.ts';

runHolder(nodePtyHost, process.argv[2]!);
