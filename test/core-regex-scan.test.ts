/**
 * The resumed regex search (`RegexScan` + its viability regex) finds exactly what running the
 * regex over the whole buffered text finds, at every arrival, for random regexes (atoms,
 * classes, groups, alternation, greedy and lazy quantifiers, lookahead, negative lookahead,
 * `$`, `\b`, `^` with `m`, and the constructs that fall back to rescanning), random text,
 * random chunking and a random byte limit. And it does resume: a large unmatched message costs
 * work proportional to its size, and `maxBytes` bounds what a catastrophic regex sees.
 */
import fc from 'fast-check';
import { ReadBuffer, RegexScan, defaultLatin1 } from '../core/index.js';
import { viabilityRegex } from '../core/regex-viability.js';
import { test } from './_support/harness.js';

const atom = fc.constantFrom('a', 'b', '\\n', '.', '[ab]', '[^a]', '\\d', '\\w', '\\s', '[\\n1]', '\\x61', '1', ' ', '[]', '[^]');
const quant = fc.constantFrom('', '', '', '*', '+', '?', '{2}', '{1,2}', '{0,}', '*?', '+?', '??');
const assertion = fc.constantFrom('$', '\\b', '\\B');

const { re } = fc.letrec((tie) => ({
  term: fc.oneof(
    { weight: 6, arbitrary: fc.tuple(atom, quant).map(([a, q]) => a + q) },
    { weight: 1, arbitrary: assertion },
    { weight: 2, arbitrary: fc.tuple(fc.constantFrom('(', '(?:', '(?<g>', '(?=', '(?!'), tie('re'), quant)
      .map(([open, body, q]) => `${open}${body as string})${open === '(?<g>' ? '' : q}`) },
  ),
  seq: fc.array(tie('term'), { minLength: 1, maxLength: 4 }).map((ts) => (ts as string[]).join('')),
  re: fc.array(tie('seq'), { minLength: 1, maxLength: 2 }).map((alts) => (alts as string[]).join('|')),
}));

/** Regexes that need the rescanning fallback, mixed in to check it stays correct. */
const fallback = fc.constantFrom('(?<=a)b', '(a)\\1', '^ab', '(?<!b)a\\n', '^[ab]+\\n');
const source = fc.oneof({ weight: 8, arbitrary: re }, { weight: 1, arbitrary: fallback })
  .map((s) => s.replace(/\(\?<g>(.*?)\)/, '(?<g>$1)')); // at most one group named g per regex keeps it compilable
const flags = fc.constantFrom('', 'i', 'm', 's', 'u', 'im');
const text = fc.array(fc.constantFrom('a', 'b', '\n', '1', ' ', 'B'), { maxLength: 30 }).map((cs) => cs.join(''));

function compileOrNull(src: string, fl: string): RegExp | null {
  try {
    return new RegExp(src, fl);
  } catch {
    return null; // e.g. a quantifier on an assertion in `u` mode: not a regex a user could pass
  }
}

const toBytes = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

/** Checks the resumed search against full rescans; returns [regexes checked, resumable]. */
function checkAgainstRescan(textArb: fc.Arbitrary<string>, sizeMax: number, maxArb: fc.Arbitrary<number | null>,
  numRuns: number, dropAt: number): [number, number] {
  let checked = 0;
  let resumable = 0;
  const seed = process.env.SEED !== undefined ? Number(process.env.SEED) : undefined;
  fc.assert(fc.property(source, flags, textArb, fc.array(fc.integer({ min: 1, max: sizeMax }), { minLength: 1, maxLength: 5 }),
      maxArb, (src, fl, str, sizes, max) => {
        const regex = compileOrNull(src, fl);
        if (regex === null) return;
        checked++;
        if (viabilityRegex(regex) !== null) resumable++;
        const limit = max ?? Infinity;
        const buffer = new ReadBuffer();
        const scan = new RegexScan(defaultLatin1, dropAt);
        scan.reset(regex);
        let fed = 0;
        for (let i = 0; fed < str.length; i++) {
          const n = sizes[i % sizes.length] as number;
          buffer.push(toBytes(str.slice(fed, fed + n)));
          fed = Math.min(str.length, fed + n);
          const seen = str.slice(0, Math.min(fed, limit));
          const m = new RegExp(src, fl).exec(seen);
          const want = m === null ? -1 : m.index + m[0].length;
          const got = scan.find(buffer, limit);
          if (got !== want) {
            throw new Error(`/${src}/${fl} over ${JSON.stringify(seen)} (pieces ${sizes.join(',')}, limit ${limit}): got ${got}, want ${want}`);
          }
          if (got >= 0) return;
        }
      }), { numRuns, ...(seed === undefined ? {} : { seed }) });
  return [checked, resumable];
}

