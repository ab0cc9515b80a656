/** Listening on Deno: Deno.serve (https://docs.deno.com/api/deno/~/Deno.serve). */
import type { Listen } from '../../src/platform.ts';

export const denoListen: Listen = (host, port, fetch) =>
  new Promise((resolve, reject) => {
    try {
      const server = Deno.serve(
        {
          hostname: host,
          port,
          onListen: (address) =>
            resolve({
              port: address.port,
              // shutdown() stops accepting at once, finishes requests in flight and
              // closes WebSockets with 1001; its promise waits for those requests
              // (a rebind's own PUT among them), so it is not awaited. The port is
              // released a few ms later; the core retries a same-port bind.
              close: async () => {
                server.shutdown().catch(() => undefined);
              },
            }),
        },
        (request, info) => fetch(request, info),
      );
    } catch (error) {
      reject(error instanceof Deno.errors.AddrInUse ? Object.assign(error, { code: 'EADDRINUSE' }) : error);
    }
  });
