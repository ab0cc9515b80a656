/**
 * --tls-cert / --tls-key (docs/tls-and-unix.md): the PEM files read and checked
 * before anything listens, so a wrong file is one line naming it, not a
 * runtime's TLS error at bind time. node:crypto's X509Certificate and
 * createPrivateKey work alike on Node, Bun and Deno.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { TlsPem } from '../../src/platform.ts';

/** The certificate chain (leaf first) and key at these paths; throws a one-line Error naming the flag and file. */
export function readTlsFiles(certFile: string, keyFile: string): TlsPem {
  const cert = readPem(certFile, '--tls-cert');
  const key = readPem(keyFile, '--tls-key');
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch {
    throw new Error(`--tls-cert: ${certFile} is not a PEM certificate (-----BEGIN CERTIFICATE-----)`);
  }
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    // Never the key's text: it is a secret.
    throw new Error(`--tls-key: ${keyFile} is not an unencrypted PEM private key (-----BEGIN PRIVATE KEY-----)`);
  }
  if (!leaf.checkPrivateKey(privateKey)) {
    throw new Error(`--tls-key: ${keyFile} is not the key of the certificate in ${certFile}`);
  }
  if (Date.parse(leaf.validTo) < Date.now()) {
    throw new Error(`--tls-cert: the certificate in ${certFile} expired on ${leaf.validTo}`);
  }
  return { cert, key };
}

function readPem(file: string, flag: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new Error(`${flag}: cannot read ${file}${typeof code === 'string' ? ` (${code})` : ''}`);
  }
}
