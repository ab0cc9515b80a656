/** A persistent terminal's holder on Node (runtimes/holder/holder.ts), with node-pty; argv: the session directory. */
import { runHolder } from '../holder/holder.ts';
import { nodePtyHost } from '../pty/node-pty-host.ts';

runHolder(nodePtyHost, process.argv[2]!);