test('regex scan: a resumed search finds what a full rescan finds, at every arrival', async (t) => {
  try {
    const maxArb = fc.option(fc.integer({ min: 0, max: 30 }), { freq: 2 });
    const [checked, resumable] = checkAgainstRescan(text, 6, maxArb, 2000, 4096);
    t.pass(`${checked} regexes checked, ${resumable} of them resumable`);
    t.ok(resumable > checked / 2, 'most generated regexes take the resuming path');
    // The kept text trimmed before the restart point as soon as it can be (the default waits for 4 KiB).
    const [trimmed] = checkAgainstRescan(text, 6, maxArb, 2000, 1);
    t.pass(`${trimmed} regexes checked with the text trimmed at every arrival`);
  } catch (err) {
    t.fail((err as Error).message);
  }
});

test('regex scan: viability regexes for the constructs that must fall back', async (t) => {
  for (const [src, fl] of [['(?<=a)b', ''], ['(?<!a)b', ''], ['(a)\\1', ''], ['(?<n>a)\\k<n>', ''], ['^ab', ''],
    ['\\01', ''], ['(?i:a)b', ''], ['[\\p{L}--a]', 'v']]) {
    const regex = compileOrNull(src as string, fl as string);
    if (regex === null) {
      t.comment(`/${src}/${fl} does not compile on this runtime`);
      continue;
    }
    t.equal(viabilityRegex(regex), null, `/${src}/${fl} rescans from the start`);
  }
  for (const src of ['\\r?\\n\\r?\\n', 'a.*b', '\\d+\\r\\n', '(?=ab)a', 'x{', '^a', '\\bfoo$']) {
    t.ok(viabilityRegex(new RegExp(src, 'm')) !== null, `/${src}/m resumes`);
  }
});

test('regex scan: a 2 MB unmatched message in 1 KB pieces is scanned about once', async (t) => {
  const buffer = new ReadBuffer();
  const scan = new RegexScan(defaultLatin1);
  scan.reset(/\r\n\r\n/);
  const piece = toBytes('x'.repeat(1023) + '\r');
  let maxText = 0;
  let found = 0;
  for (let i = 0; i < 2048; i++) {
    buffer.push(piece);
    if (scan.find(buffer) !== -1) found++;
    maxText = Math.max(maxText, (scan as unknown as { text: string }).text.length);
  }
  t.equal(found, 0, 'no match in 2 MB of x and lone CRs');
  t.ok(maxText < 8192, `the kept text stays small (${maxText} chars at most), so no arrival rescans the message`);
  buffer.push(toBytes('\n\r\n'));
  t.equal(scan.find(buffer), 2048 * 1024 + 3, 'the match straddling the last pieces is found');
});

test('regex scan: maxBytes bounds what a catastrophic regex sees', async (t) => {
  const buffer = new ReadBuffer();
  const scan = new RegexScan(defaultLatin1);
  scan.reset(/(a+)+$/);
  buffer.push(toBytes(`${'a'.repeat(40)}!`));
  // Unbounded, this backtracks 2^40 times. Bounded by 10 bytes, `$` meets the end of what the
  // regex may see, as it would have if only those bytes had arrived so far.
  t.equal(scan.find(buffer, 10), 10, 'matches within the 10 bytes it may look at');
});
