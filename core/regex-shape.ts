/**
 * Which text a match of a regex must contain, and how far past it the match may look.
 *
 * A resumed `readUntilRegex` search (`regex-scan.ts`) knows that the text it searched last
 * time, the first `t` chars, held no match. A match in the longer text must then *inspect* a
 * char at position `t` or later (read it, or test there for the end of the text): a match all
 * of whose tests fall before `t` would have succeeded on the shorter text too. If every match
 * contains an occurrence of some *probe* (a sequence of one-char atoms: `\r\n\r\n`, `y`,
 * `[\r\n]{2}`) and inspects nothing more than `tail` chars past the end `E` of that
 * occurrence, then `E + tail > t`: a new match needs a probe occurrence ending after
 * `t - tail`. When the new text holds none (one `indexOf`-like search over the new bytes and a
 * seam of `tail + length - 1` chars before them), no match can have appeared, and the regex
 * need not run. That turns `/[^\r\n]*\r\n\r\n/` over 64 KiB of `x` in 1 KiB pieces from a
 * full regex run per arrival (quadratic each) into one probe search per arrival.
 *
 * {@link Shape} is what the viability parser (`regex-viability.ts`) computes for every piece
 * of the regex, bottom up, to find such a probe; every bound is an over-estimate, which only
 * makes the seam longer (more regex runs), never a match missed. Positions are code units of
 * latin1 text, where every atom (a char, escape, class or `.`) matches exactly one char, with
 * or without the `u` flag (the text never holds a surrogate).
 */

/** A probe: one-char atoms every successful match path contains (see the module comment). */
export interface Probe {
  /** Regex source matching an occurrence (one or more alternatives). */
  readonly source: string;
  /** The longest occurrence, in chars. */
  readonly length: number;
  /**
   * Every successful path of the piece inspects only positions before `E + tail` and ends at
   * or before `E + tail`, where `E` is the end of the probe occurrence it contains.
   */
  readonly tail: number;
}

/** What a piece of a regex (an atom, a group, a sequence, ...) may consume and inspect. */
export interface Shape {
  /** The most chars it consumes (Infinity: unbounded). */
  readonly width: number;
  /** Every path from `p`, failed ones included, inspects only positions before `p + reach`. */
  readonly reach: number;
  /** Every successful path inspects only positions before its end `+ overhang`. */
  readonly overhang: number;
  /** A probe every successful path contains, or `null`. */
  readonly probe: Probe | null;
}

/** Longest probe kept from one run of atoms (the last ones: they have the shortest tail). */
const MAX_RUN = 16;

/** A char, escape, class or `.`: one char consumed, that char inspected. */
export const ATOM: Shape = { width: 1, reach: 1, overhang: 0, probe: null };
/** `$`, `\b`, `\B`: nothing consumed, the char at the position (or the end there) inspected. */
export const EDGE_ASSERTION: Shape = { width: 0, reach: 1, overhang: 1, probe: null };
/** `^`: looks back only. */
export const LINE_START: Shape = { width: 0, reach: 0, overhang: 0, probe: null };
/** A backreference: consumes as much as its group did, so no bound. */
export const BACKREFERENCE: Shape = { width: Infinity, reach: Infinity, overhang: 0, probe: null };
/** The empty regex or alternative. */
export const EMPTY: Shape = { width: 0, reach: 0, overhang: 0, probe: null };

/**
 * A lookaround around `body`. A positive lookahead keeps the body's probe (its occurrence
 * starts at or after the lookahead's position, which is also where it ends); a negative one,
 * or a lookbehind (whose body ends at the position: its occurrence lies before it), has none.
 * Either inspects what its body may.
 */
export function lookaround(body: Shape, positiveAhead: boolean): Shape {
  return { width: 0, reach: body.reach, overhang: body.reach, probe: positiveAhead ? body.probe : null };
}

/**
 * `piece{min,max}`. With `min >= 1` every path has a last iteration, which holds the piece's
 * probe; earlier iterations end before it starts, so they add at most the piece's overhang.
 */
