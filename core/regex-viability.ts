/**
 * Where can a match of a regex still begin, once more text is appended?
 *
 * A `readUntilRegex` search runs again on every arrival. Re-running the regex from position 0
 * each time costs O(buffered) per arrival — O(n²/chunk) for a large unmatched message. What a
 * resumed search needs is the leftmost position `p` from which a match attempt ran into the
 * end of the text: every attempt that failed before reaching the end will fail whatever
 * arrives, so the next search may start at `p`. JavaScript's engine does not report that
 * ("hit end" in Java's `Matcher`), so this module derives a second regex that does.
 *
 * The *viability* regex is the user's regex with every point where the text could end
 * opened up: each atom `a` (a character, class, escape or `.`) becomes `(?:a|(?=M))`, `$`
 * becomes `(?:$|(?=M))` and `\b`/`\B` likewise, where `M` is U+0100 — a marker that latin1
 * text (one char per byte, U+0000..U+00FF) never contains. Run over `text + M`, it matches at
 * `p` iff some path of the regex consumes all of `text[p..]` as real characters and then only
 * needs more input: exactly the positions a future match may start at (a superset, which is
 * safe: an earlier restart costs time, never a missed match). Negative lookaheads become
 * always-true for the same reason. Capturing groups become non-capturing (only the match
 * position matters).
 *
 * Constructs whose answer depends on text before the restart point by more than one char, or
 * that cannot be opened up this way, make {@link viabilityRegex} return `null`, and the search
 * falls back to rescanning from the start: lookbehind, backreferences, `^` without the `m`
 * flag (a match can only start at 0), legacy octal escapes, the `v` flag's class syntax and
 * inline modifier groups. `\b`, `\B` and `^` with `m` look one char back: the search keeps one
 * char of context before the restart point.
 *
 * The same parse computes the regex's {@link Shape} (`regex-shape.ts`): the *probe*, text every
 * match must contain, that decides whether a new arrival can have completed a match at all.
 */
import {
  ATOM, BACKREFERENCE, EDGE_ASSERTION, LINE_START, SequenceShape, alternatives, lookaround, quantified, type Shape,
} from './regex-shape.js';

/** The marker appended to the text: latin1 text never contains it. */
export const MARKER = '\u0100';

const OPEN_END = '|(?=\\u0100))';

/** Thrown inside the parser when the regex cannot be analysed at all. */
class Unsupported extends Error {}

/** What {@link analyseRegex} derives from a regex (once per regex object: `regex-scan.ts` caches it). */
export interface RegexAnalysis {
  /** The viability regex (global), or `null` when a resumed search cannot handle the regex. */
  readonly viable: RegExp | null;
  /**
   * The probe regex (global) of `regex-shape.ts`: while the new text holds no occurrence of it,
   * no match can have appeared. `null` when the regex requires no such text.
   */
  readonly probe: RegExp | null;
  /** The longest probe occurrence, in chars. */
  readonly probeLength: number;
  /** How many chars past a probe occurrence a match may still look (see `regex-shape.ts`). */
  readonly probeTail: number;
}

const NOTHING: RegexAnalysis = { viable: null, probe: null, probeLength: 0, probeTail: 0 };

/**
 * The viability regex of `regex` (global, for `lastIndex` searches), or `null` when `regex`
 * uses a construct a resumed search cannot handle. See the module comment.
 */
export function viabilityRegex(regex: RegExp): RegExp | null {
  return analyseRegex(regex).viable;
}

/**
 * The viability regex and the probe of `regex`, from one parse. A probe is found for
 * lookbehind, backreferences and `^` too (they need no resumption for it); the `v` flag,
 * inline modifier groups, legacy octal escapes and `\c` before a non-letter give neither.
 */
export function analyseRegex(regex: RegExp): RegexAnalysis {
  const flags = regex.flags.replace(/[gyd]/g, '');
  if (flags.includes('v')) return NOTHING;
  let parsed: Piece;
  let parser: Parser;
  try {
    parser = new Parser(regex.source, flags.includes('u'), flags.includes('m'));
    parsed = parser.alternation();
  } catch (err) {
    if (err instanceof Unsupported) return NOTHING;
    throw err;
  }
  if (parser.at < regex.source.length) return NOTHING; // an unbalanced ')': let the engine's own parse stand
  const p = parsed.last.probe;
  return {
    viable: parser.resumable ? compiled(parsed.out, flags) : null,
    probe: p === null ? null : compiled(p.source, flags),
    probeLength: p === null ? 0 : p.length,
    probeTail: p === null ? 0 : p.tail,
  };
}

/** `source` compiled with `flags` and `g`, or `null` if the engine refuses it. */
function compiled(source: string, flags: string): RegExp | null {
  try {
    return new RegExp(source, `${flags}g`);
  } catch (err) {
    if (err instanceof SyntaxError) return null;
    throw err;
  }
}

