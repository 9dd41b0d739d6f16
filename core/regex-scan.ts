import type { ReadBuffer } from './read-buffer.js';

/** Decodes bytes as latin1: one char per byte, U+0000..U+00FF. */
export type Latin1Decoder = (bytes: Uint8Array) => string;

/**
 * Portable latin1 decoding. (`TextDecoder('latin1')` is windows-1252 under the WHATWG
 * Encoding spec, which maps 0x80-0x9F elsewhere, so it cannot be used.) Node drivers inject
 * `Buffer#latin1Slice`, which is much faster.
 */
export const defaultLatin1: Latin1Decoder = (bytes) => {
  let out = '';
  for (let i = 0; i < bytes.length; i += 8192) {
    out += String.fromCharCode.apply(null, bytes.subarray(i, i + 8192) as unknown as number[]);
  }
  return out;
};

/**
 * A regex search over the latin1 text of a {@link ReadBuffer} whose head does not move while
 * the search is pending.
 *
 * Resumption strategy: the decoded text is kept between arrivals and only new bytes are
 * decoded, but the regex runs again over the whole unread text each time. A regex match may
 * start arbitrarily far back (`/a.*b/`), and lookahead, `$` and `\b` may change their answer
 * as bytes are appended, so no fixed overlap is safe; rescanning from the start is the only
 * strategy that finds a match straddling any number of chunks for every regex. The cost is
 * O(buffered) per arrival, so O(n²/chunk) for a large unmatched message: bound it with
 * `maxBytes`, and prefer `readUntil` for big framed messages (it never revisits a byte).
 */
export class RegexScan {
  regex: RegExp = /(?:)/;
  private text = '';

  constructor(private readonly latin1: Latin1Decoder) {}

  reset(regex: RegExp): void {
    this.regex = regex;
    this.text = '';
  }

  /** End (exclusive) of the first match in the buffered bytes, or -1. */
  find(buffer: ReadBuffer): number {
    if (this.text.length < buffer.length) {
      buffer.forEachChunk((chunk) => {
        this.text += this.latin1(chunk);
      }, this.text.length);
    }
    const m = this.regex.exec(this.text);
    if (m === null) return -1;
    return m.index + m[0].length;
  }
}
