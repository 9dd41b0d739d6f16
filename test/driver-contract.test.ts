/**
 * The facade's driver-contract checker (drivers/facade/contract-check.ts), rule by rule, with a
 * hand-driven transport: each broken rule is reported as `ERR_DRIVER_CONTRACT` naming it and
 * closes the open stream with that error; what the contract allows (a few bytes in flight after
 * pause()/close(), written() after a clean close, nothing judged after an error close) is not
 * reported; and with the checks off the facade uses the driver's transport and the plain sink
 * as they are (nothing added on the hot path).
 */
import { test } from './_support/harness.js';
import { BaseIOStream } from '../drivers/facade/base-iostream.js';
import {
  DriverContractError, IN_FLIGHT_BYTES, driverContractViolations, setDriverContractChecks,
} from '../drivers/facade/contract-check.js';
import { FacadeSink } from '../drivers/facade/facade-sink.js';
import type { Transport, TransportSink } from '../drivers/facade/transport.js';
import type { StreamOptions } from '../core/options.js';

/** A transport that only records the facade's calls; the test plays the driver through `sink`. */
class ScriptedTransport implements Transport {
  readonly calls: string[] = [];
  onWrite: ((byteLength: number) => void) | null = null;
  resume(): void { this.calls.push('resume'); }
  pause(): void { this.calls.push('pause'); }
  write(_chunks: readonly Uint8Array[], byteLength: number): void {
    this.calls.push(`write ${byteLength}`);
    this.onWrite?.(byteLength);
  }
  close(error: Error | null): void { this.calls.push(error === null ? 'close' : 'close error'); }
}

class ScriptedStream extends BaseIOStream {
  readonly scripted = new ScriptedTransport();
  readonly driverSink: TransportSink;
  readonly attachedSink: TransportSink;
  constructor(options: StreamOptions = {}) {
    super(options);
    this.driverSink = this.sink; // the sink exists before any transport
    this.attachedSink = this.attachTransport(this.scripted);
  }
  /** What the facade calls (the checker's wrapper while checks are on). */
  get facadeTransport(): unknown { return (this as unknown as { transport: unknown }).transport; }
}

/** A stream made with the checks on (they are restored after). */
function checked(options?: StreamOptions): ScriptedStream {
  const was = setDriverContractChecks(true);
  try {
    return new ScriptedStream(options);
  } finally {
    setDriverContractChecks(was);
  }
}

const rules = (s: object): string[] => driverContractViolations(s).map((v) => v.rule);

test('driver contract: checks off (the default): the transport and the plain sink are used as they are', (t) => {
  const s = new ScriptedStream();
  t.equal(s.facadeTransport, s.scripted, 'the facade calls the driver\'s transport object itself');
  t.equal(Object.getPrototypeOf(s.driverSink), FacadeSink.prototype, 'the sink is the plain FacadeSink');
  t.equal(s.attachedSink, s.driverSink, 'attachTransport returns the sink the stream had from its constructor');
  s.scripted.onWrite = (n) => { s.driverSink.written(n); };
  void s.write('x');
  t.deepEqual(rules(s), [], 'nothing is judged');
  s.close();
  t.end();
});

test('driver contract: written() inside write() is ERR_DRIVER_CONTRACT written-inside-write and closes the stream', async (t) => {
  const s = checked();
  t.notEqual(s.facadeTransport, s.scripted, 'checks on: the facade calls a checking wrapper');
  s.scripted.onWrite = (n) => { s.driverSink.written(n); };
  const w = s.write('hello');
  const err = await w.then(() => null, (e: unknown) => e as { realError?: unknown });
  t.ok(err !== null, 'the write rejects');
  const real = err?.realError;
  t.ok(real instanceof DriverContractError, 'realError is a DriverContractError');
  t.equal((real as DriverContractError).code, 'ERR_DRIVER_CONTRACT');
  t.equal((real as DriverContractError).rule, 'written-inside-write');
  t.equal(s.error, real, 'the stream is closed with it');
  t.deepEqual(rules(s), ['written-inside-write']);
});

