/**
 * `onread` for the raw and floor peers: a socket the receiver connects, made with the public
 * option into one reused 64 KiB buffer, or the accepted socket switched onto the library's
 * shared receive buffer the way `IOStream` switches one at its first `readInto`
 * (`drivers/node/reused-receive.ts`: `net.Server` has no `onread` option).
 */
import * as net from 'node:net';
import { switchToSharedBuffer } from '../../drivers/node/reused-receive.js';

/** Node's `onread` callback: `nread` bytes at the start of `buffer`; false stops reading. */
export type OnRead = (nread: number, buffer: Buffer) => boolean;

/** A socket connected to 127.0.0.1:`port` whose reads go to `callback`, into one reused buffer. */
export function connectOnread(port: number, callback: OnRead): net.Socket {
  return net.connect({ port, host: '127.0.0.1', onread: { buffer: Buffer.allocUnsafe(65536), callback } });
}

/** The accepted `socket`, its reads going to `callback` from now on (the shared receive buffer). */
export function acceptedOnread(socket: net.Socket, callback: OnRead): net.Socket {
  if (!switchToSharedBuffer(socket, { receivedInto: callback })) throw new Error('this Node cannot switch an accepted socket to onread');
  socket.resume();
  return socket;
}
