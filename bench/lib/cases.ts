/**
 * The cases of one bench run: which workload, which peer, which figure, and how to run it
 * once. Sizes come from {@link sizesFor} (`--quick` scales them down).
 */
import type { ChildResult, Workload } from './params.js';
import { MiB } from './params.js';
import type { PeerName } from './peers.js';

export interface Sizes {
  w1Bytes: number; w2Lines: number; w3Trips: number;
  w4Small: number; w4Big: number; w4SlowBytes: number; w6Conns: number;
}

export function sizesFor(quick: boolean): Sizes {
  return quick
    ? { w1Bytes: 64 * MiB, w2Lines: 250_000, w3Trips: 5_000, w4Small: 4 * MiB, w4Big: 16 * MiB, w4SlowBytes: 8 * MiB, w6Conns: 1000 }
    : { w1Bytes: 256 * MiB, w2Lines: 1_000_000, w3Trips: 50_000, w4Small: 16 * MiB, w4Big: 64 * MiB, w4SlowBytes: 64 * MiB, w6Conns: 10_000 };
}

/** A socket case: a receiver peer doing `workload` against the shared sender. */
export interface SocketCase {
  kind: 'socket';
  id: string;
  group: string;
  label: string;
  peer: PeerName;
  workload: Workload;
  bytes: number;
  count: number;
  unit: string;
  /** The figure from one run (higher is better unless `lower`). */
  metric: (r: ChildResult) => number;
  lower?: boolean;
  /** Report peak RSS above the peer's idle baseline. */
  rss?: boolean;
}

/** A core-only (W5) case, run in its own process. */
export interface CoreCase {
  kind: 'w5';
  id: string;
  group: string;
  label: string;
  peer: 'ours-core' | 'indexOf loop' | 'indexOf locate';
  params: { case: 'w1' | 'w2' | 'w4'; impl: 'core' | 'loop' | 'locate'; bytes: number; count: number; minMs: number };
  unit: string;
  metric: (r: ChildResult) => number;
}

export type Case = SocketCase | CoreCase;

const mibps = (bytes: number) => (r: ChildResult): number => bytes / MiB / r.seconds;
const perSec = (n: number) => (r: ChildResult): number => n / r.seconds;
const seconds = (r: ChildResult): number => r.seconds;
const cpu = (r: ChildResult): number => r.cpuSeconds;

