/**
 * The load generator (a separate process from the measured receiver). Builds its bytes before
 * connecting so the receiver's clock, which starts at accept, times only the transfer.
 * Prints `{"done": true}` when finished.
 */
import * as net from 'node:net';
import { once } from 'node:events';
import { childParams, type ChildParams } from './lib/params.js';
import { bigMessage, bulkBlock, chunksOf, linesPayload, PING } from './lib/payload.js';
import { NewlineSplitter } from './lib/scan.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function sendChunks(socket: net.Socket, chunks: Iterable<Buffer>, gapMs = 0): Promise<void> {
  for (const c of chunks) {
    if (!socket.write(c)) await once(socket, 'drain');
    if (gapMs > 0) await sleep(gapMs);
  }
}

function* repeat(block: Buffer, total: number): Iterable<Buffer> {
  for (let sent = 0; sent < total; sent += block.length) {
    yield total - sent >= block.length ? block : block.subarray(0, total - sent);
  }
}

async function pingPong(socket: net.Socket, count: number): Promise<void> {
  const splitter = new NewlineSplitter();
  let got = 0;
  let next: (() => void) | null = null;
  socket.on('data', (chunk: Buffer) => {
    splitter.feed(chunk, () => { got++; });
    if (next !== null) { const n = next; next = null; n(); }
  });
  for (let i = 0; i < count; i++) {
    socket.write(PING);
    while (got <= i) await new Promise<void>((r) => { next = r; });
  }
}

/** A client workload: listen on 127.0.0.1, print `{"ready": port}`, and take the receiver's connection. */
async function acceptOne(): Promise<net.Socket> {
  const server = net.createServer({ noDelay: true });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  process.stdout.write(`${JSON.stringify({ ready: (server.address() as net.AddressInfo).port })}\n`);
  const [socket] = await once(server, 'connection') as [net.Socket];
  server.close();
  return socket;
}

async function main(p: ChildParams): Promise<void> {
  let chunks: Iterable<Buffer> | null = null;
  let gap = 0;
  switch (p.workload) {
    case 'w1': case 'w1into': case 'w1c': case 'w1cinto': chunks = repeat(bulkBlock(), p.bytes); break;
    case 'w2': case 'w2cb': case 'w2sub': case 'w2iter': case 'w2push': case 'w2each': chunks = chunksOf(linesPayload(p.count)); break;
    case 'w4': chunks = chunksOf(bigMessage(p.bytes)); break;
    case 'w4slow': chunks = chunksOf(bigMessage(p.bytes)); gap = 1; break;
    case 'w3': break;
    default: throw new Error(`sender: no workload ${p.workload}`);
  }
  const socket = p.listen === true ? await acceptOne() : net.connect({ port: p.port as number, host: '127.0.0.1', noDelay: true });
  // The receiver hangs up as soon as it has its last unit; that is not a failure here.
  socket.on('error', () => {});
  if (p.listen !== true) await once(socket, 'connect');
  if (chunks !== null) await sendChunks(socket, chunks, gap);
  else await pingPong(socket, p.count);
  socket.end();
  process.stdout.write(`${JSON.stringify({ done: true })}\n`);
}

main(childParams()).catch((err: unknown) => {
  process.stdout.write(`${JSON.stringify({ error: String(err) })}\n`);
  process.exit(1);
});
