/**
 * The bytes every workload sends, built the same way for the socket senders and for the
 * core-only (W5) loops so both see identical input.
 */
import { CHUNK } from './params.js';

/** A 64 KiB block of printable bytes with no CR/LF (W1 writes it again and again). */
export function bulkBlock(): Buffer {
  const b = Buffer.allocUnsafe(CHUNK);
  for (let i = 0; i < CHUNK; i++) b[i] = 97 + (i % 26);
  return b;
}

/** `count` lines of 32 bytes plus `\r\n`: a 10-digit line number and 22 filler bytes. */
export function linesPayload(count: number): Buffer {
  const line = 34;
  const b = Buffer.allocUnsafe(count * line);
  const filler = Buffer.from('-abcdefghijklmnopqrstu');
  for (let i = 0; i < count; i++) {
    const at = i * line;
    b.write(String(i).padStart(10, '0'), at, 'latin1');
    filler.copy(b, at + 10);
    b[at + 32] = 13;
    b[at + 33] = 10;
  }
  return b;
}

/** `size` filler bytes then `\r\n\r\n` (W4's one big message). */
export function bigMessage(size: number): Buffer {
  const b = Buffer.alloc(size + 4, 0x61);
  b.write('\r\n\r\n', size, 'latin1');
  return b;
}

/** 64 KiB views of `data` (no copies), the way W5 feeds the core. */
export function chunksOf(data: Buffer, size = CHUNK): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < data.length; at += size) out.push(data.subarray(at, Math.min(at + size, data.length)));
  return out;
}

/** W3's 16-byte message: 15 bytes then `\n`. */
export const PING = Buffer.from('ping-0123456789\n');