export function buildCases(s: Sizes): Case[] {
  const cases: Case[] = [];
  const sock = (group: string, label: string, peer: PeerName, workload: Workload, extra: Partial<SocketCase> & Pick<SocketCase, 'unit' | 'metric'>): void => {
    const into = workload === 'w1into' || workload === 'w1cinto' ? (peer === 'raw' ? '-onread' : '-readInto') : '';
    const suffix = workload === 'w2cb' ? '-cb' : workload === 'w2sub' ? '-subarray' : workload === 'w2iter' ? '-iter' : workload === 'w2push' ? '-push' : workload === 'w2each' ? '-each' : into;
    cases.push({ kind: 'socket', id: `${group}/${peer}${suffix}`, group, label, peer, workload, bytes: 0, count: 0, ...extra });
  };
  // W1 twice: the receiver accepts (server side, today's W1) and the receiver connects (client
  // side: the socket is the stream's own, made with onread). Each with readBytes(64K, partial)
  // and readInto one reused 64K buffer; raw as 'data' and as onread into one reused buffer.
  const bulk = { bytes: s.w1Bytes, unit: 'MiB/s', metric: mibps(s.w1Bytes), rss: true };
  const sides = [['W1', 'accepts', 'w1', 'w1into'], ['W1-client', 'connects', 'w1c', 'w1cinto']] as const;
  for (const [group, who, bytesLoop, intoLoop] of sides) {
    const label = `W1 bulk ${s.w1Bytes / MiB} MiB, receiver ${who}: readBytes(64K, partial); -readInto: readInto(one 64K buffer, partial)`;
    sock(group, label, 'ours', bytesLoop, bulk);
    sock(group, label, 'ours', intoLoop, bulk);
    sock(group, label, 'raw', bytesLoop, bulk);
    sock(group, label, 'raw', intoLoop, bulk);
    sock(group, label, 'floor', intoLoop, bulk);
    if (group === 'W1') for (const peer of ['promise-socket', 'it-byte-stream'] as const) sock(group, label, peer, bytesLoop, bulk);
    sock(group, label, 'tornado', bytesLoop, bulk);
    sock(group, label, 'tornado', intoLoop, bulk);
  }
  const w2 = `W2 ${s.w2Lines / 1000}k lines of 32 B + CRLF, readUntil per line`;
  const lines = { count: s.w2Lines, unit: 'lines/s', metric: perSec(s.w2Lines) };
  sock('W2', w2, 'ours', 'w2', lines);
  sock('W2', w2, 'ours', 'w2cb', lines);
  sock('W2', w2, 'ours', 'w2iter', lines);
  sock('W2', w2, 'ours', 'w2each', lines);
  sock('W2', w2, 'raw', 'w2', lines);
  sock('W2', w2, 'raw', 'w2sub', lines);
  sock('W2', w2, 'floor', 'w2', lines);
  sock('W2', w2, 'floor', 'w2cb', lines);
  sock('W2', w2, 'floor', 'w2iter', lines);
  sock('W2', w2, 'floor', 'w2push', lines);
  sock('W2', w2, 'readline', 'w2', lines);
  sock('W2', w2, 'readline', 'w2cb', lines);
  sock('W2', w2, 'tornado', 'w2', lines);
  const w3 = `W3 ping-pong ${s.w3Trips / 1000}k × 16 B`;
  for (const peer of ['ours', 'raw', 'promise-socket', 'it-byte-stream', 'tornado'] as const) {
    sock('W3', w3, peer, 'w3', { count: s.w3Trips, unit: 'trips/s', metric: perSec(s.w3Trips) });
  }
  for (const [group, size] of [['W4-small', s.w4Small], ['W4-big', s.w4Big]] as const) {
    const label = `W4 one ${size / MiB} MiB message, readUntil(CRLFCRLF)`;
    for (const peer of ['ours', 'raw', 'tornado'] as const) {
      sock(group, label, peer, 'w4', { bytes: size, unit: 's', metric: seconds, lower: true, rss: true });
    }
  }
  const slow = `W4-slow ${s.w4SlowBytes / MiB} MiB, 1 ms between 64 KiB writes: receiver CPU`;
  for (const peer of ['ours', 'raw', 'tornado'] as const) {
    sock('W4-slow', slow, peer, 'w4slow', { bytes: s.w4SlowBytes, unit: 'cpu s', metric: cpu, lower: true });
  }
  const core = (group: string, label: string, impl: 'core' | 'loop' | 'locate', params: Omit<CoreCase['params'], 'impl' | 'minMs'>, unit: string, metric: (r: ChildResult) => number): void => {
    const peer = impl === 'core' ? 'ours-core' : impl === 'loop' ? 'indexOf loop' : 'indexOf locate';
    cases.push({ kind: 'w5', id: `${group}/${peer}`, group, label, peer, params: { ...params, impl, minMs: s.w1Bytes < 256 * MiB ? 100 : 250 }, unit, metric });
  };
  for (const impl of ['core', 'loop'] as const) {
    core('W5-W1', `W5 core only: W1 bytes (${s.w1Bytes / MiB} MiB) via tryReadBytes`, impl, { case: 'w1', bytes: s.w1Bytes, count: 0 }, 'MiB/s', mibps(s.w1Bytes));
  }
  for (const impl of ['core', 'loop', 'locate'] as const) {
    core('W5-W2', `W5 core only: W2 lines via tryReadUntil`, impl, { case: 'w2', bytes: 0, count: s.w2Lines }, 'lines/s', perSec(s.w2Lines));
  }
  for (const [group, size] of [['W5-W4-small', s.w4Small], ['W5-W4-big', s.w4Big]] as const) {
    for (const impl of ['core', 'loop'] as const) {
      core(group, `W5 core only: W4 ${size / MiB} MiB message via tryReadUntil`, impl, { case: 'w4', bytes: size, count: 0 }, 'MiB/s', mibps(size));
    }
  }
  return cases;
}
