/**
 * Persistent terminals (issue 14): output throughput into the server of a
 * persistent terminal (PTY → holder → log + socket → server) against a plain
 * one (PTY → server), the same command in the same run; and the time a new
 * server takes, after a `kill -9` of the old one, to be listening with 20
 * persistent terminals taken over.
 */
import { cliCommand, serverEnv, type Runtime } from '../test/harness.ts';
import { perRuntime, sleep, startPrinting, type Row } from './util.ts';

const MEGABYTES = Math.min(Number(process.env.BENCH_PERSISTENT_MB ?? 30), 200);
const REATTACH = 20;

type Api = (path: string, init?: { method?: string; body?: object }) => Promise<any>;

function apiOf(base: string): Api {
  return async (path, init = {}) => {
    const response = await fetch(`${base}/api/terminals${path}`, {
      method: init.method ?? 'GET',
      ...(init.body ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(init.body) } : {}),
    });
    return response.status === 204 ? undefined : response.json();
  };
}

/** MB/s from create until the output stops growing (polled every 20 ms, bounded: 120 s). */
async function ingestRate(api: Api, persistent: boolean): Promise<number> {
  const start = performance.now();
  const terminal = await api('', { method: 'POST', body: { command: 'sh', args: ['-c', `head -c ${MEGABYTES}M /dev/zero | base64; echo END-OF-OUTPUT; sleep 600`], persistent, shellIntegration: false } });
  try {
    let last = -1;
    let lastAt = start;
    for (let i = 0; i < 6000; i++) {
      await sleep(20);
      const { next, data } = await api(`/${terminal.id}/output?tail=64`);
      if (next !== last) {
        last = next;
        lastAt = performance.now();
      }
      if (data.includes('END-OF-OUTPUT')) break;
    }
    return last / 1e6 / ((lastAt - start) / 1000);
  } finally {
    await api(`/${terminal.id}`, { method: 'DELETE' });
  }
}

async function reattachMs(runtime: Runtime, home: string, api: Api, kill: () => void): Promise<{ ms: number; found: number; api: Api; stop: () => Promise<void> }> {
  for (let i = 0; i < REATTACH; i++) await api('', { method: 'POST', body: { command: 'sh', args: ['-c', 'sleep 600'], persistent: true } });
  kill();
  await sleep(500);
  const [command, args] = cliCommand(runtime, ['serve', '--port', '0']);
  const start = performance.now();
  const next = await startPrinting(command, args, serverEnv(home));
  const ms = performance.now() - start;
  const nextApi = apiOf(next.url);
  const { terminals } = await nextApi('');
  return { ms, found: terminals.filter((t: { persistent: boolean; restored: boolean }) => t.persistent && t.restored).length, api: nextApi, stop: next.stop };
}

export function persistentBenchmark(): Promise<Row[]> {
  return perRuntime(async (runtime, server, home) => {
    const api = apiOf(server.url);
    const plain = await ingestRate(api, false);
    const held = await ingestRate(api, true);
    const again = await reattachMs(runtime, home, api, () => server.child.kill('SIGKILL'));
    try {
      const { terminals } = await again.api('');
      for (const terminal of terminals) await again.api(`/${terminal.id}`, { method: 'DELETE' });
    } finally {
      await again.stop();
    }
    return {
      runtime,
      'plain MB/s': plain.toFixed(1),
      'persistent MB/s': held.toFixed(1),
      'persistent / plain': `${(held / plain).toFixed(2)}×`,
      [`re-attach of ${REATTACH} after kill -9, ms to listening`]: again.ms.toFixed(0),
      'taken over': `${again.found} of ${REATTACH}`,
    };
  });
}
