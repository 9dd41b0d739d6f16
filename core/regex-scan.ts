import type { ReadBuffer } from './read-buffer.js';
import { MARKER, viabilityRegex } from './regex-viability.js';

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

/** The regexes one search runs: the user's (global, for `lastIndex` searches) and its viability regex. */
interface Compiled {
  search: RegExp;
  viable: RegExp | null;
}

// Per regex object, compiled once: protocol code reads with the same regex again and again.
const compiled = new WeakMap<RegExp, Compiled>();

function compile(regex: RegExp): Compiled {
  let c = compiled.get(regex);
  if (c === undefined) {
    c = { search: new RegExp(regex.source, `${regex.flags.replace(/[gy]/g, '')}g`), viable: viabilityRegex(regex) };
    compiled.set(regex, c);
  }
  return c;
}

/** Text kept before the restart point is dropped once it is this long and most of the text. */
const DROP_AT = 4096;

/**
 * A regex search over the latin1 text of a {@link ReadBuffer} whose head does not move while
 * the search is pending, resumed on each arrival.
 *
 * Resumption: after a miss, the search remembers the leftmost position where a match may still
 * begin (the viability regex of `regex-viability.ts` finds it), so the next search starts there
 * and the decoded text before it is dropped. For a regex whose attempts fail quickly
 * (`/\r?\n\r?\n/`, `/\d+\r\n/` over non-digits, ...) a message of n bytes in k pieces costs
 * O(n), not O(n·k). A match attempt still in progress at the end of the text (`/a.*b/` after an
 * `a`) keeps its start, so such a regex rescans from there. Regexes the viability regex cannot
 * cover (lookbehind, backreferences, `^` without `m`, the `v` flag, inline modifiers, legacy
 * octal escapes; see `regex-viability.ts`) rescan from the start on every arrival: O(buffered)
 * each, bounded by `maxBytes`.
 *
 * `limit` bounds the search: the regex never sees more than `limit` bytes (the read's
 * `maxBytes`, or `maxBufferSize`), so a regex with catastrophic backtracking costs at most what
 * it costs on `limit` bytes.
 */
export class RegexScan {
  /** The regex being searched for (the key a resumed search is recognised by). */
  regex: RegExp = /(?:)/;
  private search: RegExp = /(?:)/g;
  private viable: RegExp | null = null;
  /** latin1 of the bytes at positions `textStart .. textStart + text.length` (from the head). */
  private text = '';
  private textStart = 0;
  /** No match can begin before this position, whatever arrives. */
  private from = 0;
  private readonly append = (chunk: Uint8Array): void => { this.text += this.latin1(chunk); };

  /**
   * A scanner with no search started ({@link RegexScan.reset} starts one).
   * @param latin1 - decodes received bytes (one char per byte)
   * @param dropAt - decoded text before the restart point is dropped once it is this many chars
   *   and at least half of the text (a parameter so tests can exercise it with short texts)
   */
  constructor(private readonly latin1: Latin1Decoder, private readonly dropAt: number = DROP_AT) {}

  /** Starts a new search for `regex` (what an earlier search learned is forgotten). */
  reset(regex: RegExp): void {
    const c = compile(regex);
    this.regex = regex;
    this.search = c.search;
    this.viable = c.viable;
    this.restart();
  }

  /** End (exclusive) of the first match within the first `limit` buffered bytes, or -1. */
  find(buffer: ReadBuffer, limit = Infinity): number {
    const end = buffer.length < limit ? buffer.length : limit;
    let have = this.textStart + this.text.length;
    // A search primed with a larger limit saw bytes this one may not: start over.
    if (have > end) {
      this.restart();
      have = 0;
    }
    if (have < end) buffer.forEachChunk(this.append, have, end);
    // Keep one char before the restart point: `\b`, `\B` and `^` (with `m`) look back at it.
    const keep = this.from > 0 ? this.from - 1 : 0;
    if (keep - this.textStart >= this.dropAt && (keep - this.textStart) * 2 >= this.text.length) {
      this.text = this.text.slice(keep - this.textStart);
      this.textStart = keep;
    }
    const search = this.search;
    search.lastIndex = this.from - this.textStart;
    const m = search.exec(this.text);
    if (m !== null) return this.textStart + m.index + m[0].length;
    const viable = this.viable;
    if (viable !== null) {
      viable.lastIndex = this.from - this.textStart;
      const v = viable.exec(this.text + MARKER);
      // No viable position at all (possible with `^` in `m` mode): none up to `end` either.
      this.from = v === null ? end : this.textStart + v.index;
    }
    return -1;
  }

  private restart(): void {
    this.text = '';
    this.textStart = 0;
    this.from = 0;
  }
}
