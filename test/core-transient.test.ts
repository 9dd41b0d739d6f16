/**
 * `StreamCore.receiveTransient`: bytes in memory the driver reuses, valid only during the call.
 * What the core keeps it copies — straight into a pending `readInto` target, where there is one,
 * without allocating; into a new array otherwise — and a `readInto` that ends without completing
 * gives back the bytes it took. (Every core test also runs with a transient chunking: see
 * `chunkings()` in `_support/core-driver.ts`.)
 */
import { StreamCore, type Action } from '../core/index.js';
import { test } from './_support/harness.js';
import { latin1 } from './_support/core-driver.js';

/** A core whose allocations are counted, and a reused receive buffer overwritten after each delivery. */
function rig(options: { readChunkSize?: number; maxBufferSize?: number } = {}) {
  const allocs: number[] = [];
  const core = new StreamCore({ ...options, alloc: (n) => { allocs.push(n); return new Uint8Array(n); } });
  const scratch = new Uint8Array(1024);
  const actions: Action[] = [];
  const drain = (): void => { for (let a = core.nextAction(); a !== undefined; a = core.nextAction()) actions.push(a); };
  const deliver = (s: string): void => {
    const view = scratch.subarray(0, s.length);
    for (let i = 0; i < s.length; i++) view[i] = s.charCodeAt(i);
    core.receiveTransient(view);
    view.fill(0x23); // '#': a result that kept the view shows it
    drain();
  };
  const settled = (id: number): { value?: Uint8Array | number; error?: Error } | undefined =>
    actions.find((a): a is Extract<Action, { type: 'resolve-request' }> => a.type === 'resolve-request' && a.id === id);
  drain();
  return { core, allocs, deliver, drain, settled, actions };
}

test('receiveTransient: a pending readInto is filled straight from the view, nothing allocated', async (t) => {
  const r = rig();
  const buf = new Uint8Array(8);
  const id = r.core.readInto(buf, { partial: true });
  r.deliver('abc');
  t.equal(r.settled(id)?.value, 3, 'partial readInto resolves with the 3 bytes');
  t.equal(latin1(buf.subarray(0, 3)), 'abc', 'they are in the target');
  t.deepEqual(r.allocs, [], 'no array was allocated');
  const full = r.core.readInto(buf);
  r.deliver('defg');
  r.deliver('hij');
  r.deliver('klmnop');
  t.equal(r.settled(full)?.value, 8, 'non-partial readInto completes across three deliveries');
  t.equal(latin1(buf), 'defghijk', 'in order');
  t.deepEqual(r.allocs, [5], 'only what did not fit was copied into a new array (5 bytes, once)');
  t.equal(r.core.readBufferSize, 5);
  const rest = r.core.tryReadBytes(5);
  t.equal(rest !== undefined ? latin1(rest) : '', 'lmnop', 'the rest is buffered, intact after the view was overwritten');
});

test('receiveTransient: every other read gets a copy that later deliveries do not touch', async (t) => {
  const r = rig();
  const a = r.core.readUntil('\n');
  r.deliver('line one\nline');
  const first = r.settled(a)?.value as Uint8Array;
  r.deliver(' two\n');
  t.equal(latin1(first), 'line one\n', 'readUntil result intact after the buffer was reused twice');
  const b = r.core.readBytes(9);
  r.drain();
  t.equal(latin1(r.settled(b)?.value as Uint8Array), 'line two\n', 'a result across two deliveries');
  const s = r.core.readUntilClose({ streaming: true });
  r.deliver('xyz');
  const chunk = r.actions.find((x) => x.type === 'stream-chunk');
  r.deliver('!!!');
  t.equal(chunk?.type === 'stream-chunk' ? latin1(chunk.data) : '', 'xyz', 'a streaming chunk is a copy too');
  r.core.receiveEof();
  r.drain();
  t.ok(r.settled(s) !== undefined, 'the streaming read ends at EOF');
});

test('receiveTransient: a readInto that is cancelled, closed or fails gives back the bytes it took', async (t) => {
  for (const how of ['cancel', 'eof', 'error'] as const) {
    const r = rig();
    const buf = new Uint8Array(10);
    const id = r.core.readInto(buf);
    r.deliver('0123');
    r.deliver('45');
    t.equal(r.core.readBufferSize, 6, `${how}: the 6 bytes in the target count as buffered`);
    if (how === 'cancel') t.ok(r.core.cancel(id), 'cancelled');
    else if (how === 'eof') r.core.receiveEof();
    else r.core.receiveError(new Error('reset'));
    r.drain();
    if (how !== 'cancel') t.equal(r.settled(id)?.error?.name, 'StreamClosedError', `${how}: the readInto rejects`);
    t.equal(r.core.readBufferSize, 6, `${how}: the bytes are back in the buffer`);
    const again = r.core.tryReadBytes(6);
    t.equal(again !== undefined ? latin1(again) : '', '012345', `${how}: a later read gets them, in order`);
  }
  const r = rig();
  const buf = new Uint8Array(6);
  const id = r.core.readInto(buf);
  r.deliver('ab');
  r.core.receiveTransient(new Uint8Array(0));
  r.drain();
  t.equal(r.core.readBufferSize, 2, 'an empty view changes nothing');
  t.throws(() => r.core.receiveTransient('x' as unknown as Uint8Array), TypeError, 'a string is a TypeError');
  r.core.close();
  r.drain();
  r.deliver('cd');
  t.equal(r.core.readBufferSize, 2, 'after close a delivery is ignored');
  t.equal(r.settled(id)?.error?.name, 'StreamClosedError');
});

test('receive (kept chunks): a non-partial readInto also fills as bytes come and gives them back when aborted', async (t) => {
  const core = new StreamCore();
  const buf = new Uint8Array(5);
  const id = core.readInto(buf);
  core.receive(Uint8Array.of(1, 2));
  core.receive(Uint8Array.of(3));
  t.equal(core.readBufferSize, 3, 'three bytes held');
  t.ok(core.cancel(id));
  t.deepEqual([...(core.tryReadBytes(3) ?? [])], [1, 2, 3], 'given back in order');
});
