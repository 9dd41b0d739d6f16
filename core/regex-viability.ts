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
 */

/** The marker appended to the text: latin1 text never contains it. */
export const MARKER = '\u0100';

const OPEN_END = '|(?=\\u0100))';

/** Thrown inside the parser when the regex needs the rescanning fallback. */
class Unsupported extends Error {}

/**
 * The viability regex of `regex` (global, for `lastIndex` searches), or `null` when `regex`
 * uses a construct a resumed search cannot handle. See the module comment.
 */
export function viabilityRegex(regex: RegExp): RegExp | null {
  const flags = regex.flags.replace(/[gyd]/g, '');
  if (flags.includes('v')) return null;
  try {
    const parser = new Parser(regex.source, flags.includes('u'), flags.includes('m'));
    const out = parser.alternation();
    if (parser.at < regex.source.length) return null; // an unbalanced ')': let the engine's own parse stand
    return new RegExp(out, `${flags}g`);
  } catch (err) {
    if (err instanceof Unsupported || err instanceof SyntaxError) return null;
    throw err;
  }
}

class Parser {
  at = 0;
  constructor(private readonly src: string, private readonly unicode: boolean, private readonly multiline: boolean) {}

  /** Alternatives up to an unmatched `)` or the end. */
  alternation(): string {
    let out = '';
    const src = this.src;
    while (this.at < src.length) {
      const c = src[this.at] as string;
      if (c === ')') return out;
      if (c === '|') {
        out += '|';
        this.at++;
        continue;
      }
      out += this.term();
      out += this.quantifier();
    }
    return out;
  }

  /** One atom or assertion, opened up. */
  private term(): string {
    const src = this.src;
    const c = src[this.at] as string;
    switch (c) {
      case '(': return this.group();
      case '[': return open(this.charClass());
      case '\\': return this.escape();
      case '^':
        if (!this.multiline) throw new Unsupported();
        this.at++;
        return '^'; // looks one char back only: the search keeps that char as context
      case '$':
        this.at++;
        return `(?:$${OPEN_END}`;
      case '.':
        this.at++;
        return open('.');
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
        return open(lit === '{' || lit === '}' ? `\\${lit}` : lit);
      }
    }
  }

  private group(): string {
    const src = this.src;
    let inner: 'keep' | 'true' = 'keep';
    let prefix = '(?:';
    if (src.startsWith('(?:', this.at)) {
      this.at += 3;
    } else if (src.startsWith('(?=', this.at)) {
      prefix = '(?=';
      this.at += 3;
    } else if (src.startsWith('(?!', this.at)) {
      inner = 'true';
      this.at += 3;
    } else if (src.startsWith('(?<=', this.at) || src.startsWith('(?<!', this.at)) {
      throw new Unsupported();
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
    // A negative lookahead may hold once more text comes: always true (a superset is safe).
    return inner === 'true' ? '(?:)' : `${prefix}${body})`;
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

  private escape(): string {
    const src = this.src;
    const next = src[this.at + 1];
    if (next === undefined) throw new Unsupported();
    if (next === 'b' || next === 'B') {
      this.at += 2;
      return `(?:\\${next}${OPEN_END}`;
    }
    if (next >= '1' && next <= '9') throw new Unsupported(); // backreference (or a legacy octal)
    if (next === 'k' && src[this.at + 2] === '<') throw new Unsupported();
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
    return open(esc);
  }

  /** A quantifier after a term, as written (`*`, `+`, `?`, `{n}`, `{n,}`, `{n,m}`, each maybe lazy). */
  private quantifier(): string {
    const src = this.src;
    const c = src[this.at];
    let q = '';
    if (c === '*' || c === '+' || c === '?') {
      q = c;
    } else if (c === '{') {
      const m = /^\{\d+(?:,\d*)?\}/.exec(src.slice(this.at));
      if (m === null) return '';
      q = m[0];
    } else {
      return '';
    }
    this.at += q.length;
    if (src[this.at] === '?') {
      q += '?';
      this.at++;
    }
    return q;
  }
}

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
