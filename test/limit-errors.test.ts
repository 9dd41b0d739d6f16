/**
 * What the README's option table and error table promise about the limit errors: a `maxBytes`
 * overrun rejects the read with `StreamClosedError` whose `realError` is the
 * `UnsatisfiableReadError` (so `instanceof UnsatisfiableReadError` on the rejection never
 * matches: the catch shown in the README tests `realError`), and a `StreamBufferFullError`
 * carries `option`, `limit` and `bytes` for both limits.
 */
import { test } from './_support/harness.js';
import { StreamBufferFullError, StreamClosedError, UnsatisfiableReadError, memoryPair } from '../drivers/index.js';

test('limits: a maxBytes overrun rejects with StreamClosedError whose realError is the UnsatisfiableReadError (the README\'s catch)', async (t) => {
  const [a, b] = memoryPair();
  await a.write('no newline in these twenty bytes');
  const err = await b.readUntil('\n', { maxBytes: 16 }).then(() => null, (e: unknown) => e);
  t.ok(err instanceof StreamClosedError, 'the read rejects with StreamClosedError');
  t.notOk(err instanceof UnsatisfiableReadError, 'not with the UnsatisfiableReadError itself');
  // The catch the README shows:
  let caught = '';
  if (err instanceof StreamClosedError && err.realError instanceof UnsatisfiableReadError) caught = err.realError.code;
  t.equal(caught, 'ERR_UNSATISFIABLE_READ', 'e.realError instanceof UnsatisfiableReadError matches');
  t.equal(b.error, (err as StreamClosedError).realError, 'the stream is closed with it');
  a.close();
});

test('limits: StreamBufferFullError says which limit, its value and the bytes (reads and writes)', async (t) => {
  const [a, b] = memoryPair({ maxBufferSize: 100, maxWriteBufferSize: 50 });
  const w = await a.write(new Uint8Array(60)).then(() => null, (e: unknown) => e);
  t.ok(w instanceof StreamBufferFullError, 'a write past maxWriteBufferSize rejects with StreamBufferFullError');
  const we = w as StreamBufferFullError;
  t.deepEqual([we.option, we.limit, we.bytes], ['maxWriteBufferSize', 50, 60], 'option, limit, bytes (unflushed + this write)');
  t.equal(a.closed(), false, 'the stream stays open');

  const r = await b.readBytes(150).then(() => null, (e: unknown) => e);
  const re = (r as StreamClosedError).realError as StreamBufferFullError;
  t.ok(re instanceof StreamBufferFullError, 'readBytes(150) over maxBufferSize 100 closes with StreamBufferFullError');
  t.deepEqual([re.option, re.limit, re.bytes], ['maxBufferSize', 100, 150], 'option, limit, bytes the read needed');

  const [c, d] = memoryPair({ maxBufferSize: 100 });
  await c.write(new Uint8Array(120));
  const u = await d.readUntil('\n').then(() => null, (e: unknown) => e);
  const ue = (u as StreamClosedError).realError as StreamBufferFullError;
  t.equal(ue.option, 'maxBufferSize', 'a readUntil whose delimiter does not come within maxBufferSize');
  t.equal(ue.limit, 100);
  t.ok((ue.bytes ?? 0) > 100, `bytes buffered (${String(ue.bytes)}) is past the limit`);
  t.equal(new StreamBufferFullError().limit, undefined, 'made by hand without details: undefined');
  for (const s of [a, b, c, d]) s.close();
});