/**
 * A parsed piece: its viability source, its shape, its shape when nothing follows it in the
 * regex (`last`, see {@link shapeOf}), and its source when it is a plain atom.
 */
interface Piece {
  readonly out: string;
  readonly shape: Shape;
  readonly last: Shape;
  readonly atom: string | null;
}

/** A term of a sequence with its quantifier. */
interface Item {
  readonly term: Piece;
  readonly q: Quantifier | null;
}

/** A parsed quantifier. */
interface Quantifier {
  readonly text: string;
  readonly min: number;
  readonly max: number;
}

const piece = (out: string, shape: Shape, last = shape): Piece => ({ out, shape, last, atom: null });
const atom = (source: string): Piece => ({ out: open(source), shape: ATOM, last: ATOM, atom: source });

class Parser {
  at = 0;
  /** Cleared by a construct the viability regex cannot cover (lookbehind, backreference, `^` without `m`). */
  resumable = true;
  constructor(private readonly src: string, private readonly unicode: boolean, private readonly multiline: boolean) {}

  /** Alternatives up to an unmatched `)` or the end. */
  alternation(): Piece {
    let out = '';
    const src = this.src;
    const branches: Shape[] = [];
    const lasts: Shape[] = [];
    let items: Item[] = [];
    while (this.at < src.length) {
      const c = src[this.at] as string;
      if (c === ')') break;
      if (c === '|') {
        out += '|';
        this.at++;
        branches.push(shapeOf(items, false));
        lasts.push(shapeOf(items, true));
        items = [];
        continue;
      }
      const term = this.term();
      const q = this.quantifier();
      out += term.out;
      if (q !== null) out += q.text;
      items.push({ term, q });
    }
    branches.push(shapeOf(items, false));
    lasts.push(shapeOf(items, true));
    return piece(out, alternatives(branches), alternatives(lasts));
  }

  /** One atom or assertion, opened up. */
  private term(): Piece {
    const src = this.src;
    const c = src[this.at] as string;
    switch (c) {
      case '(': return this.group();
      case '[': return atom(this.charClass());
      case '\\': return this.escape();
      case '^':
        if (!this.multiline) this.resumable = false;
        this.at++;
        return piece('^', LINE_START); // looks one char back only: the search keeps that char as context
      case '$':
        this.at++;
        return piece(`(?:$${OPEN_END}`, EDGE_ASSERTION);
      case '.':
        this.at++;
        return atom('.');
      default: {
        // A literal, including a `{`, `}` or `]` the engine takes literally outside `u` mode.
        let n = 1;
        const code = c.charCodeAt(0);
        if (code >= 0xd800 && code <= 0xdbff && this.at + 1 < src.length) {
          const low = src.charCodeAt(this.at + 1);
          if (low >= 0xdc00 && low <= 0xdfff) n = 2;
        }
        const lit = src.slice(this.at, this.at + n);
        this.at += n;
        return atom(lit === '{' || lit === '}' ? `\\${lit}` : lit);
      }
    }
  }

  private group(): Piece {
    const src = this.src;
    let kind: 'group' | 'ahead' | 'not-ahead' | 'behind' = 'group';
    if (src.startsWith('(?:', this.at)) {
      this.at += 3;
    } else if (src.startsWith('(?=', this.at)) {
      kind = 'ahead';
      this.at += 3;
    } else if (src.startsWith('(?!', this.at)) {
      kind = 'not-ahead';
      this.at += 3;
    } else if (src.startsWith('(?<=', this.at) || src.startsWith('(?<!', this.at)) {
      kind = 'behind';
      this.resumable = false;
      this.at += 4;
    } else if (src.startsWith('(?<', this.at)) {
      const close = src.indexOf('>', this.at);
      if (close < 0) throw new Unsupported();
      this.at = close + 1;
    } else if (src.startsWith('(?', this.at)) {
      throw new Unsupported(); // inline modifiers
    } else {
      this.at += 1;
    }
    const body = this.alternation();
    if (src[this.at] !== ')') throw new Unsupported();
    this.at++;
    switch (kind) {
      case 'group': return piece(`(?:${body.out})`, body.shape, body.last);
      case 'ahead': return piece(`(?=${body.out})`, lookaround(body.shape, true));
      // A negative lookahead may hold once more text comes: always true (a superset is safe).
      case 'not-ahead': return piece('(?:)', lookaround(body.shape, false));
      default: return piece('(?:)', lookaround(body.shape, false)); // not resumable: never run
    }
  }

