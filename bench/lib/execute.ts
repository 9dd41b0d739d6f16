/** Runs one case once: spawns the measured child (and the sender), returns its result or why not. */
import type { CoreCase, SocketCase } from './cases.js';
import { isClientWorkload, type ChildParams, type ChildResult } from './params.js';
import type { PeerCommand, Peers } from './peers.js';
import { Child } from './proc.js';
import { existsSync } from 'node:fs';
import * as os from 'node:os';

/**
 * `BENCH_PIN=1`: receiver and sender pinned to different CPUs (`taskset`, Linux, 2+ CPUs). It
 * narrows W2's spread a little, but a pinned Node shares its one CPU with its own GC and libuv
 * threads while CPython has none busy, which turns W1, W3 and W4 in Tornado's favour (W3: 0.93×
 * pinned, 1.13× unpinned, same day): off by default, so every peer runs as it would deployed.
 */
const PIN = process.env.BENCH_PIN === '1' && os.cpus().length >= 2 && existsSync('/usr/bin/taskset');

function pinned(cpu: number, cmd: string, args: readonly string[]): Child {
  return PIN ? new Child('/usr/bin/taskset', ['-c', String(cpu), cmd, ...args]) : new Child(cmd, [...args]);
}

export type Outcome = { result: ChildResult } | { skip: string } | { error: string };

function asOutcome(m: Record<string, unknown>): Outcome {
  if ('result' in m) return { result: m.result as ChildResult };
  if ('skip' in m) return { skip: String(m.skip) };
  return { error: String(m.error ?? JSON.stringify(m)) };
}

export async function runSocketCase(c: SocketCase, cmd: PeerCommand, peers: Peers, timeoutMs: number): Promise<Outcome> {
  const params: ChildParams = { workload: c.workload, bytes: c.bytes, count: c.count };
  if (isClientWorkload(c.workload)) return runClientCase(params, cmd, peers, timeoutMs);
  const recv = pinned(1, cmd.cmd, [...cmd.args, JSON.stringify(params)]);
  let sender: Child | null = null;
  try {
    const first = await recv.waitFor(['ready', 'skip', 'error', 'result'], 30_000);
    if (!('ready' in first)) return asOutcome(first);
    sender = pinned(0, process.execPath, [peers.sender, JSON.stringify({ ...params, port: first.ready })]);
    const done = await recv.waitFor(['result', 'error'], timeoutMs);
    return asOutcome(done);
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  } finally {
    await Promise.all([recv.finish(2000), sender?.finish(2000)]);
  }
}

/** A client workload: the sender listens first, the measured receiver connects to it. */
async function runClientCase(params: ChildParams, cmd: PeerCommand, peers: Peers, timeoutMs: number): Promise<Outcome> {
  const sender = pinned(0, process.execPath, [peers.sender, JSON.stringify({ ...params, listen: true })]);
  let recv: Child | null = null;
  try {
    const listening = await sender.waitFor(['ready', 'error'], 30_000);
    if (!('ready' in listening)) return asOutcome(listening);
    recv = pinned(1, cmd.cmd, [...cmd.args, JSON.stringify({ ...params, port: listening.ready })]);
    const first = await recv.waitFor(['ready', 'skip', 'error', 'result'], 30_000);
    if (!('ready' in first)) return asOutcome(first);
    return asOutcome(await recv.waitFor(['result', 'error'], timeoutMs));
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  } finally {
    await Promise.all([recv?.finish(2000), sender.finish(2000)]);
  }
}

/** The idle receiver's peak RSS: same code loaded, no connection. */
export async function runBaseline(cmd: PeerCommand): Promise<number | null> {
  const child = new Child(cmd.cmd, [...cmd.args, JSON.stringify({ workload: 'baseline', bytes: 0, count: 0 })]);
  try {
    const m = await child.waitFor(['result', 'error', 'skip'], 30_000);
    return 'result' in m ? (m.result as ChildResult).maxRss : null;
  } catch {
    return null;
  } finally {
    await child.finish(1000);
  }
}

export async function runCoreCase(c: CoreCase, entry: string, timeoutMs: number): Promise<Outcome> {
  const child = new Child(process.execPath, [entry, JSON.stringify(c.params)]);
  try {
    return asOutcome(await child.waitFor(['result', 'error'], timeoutMs));
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  } finally {
    await child.finish(1000);
  }
}

export interface W6Run { n: number; acceptSeconds: number; heapPerConn: number; echoSeconds: number }

/** Spawns `node` under a shell that first raises the fd limit as far as the machine allows. */
function withFdLimit(args: readonly string[]): Child {
  const script = 'ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$0" "$@"';
  return new Child('bash', ['-c', script, process.execPath, ...args]);
}

export async function runW6(mode: 'ours' | 'raw', n: number, peers: Peers, timeoutMs: number): Promise<W6Run | { error: string; connected?: number }> {
  const server = peers.w6Server[mode];
  if (typeof server !== 'string') return { error: `w6 server failed to build: ${server.message.slice(0, 200)}` };
  const srv = withFdLimit(['--expose-gc', server, JSON.stringify({ mode, n })]);
  let client: Child | null = null;
  try {
    const ready = await srv.waitFor(['ready', 'error'], 30_000);
    if (!('ready' in ready)) return { error: String(ready.error) };
    client = withFdLimit([peers.w6Client, JSON.stringify({ port: ready.ready, n })]);
    const connected = await client.waitFor(['connected', 'error'], timeoutMs);
    if ('error' in connected) return { error: String(connected.error), connected: Number(connected.connected) };
    const idle = await srv.waitFor(['idle', 'error'], timeoutMs);
    if (!('idle' in idle)) return { error: String(idle.error) };
    client.send('go');
    const res = await srv.waitFor(['result', 'error'], timeoutMs);
    if (!('result' in res)) return { error: String(res.error) };
    const i = idle.idle as { acceptSeconds: number; heapPerConn: number };
    return { n, acceptSeconds: i.acceptSeconds, heapPerConn: i.heapPerConn, echoSeconds: (res.result as { echoSeconds: number }).echoSeconds };
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  } finally {
    await Promise.all([srv.finish(1000), client?.finish(1000)]);
  }
}