test('driver contract: more confirmed than written is written-beyond-write', (t) => {
  const s = checked();
  void s.write('abc').catch(() => {});
  s.driverSink.written(3);
  t.deepEqual(rules(s), [], 'confirming what was handed over is fine');
  s.driverSink.written(1);
  t.deepEqual(rules(s), ['written-beyond-write']);
  t.ok(/confirmed 4 bytes, write\(\) handed over only 3/.test(driverContractViolations(s)[0]?.message ?? ''), 'the message says how many');
  t.equal(s.closed(), true);
  t.end();
});

test('driver contract: delivery after pause(): up to IN_FLIGHT_BYTES tolerated, more is receive-while-paused', (t) => {
  const s = checked({ readChunkSize: 1024 });
  t.ok(s.scripted.calls.includes('resume'), 'read-ahead resumed the transport');
  s.driverSink.receive(new Uint8Array(1024));
  t.equal(s.scripted.calls.at(-1), 'pause', 'the facade paused at readChunkSize');
  s.driverSink.receive(new Uint8Array(IN_FLIGHT_BYTES));
  t.deepEqual(rules(s), [], `${IN_FLIGHT_BYTES} bytes in flight after pause() are tolerated`);
  t.equal(s.readableLength, 1024 + IN_FLIGHT_BYTES, 'and buffered');
  s.driverSink.receive(new Uint8Array(1));
  t.deepEqual(rules(s), ['receive-while-paused']);
  t.equal((s.error as DriverContractError | null)?.rule, 'receive-while-paused', 'the stream is closed with it');
  t.end();
});

test('driver contract: a resume() that delivers synchronously is allowed (the facade is re-entrant)', async (t) => {
  const was = setDriverContractChecks(true);
  const payload = new TextEncoder().encode('line one\nline two\n');
  class SyncDriver extends BaseIOStream {
    constructor() {
      super();
      const sink = this.sink;
      let pending: Uint8Array | null = payload;
      this.attachTransport({
        resume: () => { const p = pending; pending = null; if (p !== null) sink.receive(p); },
        pause: () => {}, write: () => {}, close: () => {},
      });
    }
  }
  try {
    const s = new SyncDriver();
    t.equal(new TextDecoder().decode(await s.readUntil('\n')), 'line one\n');
    t.equal(new TextDecoder().decode(await s.readUntil('\n')), 'line two\n');
    t.deepEqual(rules(s), []);
    s.close();
  } finally {
    setDriverContractChecks(was);
  }
});

test('driver contract: after close(): in-flight bytes tolerated, more is receive-after-close; written() still counted after a clean close, nothing judged after an error close', (t) => {
  const clean = checked();
  void clean.write('abcd').catch(() => {});
  clean.close();
  t.ok(clean.scripted.calls.includes('close'), 'clean close reached the transport');
  clean.driverSink.written(4);
  t.deepEqual(rules(clean), [], 'written() for what was handed over, after a clean close: expected (the transport flushes)');
  clean.driverSink.receive(new Uint8Array(IN_FLIGHT_BYTES));
  t.deepEqual(rules(clean), [], 'in-flight bytes after close() tolerated');
  clean.driverSink.receive(new Uint8Array(1));
  t.deepEqual(rules(clean), ['receive-after-close']);
  t.equal(clean.error, null, 'a closed stream is not closed again: its error stays');

  const failed = checked();
  void failed.write('abcd').catch(() => {});
  failed.close(new Error('boom'));
  t.ok(failed.scripted.calls.includes('close error'));
  failed.driverSink.written(99);
  t.deepEqual(rules(failed), [], 'after an error close written() is ignored, whatever it says');
  t.end();
});

test('driver contract: a Transport method that throws is transport-threw, caught, not thrown at the caller', (t) => {
  const s = checked();
  s.scripted.close = (): void => { throw new Error('close failed'); };
  s.close();
  t.deepEqual(rules(s), ['transport-threw'], 'close() did not throw at the user; the violation is kept');
  t.ok(/transport\.close\(\) threw Error: close failed/.test(driverContractViolations(s)[0]?.message ?? ''));
  t.end();
});
