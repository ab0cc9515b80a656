/**
 * Listening on Deno: Deno.serve (https://docs.deno.com/api/deno/~/Deno.serve);
 * `cert`/`key` for HTTPS/WSS, `path` with `transport: 'unix'` for a Unix socket.
 *
 * Over TLS Deno also speaks HTTP/2 (ALPN; Chromium and Deno's own fetch choose
 * it), and an HTTP/2 request has no Host header: its `:authority` (RFC 9113
 * §8.3.1) is only in `request.url`. That authority becomes the Host the gate
 * checks, so the rebinding defence reads what the browser sent.
 */
import type { Listen, Listening } from '../../src/platform.ts';

export const denoListen: Listen = (host, port, fetch, options = {}) =>
  new Promise((resolve, reject) => {
    const { tls, unixPath } = options;
    const handler =
      tls === undefined ? (request: Request, info: unknown) => fetch(request, info) : (request: Request, info: unknown) => fetch(withAuthority(request), info);
    // shutdown() stops accepting at once, finishes requests in flight and closes
    // WebSockets with 1001; its promise waits for those requests (a rebind's own
    // PUT among them), so it is not awaited. The port is released (or the socket
    // file removed) a few ms later; the core retries a same-port bind.
    const listening = (boundPort: number, server: () => Deno.HttpServer): Listening => ({
      port: boundPort,
      close: async () => {
        server().shutdown().catch(() => undefined);
      },
    });
    try {
      if (unixPath !== undefined) {
        const server: Deno.HttpServer = Deno.serve({ path: unixPath, transport: 'unix', onListen: () => resolve(listening(0, () => server)) }, handler);
      } else {
        const server: Deno.HttpServer = Deno.serve(
          {
            hostname: host,
            port,
            ...(tls === undefined ? {} : { cert: tls.cert, key: tls.key }),
            onListen: (address) => resolve(listening(address.port, () => server)),
          },
          handler,
        );
      }
    } catch (error) {
      reject(error instanceof Deno.errors.AddrInUse ? Object.assign(error, { code: 'EADDRINUSE' }) : error);
    }
  });

/** An HTTP/2 request with its :authority as Host (Deno's request headers are immutable, so a copy). */
function withAuthority(request: Request): Request {
  // Upgrades are HTTP/1.1 (with a Host), and Deno.upgradeWebSocket needs the original request.
  if (request.headers.has('host') || request.headers.has('upgrade')) return request;
  const headers = new Headers(request.headers);
  headers.set('host', new URL(request.url).host);
  return new Request(request, { headers });
}
