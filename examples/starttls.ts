/**
 * STARTTLS, SMTP style: a plaintext greeting and command, then both sides upgrade the same TCP
 * connection with `startTls` and continue over TLS. The certificates are made on the fly with
 * the `openssl` CLI (as the tests do), and the client verifies the server's against its CA.
 * Run: node --import tsx examples/starttls.ts
 */
import * as net from 'node:net';
import { IOStream, type SSLIOStream } from 'sansio-iostream';
import { testCerts } from '../test/_support/certs.js';

/**
 * One SMTP-ish session on the server side: greeting, EHLO, STARTTLS, then one command over TLS.
 * A client that pipelines anything after STARTTLS before our 220 (CVE-2011-0411: plaintext
 * that would be taken as sent inside the TLS session) is refused: `readableLength` says
 * whether any byte is buffered beyond the STARTTLS line. Resolves with how the session ended.
 */
export async function serveSmtp(socket: net.Socket, certs: { serverKey: string; serverCert: string },
  log: (s: string) => void = console.log): Promise<'tls' | 'refused'> {
  const plain = new IOStream(socket);
  await plain.write('220 mail.localhost ESMTP ready\r\n');
  log(`server <- ${(await plain.readUntil('\r\n')).toString().trimEnd()}`);
  await plain.write('250-mail.localhost\r\n250 STARTTLS\r\n');
  log(`server <- ${(await plain.readUntil('\r\n')).toString().trimEnd()}`);
  if (plain.readableLength > 0) {
    // Bytes after STARTTLS, sent before our 220: never let them into the TLS session.
    log(`server: ${plain.readableLength} bytes pipelined after STARTTLS, refusing`);
    await plain.write('554 5.5.1 Error: command pipelining after STARTTLS\r\n');
    plain.close();
    return 'refused';
  }
  await plain.write('220 Go ahead\r\n');
  // Nothing is buffered here (checked above): startTls would refuse otherwise.
  const secure: SSLIOStream = await plain.startTls(true, { key: certs.serverKey, cert: certs.serverCert });
  log(`server <- ${(await secure.readUntil('\r\n')).toString().trimEnd()} (over TLS)`);
  await secure.write('250 mail.localhost at your service, over TLS\r\n');
  secure.close();
  return 'tls';
}

export async function starttlsDemo(log: (s: string) => void = console.log): Promise<void> {
  const certs = testCerts();
  let clientDone: Promise<void> = Promise.resolve();
  const served = new Promise<void>((resolve, reject) => {
    const server = net.createServer((socket) => {
      server.close();
      serveSmtp(socket, certs, log).then(() => { resolve(); }, reject);
    });
    server.listen(0, '127.0.0.1', () => {
      clientDone = client((server.address() as net.AddressInfo).port);
      clientDone.catch(reject);
    });
  });

  async function client(port: number): Promise<void> {
    const plain = await new IOStream().connect({ host: '127.0.0.1', port });
    log(`client <- ${(await plain.readUntil('\r\n')).toString().trimEnd()}`);
    await plain.write('EHLO client.localhost\r\n');
    log(`client <- ${(await plain.readUntilRegex(/250 [^\r]*\r\n/)).toString().replace(/\r\n/g, ' | ')}`);
    await plain.write('STARTTLS\r\n');
    log(`client <- ${(await plain.readUntil('\r\n')).toString().trimEnd()}`);
    const secure = await plain.startTls(false, { ca: certs.ca }, 'localhost');
    log(`client: TLS up (${secure.socket?.getProtocol() ?? '?'}, certificate verified for localhost)`);
    await secure.write('EHLO client.localhost\r\n');
    log(`client <- ${(await secure.readUntil('\r\n')).toString().trimEnd()}`);
    await secure.readUntilClose();
    log('client: server closed the TLS stream cleanly');
  }
  await served;
  await clientDone;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  // No top-level await: the tests import this file (tape loads it as CommonJS through tsx).
  starttlsDemo().catch((err: unknown) => { console.error(err); process.exitCode = 1; });
}
