/**
 * Deterministic simulation: each seed runs a random framed echo protocol over a `SimLoop` pair
 * with random chunking, latency, read-ahead size and ONE injected fault, then checks the
 * stream invariants (no byte lost or duplicated, every request settles exactly once, the close
 * callback comes last, documented error classes) and that the same seed gives the same trace.
 *
 * Seeds: `SIM_SEEDS=n` (default 500) or `SEED=n` for exactly one.
 * Under tape: `npm test`; standalone: `npm run sim` (= node --import tsx test/simulation.test.ts).
 * A failing seed prints `SEED=n` and its replay command.
 */
import { StreamClosedError } from '../core/errors.js';
import { SimLoop } from '../drivers/memory/index.js';
import { test } from './_support/harness.js';
import {
  ABORTED, Q_FRAME, Rng, Run, Side, bytesEqual, completeFramesWithin, concat, count, coverage, describeError,
  describePlan, isPrefix, makePlan, type Plan,
} from './_support/sim-protocol.js';

/** A runaway protocol would otherwise keep the loop busy forever. */
const MAX_TASKS = 200_000;

/** Server: echo every frame; on Q, wait for the echoes and close. Keeps reading after write failures. */
async function serve(server: Side, plan: Plan): Promise<void> {
  const f = plan.fault;
  try {
    if (plan.banner.length > 0) {
      await server.send(plan.banner).catch((e: unknown) => { if (!(e instanceof StreamClosedError)) throw e; });
    }
    for (let i = 0; ; i++) {
      if (f.kind === 'close-after' && f.who === 'server' && f.frames === i) server.close(`after ${i} frames`);
      const frame = await server.readFrame(plan.frames[i]);
      if (frame === 'Q') {
        server.sawQ = true;
        await Promise.allSettled(server.writes);
        server.close('got Q');
        return;
      }
      server.frames.push(frame);
      server.parsed(frame);
      await server.send(frame).catch((e: unknown) => {
        if (!(e instanceof StreamClosedError)) throw e;
      });
    }
  } catch (e) {
    if (!(e instanceof StreamClosedError)) server.fail(`stopped on ${describeError(e)}`);
    server.log(`stopped: ${describeError(e)}`);
    server.stopped = true;
    await server.drainLeftover();
  }
}

async function clientWrite(client: Side, plan: Plan): Promise<void> {
  const f = plan.fault;
  try {
    for (let i = 0; i < plan.frames.length; i++) {
      if (f.kind === 'close-after' && f.who === 'client' && plan.clientMode !== 'frames' && f.frames === i) {
        client.close(`after writing ${i} frames`);
      }
      await client.send(plan.frames[i] as Uint8Array);
    }
    await client.send(Q_FRAME);
  } catch (e) {
    if (!(e instanceof StreamClosedError)) client.fail(`writer stopped on ${describeError(e)}`);
  }
}

async function clientRead(client: Side, plan: Plan): Promise<void> {
  const f = plan.fault;
  const s = client.stream;
  try {
    if (plan.clientMode === 'frames') {
      if (plan.banner.length > 0) client.parsed(await client.readExact(plan.banner.length));
      for (let i = 0; i < plan.frames.length; i++) {
        if (f.kind === 'close-after' && f.who === 'client' && f.frames === i) client.close(`after ${i} echoes`);
        const frame = await client.readFrame(plan.frames[i]);
        if (frame === 'Q') throw new Error('server echoed Q');
        client.frames.push(frame);
        client.parsed(frame);
      }
      // Everything echoed: the server closes next.
      const rest = client.rng.chance(0.5)
        ? await client.track('readUntilClose()', () => s.readUntilClose())
        : await client.track('readBytes(1) at end', () => s.readBytes(1)).then(
          (b) => { client.fail('read past the last echo'); return b; },
          (e: unknown) => { if (e instanceof StreamClosedError) return new Uint8Array(0); throw e; });
      if (rest.length !== 0) client.fail(`${rest.length} bytes after the last echo`);
    } else {
      const streaming = plan.clientMode === 'until-close-streaming';
      let all: Uint8Array | typeof ABORTED;
      do {
        all = await client.read(`readUntilClose(${streaming ? 'streaming' : ''})`, (g) => s.readUntilClose({
          ...(streaming ? { streamingCallback: (c: Uint8Array) => { client.log(`chunk ${c.length}`); client.consumed.push(c.slice()); } } : {}),
          ...(g ? { signal: g } : {}),
        }));
      } while (all === ABORTED);
      if (streaming && all.length !== 0) client.fail(`streaming readUntilClose resolved with ${all.length} bytes`);
      if (!streaming) client.consumed.push(all.slice());
    }
  } catch (e) {
    if (!(e instanceof StreamClosedError)) client.fail(`reader stopped on ${describeError(e)}`);
    client.log(`reader stopped: ${describeError(e)}`);
    client.stopped = true;
    await client.drainLeftover();
  }
  client.close('reader done');
}

