/**
 * W5, core only (no sockets): the W1/W2/W4 bytes fed as 64 KiB chunks straight into
 * `StreamCore` (`receive` + `tryReadBytes`/`tryReadUntil`), versus a plain `Buffer.indexOf`
 * loop over the same chunks producing the same results. One warm-up pass, then timed passes
 * repeated for ~0.25 s (the figure is one pass's time).
 *
 * Argument: `{"case": "w1"|"w2"|"w4", "impl": "core"|"loop"|"locate", "bytes", "count"}`;
 * prints `{"result": {"seconds", "units", ...}}`.
 */
import { StreamCore } from '../../core/index.js';
import { bigMessage, bulkBlock, chunksOf, linesPayload } from '../lib/payload.js';
import { LineLocator, LineSplitter, MessageAccumulator } from '../lib/scan.js';

interface W5Params { case: 'w1' | 'w2' | 'w4'; impl: 'core' | 'loop' | 'locate'; bytes: number; count: number; minMs?: number }

const p = JSON.parse(process.argv[2] ?? '{}') as W5Params;
const alloc = (n: number): Uint8Array => Buffer.allocUnsafe(n);
const CRLF = Buffer.from('\r\n');
const CRLFCRLF = Buffer.from('\r\n\r\n');

function drain(core: StreamCore): void {
  while (core.nextAction() !== undefined) { /* read-ahead interest changes only */ }
}

function bulkChunks(): Buffer[] {
  const block = bulkBlock();
  return Array.from({ length: Math.ceil(p.bytes / block.length) }, () => block);
}

function coreBulk(chunks: Buffer[]): number {
  const core = new StreamCore({ alloc });
  let total = 0;
  for (const c of chunks) {
    core.receive(c);
    for (let v = core.tryReadBytes(65536, true); v !== undefined; v = core.tryReadBytes(65536, true)) total += v.length;
    drain(core);
  }
  return total;
}

function loopBulk(chunks: Buffer[]): number {
  let total = 0;
  for (const c of chunks) total += c.subarray(0, 65536).length;
  return total;
}

function coreLines(chunks: Buffer[]): number {
  const core = new StreamCore({ alloc });
  let n = 0;
  for (const c of chunks) {
    core.receive(c);
    while (core.tryReadUntil(CRLF) !== undefined) n++;
    drain(core);
  }
  return n;
}

function loopLines(chunks: Buffer[]): number {
  const s = new LineSplitter();
  for (const c of chunks) s.feed(c);
  return s.count;
}

function locateLines(chunks: Buffer[]): number {
  const s = new LineLocator();
  for (const c of chunks) s.feed(c);
  return s.count;
}

function coreMessage(chunks: Buffer[]): number {
  const core = new StreamCore({ alloc, maxBufferSize: 2 ** 31 });
  for (const c of chunks) {
    core.receive(c);
    const m = core.tryReadUntil(CRLFCRLF);
    drain(core);
    if (m !== undefined) return m.length;
  }
  return -1;
}

function loopMessage(chunks: Buffer[]): number {
  const acc = new MessageAccumulator(CRLFCRLF);
  for (const c of chunks) {
    const m = acc.feed(c);
    if (m !== null) return m.length;
  }
  return -1;
}

const table = {
  w1: { data: bulkChunks, core: coreBulk, loop: loopBulk, locate: loopBulk, want: p.bytes },
  w2: { data: () => chunksOf(linesPayload(p.count)), core: coreLines, loop: loopLines, locate: locateLines, want: p.count },
  w4: { data: () => chunksOf(bigMessage(p.bytes)), core: coreMessage, loop: loopMessage, locate: loopMessage, want: p.bytes + 4 },
}[p.case];

const chunks = table.data();
const fn = table[p.impl];
// Warm-up for ~0.25 s on the same input (both implementations alike), so the timed passes run
// optimized code: one pass was not enough, and the core's row swung 2x from run to run.
const w0 = performance.now();
do fn(chunks); while (performance.now() - w0 < (p.minMs ?? 250));
// Repeat the pass until ~0.25 s has gone by (at least once) and report the time of one pass:
// a single 64 MiB pass of cheap per-chunk work is over before the JIT settles.
let passes = 0;
let units = 0;
const t0 = performance.now();
do {
  units = fn(chunks);
  passes++;
} while (performance.now() - t0 < (p.minMs ?? 250));
const seconds = (performance.now() - t0) / 1000 / passes;
if (units !== table.want) {
  process.stdout.write(`${JSON.stringify({ error: `${p.case}/${p.impl}: got ${units}, expected ${table.want}` })}\n`);
  process.exit(1);
}
process.stdout.write(`${JSON.stringify({ result: { seconds, cpuSeconds: seconds, maxRss: process.resourceUsage().maxRSS * 1024, units } })}\n`);
