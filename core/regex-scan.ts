import type { ReadBuffer } from './read-buffer.js';
import { MARKER, analyseRegex, type RegexAnalysis } from './regex-viability.js';

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
 * The regexes one search runs: the user's (global, for `lastIndex` searches), its viability
 * regex and its probe.
 */
interface Compiled extends RegexAnalysis {
  search: RegExp;
}

// Per regex object, compiled once: protocol code reads with the same regex again and again.
const compiled = new WeakMap<RegExp, Compiled>();

function compile(regex: RegExp): Compiled {
  let c = compiled.get(regex);
  if (c === undefined) {
    c = { search: new RegExp(regex.source, `${regex.flags.replace(/[gy]/g, '')}g`), ...analyseRegex(regex) };
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
 * `a`) keeps its start, so such a regex would rerun from there on every arrival. Regexes the
 * viability regex cannot cover (lookbehind, backreferences, `^` without `m`, the `v` flag,
 * inline modifiers, legacy octal escapes; see `regex-viability.ts`) rerun from the start.
 *
 * Gating: most regexes require some text in every match (`\r\n\r\n`, `y`, the `b` of `/a.*b/`:
 * the *probe* of `regex-shape.ts`) and look at most a few chars past it. The regex runs only
 * when the new bytes, with a seam of `probeBack` chars before them, hold a probe occurrence;
 * otherwise no match can have appeared since the last search and the arrival costs one probe
 * search over those chars. The viability regex then runs only once the text after the restart
 * point has doubled, so the text before it is still dropped, at O(1) amortised per byte; and
 * the decoded text, appended as a rope, is copied (flattened) only when a regex runs on it. With a
 * probe a read costs O(n), plus one regex run per arrival that brings a probe occurrence; without
 * one (`/\d+(?!\d)/`), one regex run per arrival as described above. Either way the result at
 * every arrival is exactly that of running the regex over the whole text.
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
  private probe: RegExp | null = null;
  private probeBack = 0;
  /** The text up to here held no match (0: not known). */
  private clear = 0;
  /** `end - from` after the viability regex last ran. */
  private span = 0;
  /** The last `probeBack` chars of the text (kept apart: slicing the text would flatten it). */
  private seam = '';
  /** The chars decoded by the current search. */
  private fresh = '';
  private readonly append = (chunk: Uint8Array): void => { this.fresh += this.latin1(chunk); };

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
    this.probe = c.probe;
    // An occurrence that ends past `clear - tail` starts at or after `clear - tail - length + 1`.
    this.probeBack = c.probeTail + c.probeLength - 1;
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
    // The new chars, decoded once. Appending them builds a rope that no regex flattens (copies)
    // unless one runs over the text.
    let fresh = '';
    if (have < end) {
      buffer.forEachChunk(this.append, have, end);
      fresh = this.fresh;
      this.fresh = '';
      this.text += fresh;
    }
    const probe = this.probe;
    if (probe !== null) {
      // A match new since the text ended at `clear` holds a probe occurrence ending past
      // `clear - tail` (see regex-shape.ts): in the seam (the last `probeBack` chars before
      // the new ones) and the new chars, when the last search ended where they begin.
      const seam = this.seam;
      const back = this.probeBack;
      let hit = true;
      if (this.clear === have) {
        // In the new chars (flat: searched in place), or starting in the seam.
        probe.lastIndex = 0;
        hit = probe.exec(fresh) !== null;
        if (!hit && seam.length > 0) {
          probe.lastIndex = 0;
          hit = probe.exec(seam + (fresh.length > back ? fresh.slice(0, back) : fresh)) !== null;
        }
      }
      if (back > 0) {
        this.seam = fresh.length >= back ? fresh.slice(fresh.length - back)
          : seam.length + fresh.length <= back ? seam + fresh : (seam + fresh).slice(-back);
      }
      if (!hit) {
        this.clear = end;
        // No regex run: `from` still moves on, but only once the text after it has doubled.
        if (this.viable !== null && end - this.from >= 2 * this.span) this.advance(end);
        return -1;
      }
    }
    this.trim();
    const search = this.search;
    search.lastIndex = this.from - this.textStart;
    const m = search.exec(this.text);
    if (m !== null) {
      this.clear = 0;
      return this.textStart + m.index + m[0].length;
    }
    this.clear = end;
    if (this.viable !== null) this.advance(end);
    return -1;
  }

  /** Drops the text well before the restart point. */
  private trim(): void {
    // Keep one char before the restart point: `\b`, `\B` and `^` (with `m`) look back at it.
    const keep = this.from > 0 ? this.from - 1 : 0;
    if (keep - this.textStart >= this.dropAt && (keep - this.textStart) * 2 >= this.text.length) {
      this.text = this.text.slice(keep - this.textStart);
      this.textStart = keep;
    }
  }

  /** Moves `from` to the leftmost position where a match may still begin. */
  private advance(end: number): void {
    const viable = this.viable as RegExp;
    this.trim();
    viable.lastIndex = this.from - this.textStart;
    const v = viable.exec(this.text + MARKER);
    // No viable position at all (possible with `^` in `m` mode): none up to `end` either.
    this.from = v === null ? end : this.textStart + v.index;
    this.span = end - this.from;
  }

  private restart(): void {
    this.text = '';
    this.textStart = 0;
    this.seam = '';
    this.from = 0;
    this.clear = 0;
    this.span = 0;
  }
}
