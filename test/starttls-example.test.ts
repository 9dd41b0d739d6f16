/**
 * examples/starttls.ts: the STARTTLS session runs end to end over real loopback TCP and TLS,
 * and its server refuses a client that pipelines a command after STARTTLS before the 220
 * (the server sees it through `readableLength`), so no plaintext reaches the TLS session.
 */
import * as net from 'node:net';
import { test } from './_support/harness.js';
import { testCerts } from './_support/certs.js';
import { serveSmtp, starttlsDemo } from '../examples/starttls.js';
import { IOStream } from '../drivers/index.js';

test('starttls example: the session upgrades to TLS and ends cleanly', { timeout: 30_000 }, async (t) => {
  const lines: string[] = [];
  await starttlsDemo((s) => { lines.push(s); });
  t.ok(lines.includes('server <- STARTTLS'), 'the server read STARTTLS');
  t.ok(lines.includes('server <- EHLO client.localhost (over TLS)'), 'the next command came over TLS');
  t.equal(lines.at(-1), 'client: server closed the TLS stream cleanly');
});

test('starttls example: a command pipelined after STARTTLS before the 220 is refused (554), no TLS', { timeout: 30_000 }, async (t) => {
  const certs = testCerts();
  const log: string[] = [];
  let outcome: Promise<string> = Promise.resolve('not served');
  const server = net.createServer((socket) => { server.close(); outcome = serveSmtp(socket, certs, (s) => { log.push(s); }); });
  await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve); });
  const c = await new IOStream().connect({ host: '127.0.0.1', port: (server.address() as net.AddressInfo).port });
  await c.readUntil('\r\n');
  await c.write('EHLO evil.localhost\r\n');
  await c.readUntilRegex(/250 [^\r]*\r\n/);
  // The attack: STARTTLS and a command in one segment, before the server's 220.
  await c.write('STARTTLS\r\nMAIL FROM:<injected@evil>\r\n');
  t.equal((await c.readUntilClose()).toString(), '554 5.5.1 Error: command pipelining after STARTTLS\r\n', 'the server refuses and closes');
  t.equal(await outcome, 'refused');
  t.ok(log.includes('server: 27 bytes pipelined after STARTTLS, refusing'), `readableLength counted the pipelined bytes: ${log.join(' / ')}`);
  c.close();
});
