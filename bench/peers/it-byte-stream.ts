/**
 * Peer "it-byte-stream": libp2p's byte reader over an async-iterable duplex made from the
 * socket. It has no delimiter read, so it runs W1 (`read()`: the next chunk) and W3
 * (`read({ bytes: 16 })`).
 */
import { once } from 'node:events';
import type * as net from 'node:net';
import { byteStream } from 'it-byte-stream';
import { expect, runReceiver } from '../lib/receiver.js';

function duplexOf(socket: net.Socket): { source: AsyncIterable<Uint8Array>; sink: (src: AsyncIterable<Uint8Array>) => Promise<void> } {
  return {
    source: socket,
    sink: async (src) => {
      for await (const b of src) {
        if (!socket.write(b)) await once(socket, 'drain');
      }
    },
  };
}

runReceiver({
  async w1(socket, p) {
    const bs = byteStream(duplexOf(socket));
    let total = 0;
    while (total < p.bytes) {
      const chunk = await bs.read();
      if (chunk === null) break;
      total += chunk.byteLength;
    }
    expect('bytes', total, p.bytes);
    return total;
  },
  async w3(socket, p) {
    const bs = byteStream(duplexOf(socket));
    for (let i = 0; i < p.count; i++) {
      const m = await bs.read({ bytes: 16 });
      await bs.write(m.subarray());
    }
    return p.count;
  },
});
