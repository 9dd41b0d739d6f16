/**
 * Peer "promise-socket": a promise per `read(size)` over a Node socket. It has no delimiter
 * read, so it runs W1 (`read(65536)`) and W3 (`read(16)`: the message has a fixed size).
 */
import { PromiseSocket } from 'promise-socket';
import { expect, runReceiver } from '../lib/receiver.js';

runReceiver({
  async w1(socket, p) {
    const ps = new PromiseSocket(socket);
    let total = 0;
    while (total < p.bytes) {
      const chunk = await ps.read(65536);
      if (chunk === undefined) break;
      total += chunk.length;
    }
    expect('bytes', total, p.bytes);
    return total;
  },
  async w3(socket, p) {
    const ps = new PromiseSocket(socket);
    for (let i = 0; i < p.count; i++) {
      const m = await ps.read(16);
      if (m === undefined || m.length !== 16) throw new Error(`bad message ${String(m)}`);
      await ps.write(m as Buffer);
    }
    return p.count;
  },
});