/** Runs one seed and checks every invariant. Resolves with the trace and the failures. */
export async function runSeed(seed: number): Promise<{ trace: string; failures: string[]; plan: Plan }> {
  const plan = makePlan(seed);
  const sim = new SimLoop({ seed });
  const f = plan.fault;
  const [a, b] = sim.pair({
    chunking: plan.chunking, latency: plan.latency,
    ...(plan.readChunkSize !== undefined ? { readChunkSize: plan.readChunkSize } : {}),
    ...(plan.maxBufferSize !== undefined ? { maxBufferSize: plan.maxBufferSize } : {}),
    ...(f.kind === 'reset' ? { resetAfterBytes: f.after } : f.kind === 'eof' ? { eofAfterBytes: f.after } : {}),
  });
  const run = new Run(plan, sim);
  const client = new Side('client', a, new Rng(seed ^ 0x2545f491), run);
  const server = new Side('server', b, new Rng(seed ^ 0x6c8e9cf5), run);
  if (f.kind === 'close-timed') {
    const side = f.who === 'client' ? client : server;
    sim.schedule(() => { side.close(`timed, t=${f.delay}`); }, f.delay);
  }
  let pending = 3;
  const done = (): void => { pending--; };
  void serve(server, plan).then(done);
  void clientWrite(client, plan).then(done);
  void clientRead(client, plan).then(done);
  // Called synchronously, as a user would. sim.run() currently runs its first task before pending
  // promise handlers (see the SimLoop test at the end), so it can also return with nothing run
  // while those handlers are about to schedule more: let them run, then re-check.
  let tasks = 0;
  for (;;) {
    tasks += await sim.run(MAX_TASKS - tasks);
    await new Promise<void>((resolve) => { setImmediate(resolve); });
    if (sim.pending === 0 || tasks >= MAX_TASKS) break;
  }
  if (tasks >= MAX_TASKS) run.fail(`still busy after ${MAX_TASKS} simulated tasks`);
  if (pending !== 0) run.fail(`${pending} protocol task(s) hung: ${server.stream.reading() ? 'server' : 'client'} read pending`);
  checkInvariants(run, client, server);
  return { trace: run.events.join('\n'), failures: run.failures, plan };
}

