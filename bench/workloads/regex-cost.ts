/**
 * `npm run bench:regex` (not part of `npm run bench`): what a
 * `readUntilRegex` costs in the two cases issue 10 names, on the core alone (no sockets):
 * - ReDoS: `/(a+)+$/` with `maxBytes: 10`, fed `a` × N then `!` in one piece, N = 20..28;
 * - a 2 MB message without a match, arriving in 1 KB pieces, then the match: for `/\r\n\r\n/` and
 *   `/\d+\r\n\r\n/` (resumed searches) and `/(?<=x)\r\n\r\n/` (lookbehind: no resumption);
 * and the one issue 23 names:
 * - regexes whose match attempt stays alive at the end of the text (`/[^\r\n]*\r\n\r\n/` at 8, 16
 *   and 64 KiB, `/.*?\r\n\r\n/s`, `/\w+\r\n/`, `/x*y/`, `/a.*b/`, `/(?:[^\r\n]+\r\n)*\r\n/` at
 *   64 KiB), fed `x`s in 1 KB pieces until `maxBytes` fails the read: 58 s for the 64 KiB
 *   `/[^\r\n]*\r\n\r\n/` when the regex re-ran on every arrival; the target is under 50 ms.
 * Prints milliseconds per case (median of 5).
 */
import { StreamCore } from '../../core/index.js';

const latin1 = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

function time(fn: () => void, runs = 5): number {
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    ms.push(performance.now() - t0);
  }
  return median(ms);
}

/** One readUntilRegex over `pieces`, drained; returns the outcome for a sanity check. */
function readRegex(regex: RegExp, pieces: Uint8Array[], maxBytes?: number): string {
  const core = new StreamCore();
  core.readUntilRegex(regex, maxBytes === undefined ? {} : { maxBytes });
  for (const p of pieces) {
    core.receive(p);
    for (let a = core.nextAction(); a !== undefined; a = core.nextAction()) {
      if (a.type === 'resolve-request') return a.error ? a.error.name : `${(a.value as Uint8Array).length} bytes`;
    }
  }
  return 'pending';
}

/** The rows of issue 23, as [regex, maxBytes]. */
export const ALIVE_ROWS: readonly [RegExp, number][] = [
  [/[^\r\n]*\r\n\r\n/, 8192], [/[^\r\n]*\r\n\r\n/, 16384], [/[^\r\n]*\r\n\r\n/, 65536], [/.*?\r\n\r\n/s, 65536],
  [/\w+\r\n/, 65536], [/x*y/, 65536], [/a.*b/, 65536], [/(?:[^\r\n]+\r\n)*\r\n/, 65536],
];

export function regexCost(): {
  redos: [number, number, string][]; twoMb: [string, number, string][]; alive: [string, number, number, string][];
} {
  const redos: [number, number, string][] = [];
  for (const n of [20, 22, 24, 26, 28]) {
    const piece = [latin1(`${'a'.repeat(n)}!`)];
    let outcome = '';
    const ms = time(() => { outcome = readRegex(/(a+)+$/, piece, 10); }, n >= 26 ? 1 : 3);
    redos.push([n, ms, outcome]);
  }
  const kb = latin1(`${'x'.repeat(1023)}\r`);
  const pieces: Uint8Array[] = [];
  for (let i = 0; i < 2048; i++) pieces.push(kb);
  pieces.push(latin1('\n\r\n'));
  const twoMb: [string, number, string][] = [];
  // Resumed (the common case), and one the viability regex cannot cover (lookbehind): it
  // rescans the whole buffer on every arrival.
  for (const regex of [/\r\n\r\n/, /\d+\r\n\r\n/, /(?<=x)\r\n\r\n/]) {
    let outcome = '';
    const ms = time(() => { outcome = readRegex(regex, pieces); }, regex.source.includes('<=') ? 1 : 3);
    twoMb.push([String(regex), ms, outcome]);
  }
  const xs = latin1('x'.repeat(1024));
  const alive: [string, number, number, string][] = [];
  for (const [regex, maxBytes] of ALIVE_ROWS) {
    const fed: Uint8Array[] = [];
    for (let i = 0; i <= maxBytes / 1024; i++) fed.push(xs);
    let outcome = '';
    const ms = time(() => { outcome = readRegex(regex, fed, maxBytes); });
    alive.push([String(regex), maxBytes, ms, outcome]);
  }
  return { redos, twoMb, alive };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = regexCost();
  for (const [n, ms, outcome] of r.redos) console.log(`ReDoS /(a+)+$/ maxBytes 10, ${n} a + '!': ${ms.toFixed(1)} ms (${outcome})`);
  for (const [regex, ms, outcome] of r.twoMb) console.log(`2 MB unmatched ${regex} in 1 KB pieces: ${ms.toFixed(1)} ms (${outcome})`);
  for (const [regex, maxBytes, ms, outcome] of r.alive) {
    console.log(`${regex} maxBytes ${maxBytes / 1024} KiB, x in 1 KB pieces to the limit: ${ms.toFixed(1)} ms (${outcome})`);
  }
}
