/**
 * Test certificates, generated at test time with the `openssl` CLI into a temp dir (nothing
 * secret is checked in). Generated once per process and cached.
 *
 *  - `ca`: a test CA;
 *  - `server`: a leaf for `localhost`, `foo.example.com` and IP 127.0.0.1, signed by `ca`;
 *  - `selfSigned`: a self-signed leaf for `localhost` (for DEPTH_ZERO_SELF_SIGNED_CERT);
 *  - `otherCa`: an unrelated CA that signed nothing we serve (for the wrong-CA case).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCerts {
  /** PEM of the CA that signed `serverCert`. */
  ca: string;
  /** Server leaf (localhost, foo.example.com, 127.0.0.1). */
  serverKey: string;
  serverCert: string;
  /** A self-signed leaf for localhost. */
  selfSignedKey: string;
  selfSignedCert: string;
  /** PEM of a CA unrelated to every certificate above. */
  otherCa: string;
}

let cached: TestCerts | null = null;

/** P-256 keys: generated in milliseconds, unlike RSA. */
const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'];

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

function makeCa(dir: string, name: string): void {
  openssl(dir, [
    'req', '-x509', ...EC_KEY, '-nodes', '-sha256', '-days', '2',
    '-keyout', `${name}.key`, '-out', `${name}.crt`, '-subj', `/CN=sansio-iostream test ${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
}

/** The test certificates (generated on first call, then cached for the process). */
export function testCerts(): TestCerts {
  if (cached !== null) return cached;
  const dir = mkdtempSync(join(tmpdir(), 'sansio-iostream-certs-'));
  try {
    makeCa(dir, 'ca');
    makeCa(dir, 'other-ca');
    writeFileSync(join(dir, 'server.ext'), [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature',
      'extendedKeyUsage=serverAuth',
      'subjectAltName=DNS:localhost,DNS:foo.example.com,IP:127.0.0.1',
      '',
    ].join('\n'));
    openssl(dir, ['req', ...EC_KEY, '-nodes', '-keyout', 'server.key', '-out', 'server.csr',
      '-subj', '/CN=localhost']);
    openssl(dir, ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial',
      '-days', '2', '-sha256', '-extfile', 'server.ext', '-out', 'server.crt']);
    openssl(dir, [
      'req', '-x509', ...EC_KEY, '-nodes', '-sha256', '-days', '2',
      '-keyout', 'self.key', '-out', 'self.crt', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ]);
    const read = (f: string): string => readFileSync(join(dir, f), 'utf8');
    cached = {
      ca: read('ca.crt'),
      serverKey: read('server.key'),
      serverCert: read('server.crt'),
      selfSignedKey: read('self.key'),
      selfSignedCert: read('self.crt'),
      otherCa: read('other-ca.crt'),
    };
    return cached;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