function checkInvariants(run: Run, client: Side, server: Side): void {
  const { plan } = run;
  const f = plan.fault;
  count(`fault ${f.kind}`);
  count(`chunking ${plan.chunking}`);
  if (plan.maxBufferSize !== undefined) count('tight maxBufferSize');
  if (server.stream.error !== null) count('server saw a reset');
  if (client.stream.error !== null) count('client saw a reset');
  if (client.leftover.length + server.leftover.length > 0) count('leftover bytes drained after close');
  for (const side of [client, server]) {
    for (const r of side.reqs) if (!r.issuedOpen && r.resolved) count('read/write after close resolved');
    for (const r of side.reqs) if (r.label.includes('streaming') && r.settled) count('streaming read');
  }
  for (const side of [client, server]) {
    if (!side.stream.closed()) side.fail('stream not closed at the end');
    if (side.stream.reading() || side.stream.writing()) side.fail('still reading or writing at the end');
    if (side.closeCallbackCalls !== 1) side.fail(`close callback ran ${side.closeCallbackCalls} times`);
    for (const r of side.reqs) {
      if (r.settled !== 1) side.fail(`${r.label} settled ${r.settled} times`);
      // A failed callback read has nothing to settle: the close (callback) is how it is reported.
      const reportedByClose = r.label.includes(', callback') && !r.resolved;
      if (r.issuedOpen && r.settledAt > side.closeCallbackAt && !reportedByClose) side.fail(`${r.label} settled after the close callback`);
      if (r.hasCallback && r.callbackCalls !== (r.resolved ? 1 : 0)) {
        side.fail(`${r.label}: callback ran ${r.callbackCalls} times, write ${r.resolved ? 'resolved' : 'rejected'}`);
      }
    }
  }
  // Bytes: what each side took (reads, then leftovers drained after the close) is a prefix of
  // what its peer sent: nothing lost, duplicated or reordered.
  const sent = concat(plan.frames);
  const toServer = concat([sent, Q_FRAME]);
  const toClient = concat([plan.banner, sent]);
  const expected = new Map<Side, Uint8Array>([[server, toServer], [client, toClient]]);
  for (const side of [client, server]) {
    const got = concat([...side.consumed, side.leftover]);
    const want = expected.get(side) as Uint8Array;
    if (!isPrefix(got, want)) side.fail(`took ${got.length} bytes that are not a prefix of the ${want.length} sent`);
    side.frames.forEach((fr, i) => {
      if (!bytesEqual(fr, plan.frames[i] ?? new Uint8Array(0))) side.fail(`frame ${i} differs from the one sent`);
    });
    // Its last read failed: the buffer really could not satisfy it (the unit it was on is incomplete).
    if (side.stopped && (side === server || plan.clientMode === 'frames')) {
      const units = side === server ? [...plan.frames, Q_FRAME] : [...(plan.banner.length > 0 ? [plan.banner] : []), ...plan.frames];
      const next = units[side.unitsDone];
      if (next !== undefined && side.parsedBytes + next.length <= got.length) {
        side.fail(`a read failed though ${got.length - side.parsedBytes} buffered bytes held the next ${next.length}-byte unit`);
      }
    }
    // A side receives at most `after` bytes; a reset comes after exactly that many, all still takeable.
    if ((f.kind === 'reset' || f.kind === 'eof') && got.length > f.after) side.fail(`took ${got.length} > ${f.after} bytes`);
    const error = side.stream.error as (Error & { code?: unknown; syscall?: unknown }) | null;
    if (error !== null && error.syscall === 'write') {
      // The writer of a faulted direction: its bytes past the fault were never confirmed, so it
      // sees the fault too (ECONNRESET after a reset, EPIPE after an EOF), whatever it received.
      if (error.code !== (f.kind === 'reset' ? 'ECONNRESET' : f.kind === 'eof' ? 'EPIPE' : null)) {
        side.fail(`closed with ${describeError(error)}`);
      } else {
        count('writer saw the fault');
      }
    } else if (error !== null) {
      if (error.code !== 'ECONNRESET' || f.kind !== 'reset') side.fail(`closed with ${describeError(error)}`);
      else if (got.length !== f.after) side.fail(`reset after ${f.after} bytes, but took ${got.length}`);
    }
  }
  const noLoss = f.kind === 'none' || f.kind === 'abort'
    || ((f.kind === 'reset' || f.kind === 'eof') && f.after >= Math.max(toServer.length, toClient.length));
  if (noLoss) {
    if (!server.sawQ || server.frames.length !== plan.frames.length) server.fail(`parsed ${server.frames.length} frames, sawQ=${server.sawQ}`);
    const echo = concat(client.consumed);
    if (!bytesEqual(echo, toClient)) client.fail(`got ${echo.length} bytes back, expected ${toClient.length}`);
  }
}

