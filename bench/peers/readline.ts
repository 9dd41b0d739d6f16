/** Peer "readline": Node's `readline` over the socket, W2 only — `'line'` events and `for await`. */
import * as readline from 'node:readline';
import type * as net from 'node:net';
import { expect, runReceiver } from '../lib/receiver.js';

function lineEvents(socket: net.Socket, count: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const rl = readline.createInterface({ input: socket, crlfDelay: Infinity });
    let n = 0;
    let bytes = 0;
    rl.on('line', (line: string) => {
      n++;
      bytes += line.length;
      if (n === count) {
        rl.close();
        expect('line bytes', bytes, count * 32);
        resolve(n);
      }
    });
    socket.on('error', reject);
    rl.on('close', () => { if (n < count) reject(new Error(`closed after ${n} lines`)); });
  });
}

async function forAwait(socket: net.Socket, count: number): Promise<number> {
  const rl = readline.createInterface({ input: socket, crlfDelay: Infinity });
  let n = 0;
  let bytes = 0;
  for await (const line of rl) {
    n++;
    bytes += line.length;
    if (n === count) break;
  }
  rl.close();
  expect('lines', n, count);
  expect('line bytes', bytes, count * 32);
  return n;
}

runReceiver({
  // 'w2cb' is the callback-style row: readline's 'line' events are its callback form.
  w2cb: (socket, p) => lineEvents(socket, p.count),
  w2: (socket, p) => forAwait(socket, p.count),
});