export function quantified(piece: Shape, min: number, max: number): Shape {
  if (max === 0) return EMPTY;
  const unbounded = max === Infinity;
  const width = piece.width === 0 ? 0 : unbounded ? Infinity : max * piece.width;
  // (`max - 1` more iterations before the last; written so that 0 × Infinity never occurs.)
  const reach = piece.width === 0 || max === 1 ? piece.reach : unbounded ? Infinity : (max - 1) * piece.width + piece.reach;
  const p = piece.probe;
  const probe = min >= 1 && p !== null ? finite(p.source, p.length, Math.max(p.tail, piece.overhang)) : null;
  return { width, reach, overhang: piece.overhang, probe };
}

/** Alternatives: a probe only if every alternative has one (any of them then occurs). */
export function alternatives(branches: readonly Shape[]): Shape {
  if (branches.length === 1) return branches[0] as Shape;
  let width = 0;
  let reach = 0;
  let overhang = 0;
  let length = 0;
  let tail = 0;
  let all = true;
  for (const b of branches) {
    width = Math.max(width, b.width);
    reach = Math.max(reach, b.reach);
    overhang = Math.max(overhang, b.overhang);
    if (b.probe === null) all = false;
    else {
      length = Math.max(length, b.probe.length);
      tail = Math.max(tail, b.probe.tail);
    }
  }
  const probe = all ? finite(branches.map((b) => (b.probe as Probe).source).join('|'), length, tail) : null;
  return { width, reach, overhang, probe };
}

/**
 * A sequence of pieces, built left to right. Adjacent plain atoms form runs, each a probe of
 * its own; every probe a piece has stays one of the sequence's, with the pieces before it
 * adding their overhang and the pieces after it their reach to its tail. The best probe wins
 * (see {@link better}).
 */
export class SequenceShape {
  private width = 0;
  private reach = 0;
  private overhang = 0;
  /** The best probe found so far, its tail relative to the end of the sequence so far. */
  private best: Probe | null = null;
  /** Atoms of the run in progress, as probe source (the last MAX_RUN of them). */
  private readonly run: string[] = [];

  /** Appends a plain atom (its source as written): extends the current run. */
  atom(source: string): void {
    if (this.run.length === MAX_RUN) this.run.shift();
    this.run.push(`(?:${source})`);
    this.append(ATOM, null);
  }

  /** Appends any other piece: ends the current run. */
  piece(shape: Shape): void {
    this.endRun();
    this.append(shape, shape.probe === null ? null : finite(shape.probe.source, shape.probe.length,
      Math.max(this.overhang, shape.probe.tail)));
  }

  /** The shape of the whole sequence. */
  done(): Shape {
    this.endRun();
    return { width: this.width, reach: this.reach, overhang: this.overhang, probe: this.best };
  }

  private endRun(): void {
    const n = this.run.length;
    if (n === 0) return;
    // The run ends at the current end of the sequence: tail 0, plus the overhang of the pieces
    // before it (atoms have none, so the overhang so far is theirs).
    const probe = finite(this.run.join(''), n, this.overhang);
    this.run.length = 0;
    if (probe !== null && better(probe, this.best)) this.best = probe;
  }

  /** Adds `shape` after what is there; `own` is its probe with the overhang before it counted. */
  private append(shape: Shape, own: Probe | null): void {
    const b = this.best;
    // The pieces after a probe start at most `tail` past its end: their reach adds to it.
    if (b !== null) this.best = finite(b.source, b.length, b.tail + shape.reach);
    if (own !== null && better(own, this.best)) this.best = own;
    this.reach = Math.max(this.reach, this.width + shape.reach);
    this.width += shape.width;
    this.overhang = Math.max(this.overhang, shape.overhang);
  }
}

/** A probe with a finite tail, or `null` (a probe with no bound on its tail gates nothing). */
function finite(source: string, length: number, tail: number): Probe | null {
  return tail === Infinity || Number.isNaN(tail) ? null : { source, length, tail };
}

/** Whether probe `a` should gate instead of `b`: longer first (rarer), then the shorter tail. */
function better(a: Probe, b: Probe | null): boolean {
  if (b === null) return true;
  return a.length !== b.length ? a.length > b.length : a.tail < b.tail;
}
