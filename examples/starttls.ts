/**
 * STARTTLS, SMTP style: a plaintext greeting and command, then both sides upgrade the same TCP
 * connection with `startTls` and continue over TLS. The certificates are made on the fly with
 * the `openssl` CLI (as the tests do), and the client verifies the server's against its CA.
 * Run: node --import tsx examples/starttls.ts
 */
import * as net from 'node:net';
import { IOStream, type SSLIOStream } from 'sansio-iostream';
import { testCerts } from '../test/_support/certs.js';

export async function starttlsDemo(log: (s: string) => void = console.log): Promise<void> {
  const certs = testCerts();
  let clientDone: Promise<void> = Promise.resolve();
  const served = new Promise<void>((resolve, reject) => {
    const server = net.createServer((socket) => {
      server.close();
      void (async () => {
        const plain = new IOStream(socket);
        await plain.write('220 mail.localhost ESMTP ready\r\n');
        log(`server <- ${(await plain.readUntil('\r\n')).toString().trimEnd()}`);
        await plain.write('250-mail.localhost\r\n250 STARTTLS\r\n');
        log(`server <- ${(await plain.readUntil('\r\n')).toString().trimEnd()}`);
        await plain.write('220 Go ahead\r\n');
        // Nothing may be buffered here: startTls refuses, as bytes read in plaintext would be
        // injected into the TLS session.
        const secure: SSLIOStream = await plain.startTls(true, { key: certs.serverKey, cert: certs.serverCert });
        log(`server <- ${(await secure.readUntil('\r\n')).toString().trimEnd()} (over TLS)`);
        await secure.write('250 mail.localhost at your service, over TLS\r\n');
        secure.close();
      })().then(resolve, reject);
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
  await starttlsDemo();
}
