/**
 * The conformance suite keeps its teeth: it is run against deliberately broken versions of the
 * memory driver, and each must fail with a message that names the rule it breaks. Each run goes
 * through a small collecting runner (test/runtimes/mini-tape.ts), not tape, so the mutants'
 * failures are asserted on here instead of failing `npm test`. An unmodified pair built the
 * same way passes everything (the control: the runner and the pair builder are not what fails),
 * and so does a transport whose `resume()` delivers synchronously, which the Transport contract
 * allows (the facade is re-entrant).
 */
import { takeRecordedErrors, test } from './_support/harness.js';
import { runConformance } from '../conformance/index.js';
import { MemoryIOStream, SimLoop } from '../drivers/memory/memory-pair.js';
import { Link, MemoryTransport } from '../drivers/memory/link.js';
import type { DriverHooks } from '../drivers/facade/base-iostream.js';
import type { Transport } from '../drivers/facade/transport.js';
import type { StreamOptions } from '../core/options.js';
import { Suite, type RtEvent } from './runtimes/mini-tape.js';

/** Bytes the sync-resume mutant delivered inside resume() (so its run is not vacuous). */
let syncDelivered = 0;

type Mutation = 'none' | 'pause-ignored' | 'sync-resume' | 'written-inside-write' | 'close-throws';

/** The transport of one end, broken as `mutation` says. */
function mutate(mutation: Mutation, inner: MemoryTransport, inbound: Link, stream: MemoryIOStream): Transport {
  switch (mutation) {
    case 'none': return inner;
    case 'pause-ignored':
      return { resume: () => { inner.resume(); }, pause: () => {}, write: (c, n) => { inner.write(c, n); }, close: (e) => { inner.close(e); } };
    case 'sync-resume':
      return {
        // Delivers what the link holds inside resume() itself, then lets the link go on as usual.
        resume: () => {
          inner.resume();
          const link = inbound as unknown as { deliver(): void; delivered: number };
          const before = link.delivered;
          link.deliver();
          syncDelivered += link.delivered - before;
        },
        pause: () => { inner.pause(); }, write: (c, n) => { inner.write(c, n); }, close: (e) => { inner.close(e); },
      };
    case 'written-inside-write':
      // Confirms each write at once, inside write(); the link's own (later) confirmations are cut off below.
      return {
        resume: () => { inner.resume(); }, pause: () => { inner.pause(); }, close: (e) => { inner.close(e); },
        write: (c, n) => { inner.write(c, n); stream.transportSink.written(n); },
      };
    case 'close-throws':
      return {
        resume: () => { inner.resume(); }, pause: () => { inner.pause(); }, write: (c, n) => { inner.write(c, n); },
        close: (e) => { inner.close(e); throw new Error('close failed on purpose'); },
      };
  }
}

/** A memory pair (whole chunking) built as memoryPair() builds one, with both transports mutated. */
function mutantPair(mutation: Mutation, options: StreamOptions = {}): [MemoryIOStream, MemoryIOStream] {
  const loop = new SimLoop({ seed: 1, autorun: true });
  const link = (): Link => new Link(loop, 'whole', 0, 1 << 20, -1, false);
  const ab = link();
  const ba = link();
  const hooks: DriverHooks = { schedule: (fn) => { loop.schedule(fn); } };
  const a = new MemoryIOStream(options, hooks, (s) => mutate(mutation, new MemoryTransport(ba, ab), ba, s));
  const b = new MemoryIOStream(options, hooks, (s) => mutate(mutation, new MemoryTransport(ab, ba), ab, s));
  const confirmsItself = mutation === 'written-inside-write';
  ab.writer = confirmsItself ? null : a.transportSink;
  ab.reader = b.transportSink;
  ba.writer = confirmsItself ? null : b.transportSink;
  ba.reader = a.transportSink;
  return [a, b];
}

interface SuiteRun { passed: number; failed: string[]; messages: string[] }

/** The whole suite over `mutation`'s pairs, collected (each test bounded at 4 s). */
async function runOver(mutation: Mutation): Promise<SuiteRun> {
  const events: RtEvent[] = [];
  const suite = new Suite((e) => { events.push(e); }, 6000);
  suite.check(mutation, (register) => {
    runConformance(register, { name: `memory/${mutation}`, makePair: async (o) => mutantPair(mutation, o), timeoutMs: 4000 });
  });
  await suite.run();
  const results = events.filter((e): e is Extract<RtEvent, { type: 'result' }> => e.type === 'result');
  return {
    passed: results.filter((r) => r.status === 'pass').length,
    failed: results.filter((r) => r.status === 'fail').map((r) => r.name),
    messages: results.flatMap((r) => r.failures),
  };
}

/** What the run says, for a failing assertion's message. */
const summary = (r: SuiteRun): string => `${r.passed} passed, ${r.failed.length} failed: ${r.failed.slice(0, 4).join(' | ')}; `
  + `first messages: ${r.messages.slice(0, 3).join(' | ')}`;

test('mutants: the control (an unmodified pair, built the same way) passes the whole suite', { timeout: 120_000 }, async (t) => {
  const r = await runOver('none');
  t.ok(r.passed > 40, `${r.passed} tests passed`);
  t.deepEqual(r.failed, [], summary(r));
});

test('mutants: resume() delivering synchronously is allowed by the contract and passes the whole suite', { timeout: 120_000 }, async (t) => {
  const r = await runOver('sync-resume');
  t.deepEqual(r.failed, [], summary(r));
  t.ok(syncDelivered > 0, `${syncDelivered} bytes were delivered inside resume()`);
});

/** Each broken driver, and what its failures must name. */
const BROKEN: Array<{ mutation: Mutation; rules: RegExp[] }> = [
  // The black-box flow-control case and the checker's own rule both catch it.
  { mutation: 'pause-ignored', rules: [/rule pause-stops-delivery/, /ERR_DRIVER_CONTRACT: driver contract broken \(receive-while-paused\)/] },
  { mutation: 'written-inside-write', rules: [/ERR_DRIVER_CONTRACT: driver contract broken \(written-inside-write\): sink\.written\(\) was called inside transport\.write\(\)/] },
  { mutation: 'close-throws', rules: [/ERR_DRIVER_CONTRACT: driver contract broken \(transport-threw\): transport\.close\(\) threw Error: close failed on purpose/] },
];

for (const { mutation, rules } of BROKEN) {
  test(`mutants: ${mutation} fails the suite, each failure reported as a test (no crash), naming the rule`, { timeout: 180_000 }, async (t) => {
    const r = await runOver(mutation);
    t.ok(r.failed.length > 0, `the suite fails (${summary(r)})`);
    for (const rule of rules) t.ok(r.messages.some((m) => rule.test(m)), `a failure names the rule: ${String(rule)}`);
    t.comment(`${mutation}: ${r.passed} passed, ${r.failed.length} failed`);
    // A broken driver can leave a case's later reads rejected with nobody awaiting them (the
    // case failed before it got there); the runner fails the test they happened in. Nothing
    // may escape as an uncaught exception.
    const stray = takeRecordedErrors();
    t.deepEqual(stray.filter((e) => e.kind === 'uncaughtException').map((e) => String(e.error)), [], 'no uncaught exception');
    t.ok(stray.every((e) => r.messages.some((m) => m.startsWith('unhandled'))), 'every unhandled rejection failed a test of the run');
  });
}
