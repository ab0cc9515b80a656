/**
 * Test certificates, made at run time with Debian's openssl (nothing is
 * checked in): a throwaway CA and a leaf for localhost, 127.0.0.1 and ::1
 * signed by it. A self-signed leaf would do for Node and Bun, but Deno's
 * rustls refuses a CA certificate used as a server's own (CaUsedAsEndEntity),
 * so the leaf is a real end-entity certificate. Plus a client over node:http(s)
 * that trusts that CA or talks over a Unix socket, as fetch cannot on Node 20.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { join } from 'node:path';

export const OPENSSL = '/usr/bin/openssl';
export const hasOpenssl = existsSync(OPENSSL);

export interface TestCertificate {
  /** The CA's certificate (PEM text): what a client trusts. */
  ca: string;
  caFile: string;
  certFile: string;
  keyFile: string;
  /** base64 SHA-256 of the leaf's public key: Chromium's --ignore-certificate-errors-spki-list. */
  spki: string;
}

function openssl(args: string[], cwd: string): string {
  return execFileSync(OPENSSL, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** A CA and a leaf (names: DNS and IP subject alternative names) in `dir`, valid for a day. */
export function makeCertificate(dir: string, names: string[] = ['DNS:localhost', 'IP:127.0.0.1', 'IP:::1']): TestCertificate {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(['req', '-x509', ...ec, '-keyout', 'ca-key.pem', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=termgate test CA'], dir);
  openssl(['req', ...ec, '-keyout', 'key.pem', '-out', 'leaf.csr', '-subj', '/CN=localhost'], dir);
  writeFileSync(
    join(dir, 'leaf.ext'),
    [`subjectAltName=${names.join(',')}`, 'basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature', 'extendedKeyUsage=serverAuth', ''].join('\n'),
  );
  openssl(['x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-out', 'cert.pem', '-days', '1', '-extfile', 'leaf.ext'], dir);
  const publicKey = openssl(['x509', '-in', 'cert.pem', '-pubkey', '-noout'], dir);
  const der = execFileSync(OPENSSL, ['pkey', '-pubin', '-outform', 'der'], { cwd: dir, input: publicKey });
  const spki = execFileSync(OPENSSL, ['dgst', '-sha256', '-binary'], { input: der }).toString('base64');
  return { ca: readFileSync(join(dir, 'ca.pem'), 'utf8'), caFile: join(dir, 'ca.pem'), certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'key.pem'), spki };
}

export interface ClientOptions {
  /** Trust this CA (PEM) for https:// URLs. */
  ca?: string;
  /** Send every request to this Unix socket (the URL's host becomes the Host header). */
  socketPath?: string;
  /** Connect to this address whatever the URL's host resolves to (a proxy's name, on loopback). */
  resolve?: string;
}

/** A node:net `lookup` that answers `address` for every name (both of its callback forms). */
export function lookupTo(address: string) {
  const family = isIP(address);
  return (_host: string, options: { all?: boolean }, done: (...args: any[]) => void) =>
    options.all ? done(null, [{ address, family }]) : done(null, address, family);
}

/**
 * A fetch over node:http(s) that trusts `ca` or uses a Unix socket; the
 * answer is read whole (enough for the API and a stateless MCP server).
 */
export function nodeFetch({ ca, socketPath, resolve: connectTo }: ClientOptions) {
  return (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const url = new URL(input instanceof Request ? input.url : input);
    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((value, name) => (headers[name] = value));
    const body = init.body === undefined || init.body === null ? undefined : String(init.body);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const host = url.hostname.replace(/^\[|\]$/g, '');
    return new Promise((resolve, reject) => {
      const request = send(
        {
          host,
          port: url.port,
          // The certificate is checked against the URL's host, not a Host header a test sets (node:https takes SNI from it).
          servername: isIP(host) ? '' : host,
          path: url.pathname + url.search,
          method: init.method ?? 'GET',
          headers,
          ...(ca === undefined ? {} : { ca }),
          ...(socketPath === undefined ? {} : { socketPath }),
          ...(connectTo === undefined ? {} : { lookup: lookupTo(connectTo) }),
          signal: init.signal ?? undefined,
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.once('error', reject);
          response.once('end', () => {
            const answer = new Headers();
            for (const [name, value] of Object.entries(response.headers)) {
              for (const one of Array.isArray(value) ? value : value === undefined ? [] : [value]) answer.append(name, one);
            }
            const status = response.statusCode ?? 0;
            const empty = status === 204 || status === 304 || init.method === 'HEAD';
            resolve(new Response(empty ? null : Buffer.concat(chunks), { status, headers: answer }));
          });
        },
      );
      request.once('error', reject);
      request.end(body);
    });
  };
}