  /** `[...]` as written (no nesting outside the `v` flag). */
  private charClass(): string {
    const src = this.src;
    const start = this.at;
    let i = this.at + 1;
    if (src[i] === '^') i++;
    for (; i < src.length; i++) {
      const c = src[i];
      if (c === '\\') i++;
      else if (c === ']') break;
    }
    if (i >= src.length) throw new Unsupported();
    this.at = i + 1;
    return src.slice(start, this.at);
  }

  private escape(): Piece {
    const src = this.src;
    const next = src[this.at + 1];
    if (next === undefined) throw new Unsupported();
    if (next === 'b' || next === 'B') {
      this.at += 2;
      return piece(`(?:\\${next}${OPEN_END}`, EDGE_ASSERTION);
    }
    if (next >= '1' && next <= '9') {
      // A backreference (or, outside `u` mode, a legacy octal escape or a digit): all its digits,
      // as one piece of unbounded width, which covers each of those readings.
      let end = this.at + 2;
      while (end < src.length && /[0-9]/.test(src[end] as string)) end++;
      this.at = end;
      this.resumable = false;
      return piece('(?:)', BACKREFERENCE);
    }
    if (next === 'k' && src[this.at + 2] === '<') {
      const close = src.indexOf('>', this.at);
      if (close < 0) throw new Unsupported();
      this.at = close + 1;
      this.resumable = false;
      return piece('(?:)', BACKREFERENCE);
    }
    if (next === '0' && /[0-9]/.test(src[this.at + 2] ?? '')) throw new Unsupported();
    let n = 2;
    const rest = src.slice(this.at + 2);
    if (next === 'x' && /^[0-9a-fA-F]{2}/.test(rest)) n += 2;
    else if (next === 'u') {
      if (/^[0-9a-fA-F]{4}/.test(rest)) n += 4;
      else if (this.unicode && rest.startsWith('{')) n += braced(rest);
    } else if (next === 'c') {
      if (!/^[A-Za-z]/.test(rest)) throw new Unsupported(); // `\c` then a non-letter: two literal chars
      n += 1;
    } else if ((next === 'p' || next === 'P') && this.unicode && rest.startsWith('{')) {
      n += braced(rest);
    }
    const esc = src.slice(this.at, this.at + n);
    this.at += n;
    return atom(esc);
  }

  /** A quantifier after a term (`*`, `+`, `?`, `{n}`, `{n,}`, `{n,m}`, each maybe lazy), or `null`. */
  private quantifier(): Quantifier | null {
    const src = this.src;
    const c = src[this.at];
    let text: string;
    let min: number;
    let max: number;
    if (c === '*' || c === '+' || c === '?') {
      text = c;
      min = c === '+' ? 1 : 0;
      max = c === '?' ? 1 : Infinity;
    } else if (c === '{') {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(src.slice(this.at));
      if (m === null) return null;
      text = m[0];
      min = Number(m[1]);
      max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
    } else {
      return null;
    }
    this.at += text.length;
    if (src[this.at] === '?') {
      text += '?';
      this.at++;
    }
    return { text, min, max };
  }
}

/**
 * The shape of a sequence of items. With `last` (nothing follows the sequence in the regex), its
 * last item counts with its quantifier's minimum: a match whose last quantifier took more
 * iterations implies one that took fewer and looked at less, so when the shorter text held no
 * match, the shorter match too must look past it, and its probe tail is what bounds the seam
 * (`/\d+\.\d+/` gets the probe `\.\d` with tail 0, not an unbounded one).
 */
function shapeOf(items: readonly Item[], last: boolean): Shape {
  const seq = new SequenceShape();
  for (let i = 0; i < items.length; i++) {
    const { term } = items[i] as Item;
    let q = (items[i] as Item).q;
    const isLast = last && i === items.length - 1;
    if (isLast && q !== null) q = { text: q.text, min: q.min, max: q.min };
    if (q === null) {
      if (term.atom !== null) seq.atom(term.atom);
      else seq.piece(isLast ? term.last : term.shape);
    } else if (term.atom !== null) {
      // `a{n,m}` is n plain atoms (part of a run) and then `a{0,m-n}`.
      const copies = Math.min(q.min, MAX_COPIES);
      for (let c = 0; c < copies; c++) seq.atom(term.atom);
      if (q.max > copies) seq.piece(quantified(ATOM, q.min - copies, q.max - copies));
    } else {
      seq.piece(quantified(term.shape, q.min, q.max));
    }
  }
  return seq.done();
}

/** Plain atoms a counted quantifier adds to a run (`a{1000}` adds this many, then the rest as one piece). */
const MAX_COPIES = 16;

/** Length of the `{...}` at the start of `rest`. */
function braced(rest: string): number {
  const close = rest.indexOf('}');
  if (close < 0) throw new Unsupported();
  return close + 1;
}

/** An atom that may also stop at the end of the text: `(?:a|(?=M))`. */
function open(atom: string): string {
  return `(?:${atom}${OPEN_END}`;
}
