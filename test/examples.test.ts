/**
 * The worked examples of docs/DRIVERS.md: the MessageChannel driver (examples/message-port-driver.ts)
 * passes the whole conformance suite over `worker_threads` ports; the line protocol driven on
 * `StreamCore` by hand (examples/core-line-protocol.ts) answers the same however its input is
 * split; the request/response protocol (examples/sum-protocol.ts) runs on a `SimLoop`, and a
 * seed replays its run exactly.
 */
import { MessageChannel } from 'node:worker_threads';
import { test } from './_support/harness.js';
import { runConformance, type TestFunction } from '../conformance/index.js';
import { portPair, type PortLike } from '../examples/message-port-driver.js';
import { lineSession, writtenText } from '../examples/core-line-protocol.js';
import { sumClient, sumServer } from '../examples/sum-protocol.js';
import { SimLoop } from '../drivers/memory/index.js';

const run = test as unknown as TestFunction;

runConformance(run, {
  name: 'example/MessageChannel',
  makePair: async (options) => {
    const channel = new MessageChannel() as unknown as { port1: PortLike; port2: PortLike };
    return portPair(channel, options);
  },
});

// ------------------------------------------------------------------ StreamCore by hand
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

test('example: the line protocol on a hand-driven StreamCore answers the same however the input is split', (t) => {
  const input = 'hello\nsans-io world\nQUIT\nignored after QUIT\n';
  const want = 'HELLO\nSANS-IO WORLD\nBYE\n';
  const whole = lineSession();
  t.equal(whole.reading, true, 'the first read asked the transport to read');
  whole.receive(enc(input));
  t.equal(writtenText(whole), want, 'one delivery');
  t.equal(whole.closedWith, null, 'QUIT closes cleanly');
  for (let cut = 1; cut < input.length; cut++) {
    const s = lineSession();
    s.receive(enc(input.slice(0, cut)));
    s.receive(enc(input.slice(cut)));
    if (writtenText(s) !== want) t.fail(`split at ${cut}: ${JSON.stringify(writtenText(s))}`);
  }
  const bytewise = lineSession();
  for (const ch of input) bytewise.receive(enc(ch));
  t.equal(writtenText(bytewise), want, 'byte by byte, and every two-piece split (none failed above)');
  const long = lineSession(8);
  long.receive(enc('far too long a line\n'));
  t.equal((long.closedWith as { code?: unknown } | null | undefined)?.code, 'ERR_UNSATISFIABLE_READ', 'a line past maxBytes closes with UnsatisfiableReadError');
  const eof = lineSession();
  eof.receive(enc('one\ntw'));
  eof.eof();
  t.equal(writtenText(eof), 'ONE\n', 'the peer\'s EOF: the partial line is never answered');
  t.equal(eof.closedWith, null, 'and the close is clean');
  t.end();
});

// ------------------------------------------------------------------ SimLoop, seeded
const PAIRS = Array.from({ length: 25 }, (_, i) => [i * 37 - 400, i * i] as const);
const SUMS = PAIRS.map(([a, b]) => a + b);

/** One seeded run of the pipelined client: its answers. */
async function simulate(seed: number): Promise<number[]> {
  const sim = new SimLoop({ seed });
  const [client, server] = sim.pair({ chunking: 'random', latency: 3 });
  const served = sumServer(server);
  const answered = sumClient(client, PAIRS);
  await sim.run(100_000);
  const [sums] = await Promise.all([answered, served]);
  return sums;
}

/**
 * One seeded run where the seed also picks the requests and when each is sent (every random
 * choice comes from `sim.random`, so the seed is the whole run): the trace of virtual times,
 * requests and answers.
 */
async function simulateTrace(seed: number): Promise<string[]> {
  const sim = new SimLoop({ seed });
  const [client, server] = sim.pair({ chunking: 'random', latency: 2 });
  const served = sumServer(server);
  const trace: string[] = [];
  const decoder = new TextDecoder();
  for (let i = 0; i < 8; i++) {
    const a = Math.floor(sim.random() * 1000);
    const b = Math.floor(sim.random() * 1000);
    const wait = new Promise<void>((resolve) => { sim.schedule(resolve, Math.floor(sim.random() * 20)); });
    const answer = (async () => {
      await wait;
      await client.write(`ADD ${a} ${b}\n`);
      return decoder.decode(await client.readUntil('\n')).trimEnd();
    })();
    await sim.run(10_000);
    trace.push(`t=${sim.now} ADD ${a} ${b} -> ${await answer}`);
  }
  void client.write('QUIT\n');
  await sim.run(10_000);
  await served;
  return trace;
}

test('example: the sum protocol on SimLoop (random chunking, latency) answers every request, for 30 seeds', async (t) => {
  for (let seed = 1; seed <= 30; seed++) {
    const sums = await simulate(seed);
    if (JSON.stringify(sums) !== JSON.stringify(SUMS)) t.fail(`seed ${seed}: wrong answers ${JSON.stringify(sums)} (replay: simulate(${seed}))`);
  }
  t.pass('30 seeds');
});

test('example: a seed replays its SimLoop run exactly; another seed gives another run', async (t) => {
  const first = await simulateTrace(7);
  t.equal(first.length, 8, `seed 7: ${first.join('; ')}`);
  t.ok(first.every((line) => { const m = /ADD (\d+) (\d+) -> SUM (\d+)$/.exec(line); return m !== null && Number(m[1]) + Number(m[2]) === Number(m[3]); }), 'every answer is the sum');
  t.deepEqual(await simulateTrace(7), first, 'seed 7 again: the same trace, virtual times included');
  t.notDeepEqual(await simulateTrace(8), first, 'seed 8: another trace');
});
