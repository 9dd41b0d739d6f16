import tape from 'tape';
import {
  test,
  makeTest,
  seededRandom,
  withTimeout,
  recordError,
  takeRecordedErrors,
  peekRecordedErrors,
  nextImmediate,
  describeError,
} from './_support/harness.js';

test('seededRandom is deterministic and in [0, 1)', (t) => {
  const a = seededRandom(42);
  const b = seededRandom(42);
  const c = seededRandom(43);
  const xs = Array.from({ length: 1000 }, () => a());
  const ys = Array.from({ length: 1000 }, () => b());
  const zs = Array.from({ length: 1000 }, () => c());
  t.deepEqual(xs, ys, 'same seed, same sequence');
  t.notDeepEqual(xs, zs, 'different seed, different sequence');
  t.ok(xs.every((x) => x >= 0 && x < 1), 'all values in [0, 1)');
  t.ok(new Set(xs).size > 990, 'values are spread out');
  t.end();
});

test('withTimeout resolves, and rejects with the label on timeout', async (t) => {
  t.equal(await withTimeout(Promise.resolve(7), 1000, 'fast'), 7);
  try {
    await withTimeout(new Promise(() => {}), 10, 'never');
    t.fail('should have timed out');
  } catch (err) {
    t.equal(describeError(err), 'Error: never timed out after 10 ms');
  }
});

test('recorder: recordError / takeRecordedErrors', (t) => {
  const err = new Error('recorded by hand');
  recordError('unhandledRejection', err);
  t.equal(peekRecordedErrors().length, 1, 'peek sees it');
  const taken = takeRecordedErrors();
  t.equal(taken.length, 1);
  t.equal(taken[0]?.error, err);
  t.equal(peekRecordedErrors().length, 0, 'take clears the list');
  t.end();
});

test('guard records a real unhandled rejection and uncaught exception', async (t) => {
  void Promise.reject(new Error('boom-rejection'));
  setImmediate(() => {
    throw new Error('boom-exception');
  });
  await nextImmediate();
  await nextImmediate();
  const taken = takeRecordedErrors(); // cleared, so this test itself stays green
  t.deepEqual(
    taken.map((r) => `${r.kind} ${describeError(r.error)}`).sort(),
    ['uncaughtException Error: boom-exception', 'unhandledRejection Error: boom-rejection'],
  );
});

test('wrapper fails the test during which an error leaked (nested harness)', async (t) => {
  const inner = tape.createHarness();
  const innerTest = makeTest(inner);
  let tap = '';
  inner.createStream().on('data', (chunk: unknown) => {
    tap += String(chunk);
  });
  const finished = new Promise<void>((resolve) => inner.onFinish(() => resolve()));

  innerTest('async leak', async (it) => {
    void Promise.reject(new Error('async-leak'));
    it.pass('body ran');
  });
  innerTest('callback-style leak', (it) => {
    setImmediate(() => {
      throw new Error('cb-leak');
    });
    it.pass('body ran');
    it.end();
  });
  innerTest('clean', { timeout: 1000 }, async (it) => {
    await nextImmediate();
    it.pass('body ran');
  });

  await withTimeout(finished, 5000, 'inner harness');
  // t.ok(re.test(...)) rather than t.match, which would print the whole inner TAP text.
  // On failure the inner TAP is shown as one JSON string, so its own "# pass"/"# fail" lines
  // can't be mistaken for the outer summary (.ci/run sums those lines).
  const has = (re: RegExp, msg: string) => {
    const ok = re.test(tap);
    t.ok(ok, msg);
    if (!ok) t.comment(`inner TAP: ${JSON.stringify(tap)}`);
  };
  has(/not ok \d+ unhandledRejection during this test: Error: async-leak\n/, 'async leak fails its test');
  has(/not ok \d+ uncaughtException during this test: Error: cb-leak\n/, 'callback-style leak fails its test');
  has(/# pass {2}3\n/, 'the three bodies passed');
  has(/# fail {2}2\n/, 'only the two leaks failed');
  t.equal(peekRecordedErrors().length, 0, 'nothing left over');
});
