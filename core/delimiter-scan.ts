import type { ReadBuffer } from './read-buffer.js';

/**
 * A resumable search for a delimiter in a {@link ReadBuffer} whose head does not move while
 * the search is pending (a `readUntil` consumes nothing until it matches).
 *
 * After a miss it remembers the first position where a match could still start
 * (`length - delimiter.length + 1`: the last `delimiter.length - 1` bytes are the overlap a
 * match may straddle), so each received byte is examined once. Tornado rescans the whole
 * buffer on every read event; a 64 MiB header arriving in 64 KiB pieces costs it O(n·k).
 */
export class DelimiterScan {
  /** The delimiter being searched for (set by {@link DelimiterScan.reset}; empty before). */
  delimiter: Uint8Array = EMPTY;
  private from = 0;

  /** Starts a new search (the position of any earlier one is forgotten). */
  reset(delimiter: Uint8Array): void {
    this.delimiter = delimiter;
    this.from = 0;
  }

  /** End (exclusive) of the first match, or -1 after recording how far the buffer was searched. */
  find(buffer: ReadBuffer): number {
    const at = buffer.indexOf(this.delimiter, this.from);
    const dlen = this.delimiter.length;
    if (at >= 0) return at + dlen;
    const next = buffer.length - dlen + 1;
    if (next > this.from) this.from = next;
    return -1;
  }
}

const EMPTY = new Uint8Array(0);
