/**
 * What every runtime and the browser run, with nothing but the package's node-free entry points:
 * the conformance suite over memory pairs (three chunkings), over WebIOStreams joined by
 * in-memory TransformStreams, and over the driver guide's MessageChannel driver (examples/,
 * built from `sansio-iostream/facade` alone). Imports name the source entry points (for the type checker); the
 * bundler maps each one onto the packed package's subpath (see build.ts), so what runs is the
 * tarball.
 */
import { runConformance } from '../../conformance/index.js';
import type { TestFunction } from '../../conformance/index.js';
import { memoryPair } from '../../drivers/memory/index.js';
import { transformPair } from '../_support/transform-pair.js';
import { portPair, type PortLike } from '../../examples/message-port-driver.js';
import { Suite, type RtEvent } from './mini-tape.js';

/** Seed of the random chunking, fixed so a failure can be replayed (as in test/conformance.test.ts). */
export const SEED = 20261125;

/** The checks of {@link addCommonChecks}, in order. */
export const COMMON_CHECKS = ['runner/self-test', 'memory/whole', 'memory/byte', 'memory/random', 'web/transform', 'example/MessageChannel'] as const;

/** What the runner must make of each test of {@link selfTest}. */
const SELF_TEST_EXPECTED: Record<string, 'pass' | 'fail' | 'skip'> = {
  'passes': 'pass',
  'fails an assertion': 'fail',
  'deepEqual is strict': 'fail',
  'throws': 'fail',
  'leaves an unhandled rejection': 'fail',
  'hangs': 'fail',
  'is skipped # SKIP on purpose': 'skip',
};

/**
 * The runner, on this runtime, fails what must fail: a false assertion, a strict-deepEqual
 * mismatch, a throw, an unhandled rejection, a hung test (bounded at 300 ms here). Without this
 * a runtime whose runner silently passed everything would look green.
 */
async function selfTest(t: Parameters<Parameters<TestFunction>[1]>[0]): Promise<void> {
  const events: RtEvent[] = [];
  const inner = new Suite((e) => { events.push(e); }, 300);
  inner.check('self', (test) => {
    test('passes', async (u) => {
      u.ok(true);
      u.equal('a', 'a');
      u.deepEqual([1, { a: new Uint8Array([1, 2]) }], [1, { a: new Uint8Array([1, 2]) }]);
    });
    test('fails an assertion', async (u) => { u.equal(1, 2); });
    test('deepEqual is strict', async (u) => { u.deepEqual([1], ['1']); });
    test('throws', async () => { throw new Error('thrown on purpose'); });
    test('leaves an unhandled rejection', async () => { void Promise.reject(new Error('unhandled on purpose')); });
    test('hangs', () => new Promise<void>(() => {}));
    test('is skipped # SKIP on purpose', async (u) => { u.comment('skipped'); });
  });
  const failed = await inner.run();
  const got: Record<string, string> = {};
  for (const e of events) if (e.type === 'result') got[e.name] = e.status;
  t.deepEqual(got, SELF_TEST_EXPECTED, 'each test judged as it must be');
  t.equal(failed, 5, 'run() counts the 5 failures');
  t.ok(events.at(-1)?.type === 'done', 'the run ends with done');
}

/** Adds {@link COMMON_CHECKS} to `suite`. */
export function addCommonChecks(suite: Suite): void {
  suite.check('runner/self-test', (test) => { test('runner: fails what must fail', selfTest); });
  for (const chunking of ['whole', 'byte', 'random'] as const) {
    suite.check(`memory/${chunking}`, (test) => {
      runConformance(test, {
        name: chunking === 'random' ? `memory/random seed=${SEED}` : `memory/${chunking}`,
        makePair: async (options) => memoryPair({ ...options, chunking, seed: SEED }),
        // One delivery per byte: the full 16 MiB each way would take minutes, not behaviour.
        capabilities: chunking === 'byte' ? { maxTransfer: 1 << 20 } : {},
      });
    });
  }
  suite.check('web/transform', (test) => {
    runConformance(test, { name: 'web/transform', makePair: async (options) => transformPair(options) });
  });
  // docs/DRIVERS.md's worked example: a driver built from sansio-iostream/facade alone, over the
  // runtime's own MessageChannel.
  suite.check('example/MessageChannel', (test) => {
    const Channel = (globalThis as unknown as { MessageChannel: new () => { port1: PortLike; port2: PortLike } }).MessageChannel;
    runConformance(test, { name: 'example/MessageChannel', makePair: async (options) => portPair(new Channel(), options) });
  });
}
