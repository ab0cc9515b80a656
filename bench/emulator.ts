/**
 * The screen emulator's parse rate (issue 13): a terminal's first `GET /screen`
 * builds its @xterm/headless emulator from the scrollback it holds, so its
 * time over the bytes held is the emulator's parse rate on this machine, per
 * runtime. Two kinds of output: plain text (base64) and coloured lines (an SGR
 * sequence on every line, as `ls --color` or a test runner prints).
 */
import { perRuntime, sleep, type Row } from './util.ts';

const MEGABYTES = Math.min(Number(process.env.BENCH_EMULATOR_MB ?? 6), 8);
const KINDS = {
  plain: `head -c ${Math.round((MEGABYTES * 3) / 4)}M /dev/zero | base64`,
  coloured: `seq 1 ${Math.round((MEGABYTES * 1e6) / 17)} | sed 's/.*/\\x1b[32mline &\\x1b[0m/'`,
};

async function parseRate(base: string, command: string): Promise<{ bytes: number; ms: number }> {
  const api = (path: string, init?: RequestInit) => fetch(`${base}/api/terminals${path}`, init).then((r) => r.json() as Promise<any>);
  const created = await api('', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ command: 'sh', args: ['-c', `${command}; sleep 600`], shellIntegration: false }),
  });
  try {
    // The output is done when its end stops moving (bounded: 60 s).
    let end = -1;
    for (let i = 0; i < 600; i++) {
      await sleep(100);
      const { next } = await api(`/${created.id}/output?tail=1`);
      if (next === end && next > 0) break;
      end = next;
    }
    const { since } = await api(`/${created.id}/output?tail=${16 * 1024 * 1024}`);
    const start = performance.now();
    await api(`/${created.id}/screen`);
    return { bytes: end - since, ms: performance.now() - start };
  } finally {
    await fetch(`${base}/api/terminals/${created.id}`, { method: 'DELETE' });
  }
}

export function emulatorBenchmark(): Promise<Row[]> {
  return perRuntime(async (runtime, server) => {
    const row: Row = { runtime };
    for (const [kind, command] of Object.entries(KINDS)) {
      const { bytes, ms } = await parseRate(server.url, command);
      row[`${kind}: MB parsed`] = (bytes / 1e6).toFixed(1);
      row[`${kind}: MB/s`] = (bytes / 1e6 / (ms / 1000)).toFixed(1);
    }
    return row;
  });
}