function envInt(name: string): number | undefined {
  const v = process.env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${name} must be a non-negative integer, got ${v}`);
  return n;
}

// Seeds that failed, run in every sweep: with `close()` right before sim.run() starts, the close
// callback ran before the handlers of a write(0) settled just before it (see the SimLoop test below).
const REGRESSION_SEEDS = [7761, 9885, 36779];

const single = envInt('SEED');
const seedCount = envInt('SIM_SEEDS') ?? 500;
const seeds = single !== undefined ? [single]
  : [...new Set([...Array.from({ length: seedCount }, (_, i) => i + 1), ...(seedCount > 0 ? REGRESSION_SEEDS : [])])];
/** Seeds run side by side: each SimLoop is independent, and sharing real event-loop turns is much faster. */
const PARALLEL = 16;

test(`simulation: ${seeds.length === 1 ? `SEED=${seeds[0]}` : `${seeds.length} seeds`} (echo protocol, chunking, latency, one fault)`,
  { timeout: Math.max(60_000, seeds.length * 20) }, async (t) => {
    const started = Date.now();
    let failed = 0;
    const report = (seed: number, plan: Plan, why: string[], trace: string): void => {
      failed++;
      if (failed > 10) return;
      t.fail(`SEED=${seed} failed (${describePlan(plan)}):\n    ${why.slice(0, 8).join('\n    ')}\n` +
        `  replay: SEED=${seed} npm run sim`);
      if (single !== undefined || process.env['SIM_TRACE'] === '1') console.log(trace);
    };
    for (let i = 0; i < seeds.length; i += PARALLEL) {
      const batch = seeds.slice(i, i + PARALLEL);
      await Promise.all(batch.map(async (seed) => {
        const [first, second] = await Promise.all([runSeed(seed), runSeed(seed)]);
        const why = [...first.failures];
        if (first.trace !== second.trace) {
          const x = first.trace.split('\n');
          const y = second.trace.split('\n');
          let k = 0;
          while (k < x.length && x[k] === y[k]) k++;
          why.push(`same seed, different trace: event ${k}: ${String(x[k])} vs ${String(y[k])}`);
        }
        if (why.length > 0) report(seed, first.plan, why, first.trace);
      }));
    }
    const ms = Date.now() - started;
    t.equal(failed, 0, `${seeds.length - failed}/${seeds.length} seeds kept every invariant`);
    t.comment(`${seeds.length} seeds (each run twice) in ${ms} ms: ${Math.round((seeds.length * 1000) / Math.max(ms, 1))} seeds/s`);
    t.comment(`coverage (runs): ${[...coverage].sort().map(([k, v]) => `${k}=${v}`).join(', ')}`);
    if (failed > 0) console.log(`# ${failed} failing seed(s); replay one with SEED=n npm run sim (SIM_TRACE=1 prints traces)`);
  });

// Minimal form of SEED=7761: `await sim.run()` called right after close() ran the close callback
// (a sim task) synchronously, before the handlers of the read that close() had just rejected.
test('SimLoop: a close callback runs after the handlers of what close() settled, even if run() starts at once', async (t) => {
  const sim = new SimLoop({ seed: 1 });
  const [a, b] = sim.pair({ latency: 2 });
  const events: string[] = [];
  a.setCloseCallback(() => events.push('close callback'));
  void a.readBytes(3).then(() => events.push('read resolved'), () => events.push('read rejected'));
  void a.write(new Uint8Array(0)).then(() => events.push('write resolved'), () => events.push('write rejected'));
  a.close();
  await sim.run();
  t.deepEqual([...events].sort(), ['close callback', 'read rejected', 'write resolved'], 'each event once');
  t.equal(events[events.length - 1], 'close callback', `close callback last (order: ${events.join(', ')})`);
  b.close();
  await sim.run();
});
