/**
 * `sansio-iostream/conformance`: the behavioural suite every driver passes, parametrized by a
 * factory of connected pairs. Register it with any tape-compatible `test` function:
 *
 * ```ts
 * import test from 'tape';
 * import { runConformance } from 'sansio-iostream/conformance';
 * runConformance(test, { name: 'my-driver', makePair: async (opts) => myPair(opts) });
 * ```
 *
 * Every behaviour becomes one test named `${name}: <behaviour>`. Behaviours a driver declares
 * it cannot do (see {@link Capabilities}) are registered as `${name}: <behaviour> # SKIP <reason>`
 * with no assertion, so they show in the log but count neither as pass nor fail. A last test
 * comments a per-driver summary. Nothing here imports tape or Node: it runs on any runtime.
 * @module sansio-iostream/conformance
 */
import type { AnyStream, Assertions, Capabilities, Case, ConformanceOptions, TestFunction } from './types.js';
import { readCases } from './reads.js';
import { closeCases } from './close.js';
import { closeWriteCases } from './close-writes.js';
import { limitCases } from './limits.js';
import { flowCases } from './flow.js';
import { heldCases } from './held.js';
import { recordCases } from './records.js';
import { eachCases } from './each.js';
import { turns, within } from './util.js';
import { invalidArgType, outOfRange } from '../core/errors.js';
import { driverContractViolations, setDriverContractChecks } from '../drivers/facade/contract-check.js';

export type { AnyStream, Assertions, Capabilities, Case, CaseContext, ConformanceOptions, MakePair, TestFunction } from './types.js';

/** Defaults for {@link Capabilities}: a full-duplex transport with clean EOF and no size limit. */
export const DEFAULT_CAPABILITIES: Readonly<Required<Capabilities>> = Object.freeze({
  bidirectional: true,
  peerEof: true,
  maxTransfer: 16 * 1024 * 1024,
});

/** Every case of the suite for a driver whose transfers are limited to `maxTransfer` bytes. */
export function conformanceCases(maxTransfer = DEFAULT_CAPABILITIES.maxTransfer): Case[] {
  return [...readCases, ...recordCases, ...eachCases, ...closeCases, ...closeWriteCases(maxTransfer), ...limitCases, ...flowCases(maxTransfer), ...heldCases];
}

/** Wraps `t` to count failed assertions (the summary needs them; tape does not expose them). */
function counting(t: Assertions): { t: Assertions; failures(): number } {
  let failed = 0;
  const track = (ok: boolean): void => { if (!ok) failed++; };
  const wrapped: Assertions = {
    ok: (v, m) => { track(Boolean(v)); t.ok(v, m); },
    equal: (x, y, m) => { track(x === y); t.equal(x, y, m); },
    deepEqual: (x, y, m) => { track(JSON.stringify(x) === JSON.stringify(y)); t.deepEqual(x, y, m); },
    fail: (m) => { failed++; t.fail(m); },
    pass: (m) => { t.pass(m); },
    comment: (m) => { t.comment(m); },
  };
  return { t: wrapped, failures: () => failed };
}

function checkOptions(test: unknown, options: ConformanceOptions): Required<Capabilities> {
  if (typeof test !== 'function') throw invalidArgType('runConformance: test must be a tape-compatible test function');
  if (typeof options !== 'object' || options === null) throw invalidArgType('runConformance: options must be an object');
  if (typeof options.name !== 'string' || options.name === '') throw invalidArgType('runConformance: name must be a non-empty string');
  if (typeof options.makePair !== 'function') throw invalidArgType('runConformance: makePair must be a function');
  const caps = { ...DEFAULT_CAPABILITIES, ...options.capabilities };
  if (!Number.isSafeInteger(caps.maxTransfer) || caps.maxTransfer < 1) {
    throw outOfRange(`runConformance: capabilities.maxTransfer must be a positive integer, got ${String(caps.maxTransfer)}`);
  }
  return caps;
}

/**
 * Ends a test: closes its streams (a driver whose `close()` throws fails the test, it does not
 * crash the run), lets the closes play out, then fails the test once per driver-contract rule
 * any of its streams broke.
 */
async function closeAndCheck(t: Assertions, streams: readonly AnyStream[], checkContract: boolean): Promise<void> {
  for (const s of streams) {
    try {
      s.close();
    } catch (err) {
      t.fail(`closing the stream threw ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)} (Transport.close must not throw)`);
    }
  }
  if (!checkContract) return;
  await turns(2);
  for (const s of streams) {
    for (const v of driverContractViolations(s)) t.fail(`${v.code}: ${v.message}`);
  }
}

/**
 * Registers the conformance suite for one driver on `test`.
 *
 * @param test - a tape-compatible `test(name, fn)`; bodies return promises.
 * @param options - `name` (test name prefix), `makePair` (a connected pair, optionally built with
 *   stream options), `capabilities` (what the driver cannot do), `timeoutMs` (per test, default 15000),
 *   `checkDriverContract` (the facade's driver-contract checks, default on).
 */
export function runConformance(test: TestFunction, options: ConformanceOptions): void {
  const caps = checkOptions(test, options);
  const { name, makePair } = options;
  const timeoutMs = options.timeoutMs ?? 15_000;
  const checkContract = options.checkDriverContract !== false;
  const stats = { ran: 0, passed: 0, failed: 0, skipped: [] as string[] };

  for (const c of conformanceCases(caps.maxTransfer)) {
    const reason = c.skip?.(caps) ?? null;
    const title = `${name}: ${c.behaviour}`;
    if (reason !== null) {
      stats.skipped.push(`${c.behaviour} (${reason})`);
      test(`${title} # SKIP ${reason}`, async (t) => { t.comment(`skipped: ${reason}`); });
      continue;
    }
    test(title, async (raw) => {
      const { t, failures } = counting(raw);
      const streams: AnyStream[] = [];
      stats.ran++;
      let threw = false;
      const wasChecking = setDriverContractChecks(checkContract);
      try {
        await within(c.run({
          t,
          caps,
          pair: async (streamOptions) => {
            const p = await within(makePair(streamOptions), timeoutMs, `${name}: makePair`);
            streams.push(p[0], p[1]);
            return p;
          },
        }), timeoutMs, title);
      } catch (err) {
        threw = true;
        throw err;
      } finally {
        setDriverContractChecks(wasChecking);
        await closeAndCheck(t, streams, checkContract);
        if (threw || failures() > 0) stats.failed++;
        else stats.passed++;
      }
    });
  }

  test(`${name}: conformance summary`, async (t) => {
    t.comment(`${name} conformance: ${stats.passed}/${stats.ran} behaviours passed, ${stats.failed} failed, `
      + `${stats.skipped.length} skipped`);
    for (const s of stats.skipped) t.comment(`${name} skipped: ${s}`);
  });
}
