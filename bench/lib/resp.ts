/**
 * The RESP group: `redis-benchmark` against the example server (examples/resp-server.ts,
 * bundled like every bench entry) and a real `redis-server`, both on 127.0.0.1 on free ports,
 * in the same run, interleaved. Figures come from redis-benchmark's `--csv` output: requests/s
 * and p50 latency per test. Every redis-benchmark run has a deadline: a stalled server shows
 * as a failed row ("timed out"), never as a hung bench.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildEntries } from './build.js';
import { RESP_TARGETS } from './groups.js';
import type { Results } from './report.js';

/** One redis-benchmark invocation, the tests it reports (CSV `test` column → our group), and who runs it. */
interface Mode {
  key: string;
  args: string[];
  tests: Record<string, string>;
  label: string;
  peers: readonly Peer[];
}

/**
 * `ours`: examples/resp-server.ts; `redis-server`: the real one; `promise-floor`,
 * `callback-floor` and `raw` (peers/resp-peers.ts): the same commands read with one promise per
 * read, one queued callback per read, and synchronously.
 */
type Peer = 'ours' | 'redis-server' | 'promise-floor' | 'callback-floor' | 'raw';
const SERVERS: readonly Peer[] = ['ours', 'redis-server'];
/** The bounds run beside SET/GET (not PING: they parse no inline command), to show what limits us. */
const WITH_BOUNDS: readonly Peer[] = [...SERVERS, 'promise-floor', 'callback-floor', 'raw'];
const REFERENCES = ['promise-floor', 'callback-floor', 'raw'] as const;

function modes(quick: boolean): Mode[] {
  const n = quick ? 20_000 : 100_000;
  const np = quick ? 40_000 : 200_000;
  return [
    { key: 'plain', args: ['-t', 'set,get', '-n', String(n), '-c', '50'], tests: { SET: 'RESP-SET', GET: 'RESP-GET' }, label: `-t set,get -n ${n} -c 50`, peers: WITH_BOUNDS },
    { key: 'P16', args: ['-t', 'set,get', '-P', '16', '-n', String(np), '-c', '50'], tests: { SET: 'RESP-P16-SET', GET: 'RESP-P16-GET' }, label: `-t set,get -P 16 -n ${np} -c 50`, peers: WITH_BOUNDS },
    { key: 'ping', args: ['-t', 'ping', '-n', String(n), '-c', '50'], tests: { PING_INLINE: 'RESP-PING_INLINE', PING_MBULK: 'RESP-PING_MBULK' }, label: `-t ping -n ${n} -c 50`, peers: SERVERS },
  ];
}

/** A row of redis-benchmark's `--csv` output. */
export interface CsvRow { test: string; rps: number; p50: number }

/**
 * Parses `redis-benchmark --csv`: a header line naming the columns, then one quoted line per
 * test. Columns are found by name (older versions print only test and rps).
 */
export function parseCsv(text: string): CsvRow[] {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.startsWith('"'));
  const cells = (l: string): string[] => l.split(',').map((c) => c.trim().replace(/^"|"$/g, ''));
  const header = lines.length > 0 ? cells(lines[0] as string) : [];
  const col = (name: string): number => header.indexOf(name);
  const [iTest, iRps, iP50] = [col('test'), col('rps'), col('p50_latency_ms')];
  if (iTest < 0 || iRps < 0) return [];
  return lines.slice(1).map(cells).map((c) => ({
    test: c[iTest] ?? '', rps: Number(c[iRps]), p50: iP50 < 0 ? NaN : Number(c[iP50]),
  }));
}

/** The version line of `cmd`, or why it cannot run. */
function version(cmd: string): { ok: true; text: string } | { ok: false; why: string } {
  const r = spawnSync(cmd, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  if (r.error !== undefined) return { ok: false, why: `${cmd}: ${r.error.message}` };
  if (r.status !== 0) return { ok: false, why: `${cmd} --version exited with ${String(r.status)}` };
  return { ok: true, text: r.stdout.trim() };
}

/** Why the group cannot run here, or the versions it runs with. */
export function respAvailable(): { versions: string } | { skip: string } {
  const bench = version('redis-benchmark');
  const server = version('redis-server');
  if (!bench.ok || !server.ok) {
    const why = [bench, server].filter((v): v is { ok: false; why: string } => !v.ok).map((v) => v.why).join('; ');
    return { skip: `${why} (Debian: apt-get install redis-server redis-tools)` };
  }
  return { versions: `${server.text.split(' build=')[0] ?? server.text}; ${bench.text}` };
}

/** A port on 127.0.0.1 nobody listens on right now. */
async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve, reject) => { s.once('error', reject); s.listen(0, '127.0.0.1', resolve); });
  const { port } = s.address() as net.AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** Resolves when `port` answers PING with +PONG; rejects after `ms`. */
async function waitPong(port: number, ms: number, proc: ChildProcess): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`exited (${String(proc.exitCode ?? proc.signalCode)}) before answering PING`);
    const ok = await new Promise<boolean>((resolve) => {
      const sock = net.connect(port, '127.0.0.1');
      let got = '';
      const done = (v: boolean): void => { sock.destroy(); resolve(v); };
      sock.setTimeout(1000, () => done(false));
      sock.on('error', () => done(false));
      sock.on('connect', () => sock.write('*1\r\n$4\r\nPING\r\n'));
      sock.on('data', (d: Buffer) => { got += d.toString('latin1'); if (got.includes('\r\n')) done(got.startsWith('+PONG')); });
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`no +PONG on port ${port} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A server process; `stop()` ends it by its own pid. */
interface Server { name: Peer; port: number; stop(): Promise<void> }

function spawnServer(name: Peer, cmd: string, args: string[], port: number, cwd?: string): Promise<Server> {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], ...(cwd !== undefined ? { cwd } : {}) });
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => { stderr = (stderr + d.toString('utf8')).slice(-2000); });
  const exited = new Promise<void>((resolve) => { proc.once('exit', () => resolve()); proc.once('error', () => resolve()); });
  const stop = async (): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null && proc.pid !== undefined) {
      try { process.kill(proc.pid, 'SIGTERM'); } catch { /* gone */ }
      const t = setTimeout(() => { try { if (proc.pid !== undefined) process.kill(proc.pid, 'SIGKILL'); } catch { /* gone */ } }, 3000);
      await exited;
      clearTimeout(t);
    }
  };
  return waitPong(port, 15_000, proc).then(
    () => ({ name, port, stop }),
    async (err: unknown) => {
      await stop();
      throw new Error(`${name}: ${err instanceof Error ? err.message : String(err)} ${stderr.trim().slice(-400)}`);
    },
  );
}

/** Runs redis-benchmark once; its CSV rows, or why not (a deadline kills it: a stall is an error). */
function runBenchmark(port: number, args: readonly string[], timeoutMs: number): Promise<CsvRow[] | { error: string }> {
  return new Promise((resolve) => {
    const proc = spawn('redis-benchmark', ['-h', '127.0.0.1', '-p', String(port), ...args, '--csv'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    proc.stdout.on('data', (d: Buffer) => { out += d.toString('utf8'); });
    proc.stderr.on('data', (d: Buffer) => { err = (err + d.toString('utf8')).slice(-1000); });
    const timer = setTimeout(() => {
      if (proc.pid !== undefined) try { process.kill(proc.pid, 'SIGKILL'); } catch { /* gone */ }
      resolve({ error: `timed out after ${timeoutMs / 1000} s (a stall?) — partial output: ${out.trim().slice(-200) || 'none'}` });
    }, timeoutMs);
    proc.on('error', (e) => { clearTimeout(timer); resolve({ error: e.message }); });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      const rows = parseCsv(out);
      if (code !== 0 || rows.length === 0) resolve({ error: `exit ${String(code)}: ${(err || out).trim().slice(-300)}` });
      else resolve(rows);
    });
  });
}

export interface RespOptions { quick: boolean; runs: number; timeoutMs: number; log: (s: string) => void }

type Row = ReturnType<Results['row']>;

/**
 * Fills the RESP rows of `res`, or marks them skipped with the reason. Returns the line
 * describing what ran, for the report.
 */
export async function runResp(res: Results, o: RespOptions): Promise<string> {
  const all = modes(o.quick);
  const row = (mode: Mode, group: string, peer: Peer, kind: 'rps' | 'p50'): Row => (kind === 'rps'
    ? res.row(`${group}/${peer}`, { group, label: `redis-benchmark ${group.slice(5)}: ${mode.label} → requests/s`, peer, unit: 'req/s', lower: false })
    : res.row(`${group}-p50/${peer}`, { group: `${group}-p50`, label: `redis-benchmark ${group.slice(5)}: ${mode.label} → p50 latency`, peer, unit: 'ms', lower: true }));
  const rowsOf = (mode: Mode, peer: Peer): { rps: Row; p50: Row }[] =>
    Object.values(mode.tests).map((group) => ({ rps: row(mode, group, peer, 'rps'), p50: row(mode, group, peer, 'p50') }));
  const mark = (peers: readonly Peer[], why: string, how: 'skip' | 'error'): void => {
    for (const mode of all) {
      for (const peer of peers.filter((x) => mode.peers.includes(x))) {
        for (const r of rowsOf(mode, peer)) {
          for (const x of [r.rps, r.p50]) if (how === 'skip') x.skip = why; else x.errors.push(why);
        }
      }
    }
    o.log(`RESP: ${how === 'skip' ? 'skipped' : 'failed'}: ${why}`);
  };
  // Without redis-benchmark or redis-server the targets are n/a (no row is made); a failure on
  // our side (build, start) is an error on our rows: the targets are missed.
  const avail = respAvailable();
  if ('skip' in avail) {
    o.log(`RESP: skipped: ${avail.skip}`);
    return `RESP skipped: ${avail.skip}`;
  }
  // Made in display order: per group, the rps rows of every peer, then the p50 rows.
  for (const mode of all) {
    for (const group of Object.values(mode.tests)) {
      for (const kind of ['rps', 'p50'] as const) for (const peer of mode.peers) row(mode, group, peer, kind);
    }
  }
  const built = await buildEntries({ 'resp-server': '../examples/resp-server.ts', 'resp-peers': 'peers/resp-peers.ts' });
  const ours = built['resp-server'];
  const refs = built['resp-peers'];
  if (ours === undefined || ours instanceof Error) {
    mark(['ours'], `examples/resp-server.ts failed to build: ${String(ours)}`, 'error');
    return 'RESP failed: examples/resp-server.ts did not build';
  }

  const dir = mkdtempSync(path.join(os.tmpdir(), 'resp-bench-'));
  const servers = new Map<Peer, Server>();
  const start = async (peer: Peer, cmd: string, args: (port: number) => string[], cwd?: string): Promise<void> => {
    const port = await freePort();
    try {
      servers.set(peer, await spawnServer(peer, cmd, args(port), port, cwd));
    } catch (err) {
      mark([peer], err instanceof Error ? err.message : String(err), peer === 'redis-server' ? 'skip' : 'error');
    }
  };
  try {
    await start('ours', process.execPath, (port) => [ours, `--port=${port}`]);
    await start('redis-server', 'redis-server', (port) => [
      '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
      '--daemonize', 'no', '--loglevel', 'warning', '--dir', dir,
    ], dir);
    for (const peer of REFERENCES) {
      if (typeof refs === 'string') await start(peer, process.execPath, (port) => [refs, `--impl=${peer}`, `--port=${port}`]);
      else mark([peer], `peers/resp-peers.ts failed to build: ${String(refs)}`, 'skip');
    }
    o.log(`RESP: ${avail.versions}; ${[...servers.values()].map((x) => `${x.name} on :${x.port}`).join(', ')} (${o.runs} runs)`);
    // Not measured: lets V8 compile the Node servers' hot paths first (a server runs warm; the
    // first SET run would otherwise measure the interpreter). Every server gets it, for symmetry.
    for (const server of servers.values()) {
      for (const args of [['-t', 'set,get,ping', '-n', '20000', '-c', '50'], ['-t', 'set,get', '-P', '16', '-n', '40000', '-c', '50']]) {
        await runBenchmark(server.port, args, o.timeoutMs);
      }
    }
    for (const mode of all) {
      o.log(`RESP: redis-benchmark ${mode.label}`);
      for (let i = 0; i < o.runs; i++) {
        // Interleaved, like every other group: run i of every server before run i + 1.
        for (const peer of mode.peers) {
          const server = servers.get(peer);
          const rows = rowsOf(mode, peer);
          if (server === undefined || rows.some((r) => r.rps.errors.length >= 2)) continue;
          const out = await runBenchmark(server.port, mode.args, o.timeoutMs);
          Object.keys(mode.tests).forEach((test, k) => {
            const r = rows[k] as { rps: Row; p50: Row };
            const got = Array.isArray(out) ? out.find((x) => x.test === test) : undefined;
            if (got === undefined || !Number.isFinite(got.rps)) {
              const why = Array.isArray(out) ? `no ${test} row in the CSV` : out.error;
              r.rps.errors.push(why);
              r.p50.errors.push(why);
              o.log(`  ${peer} ${test} run ${i + 1} failed: ${why}`);
              return;
            }
            r.rps.values.push(got.rps);
            if (Number.isFinite(got.p50)) r.p50.values.push(got.p50);
          });
        }
      }
    }
    return `RESP: ${avail.versions}`;
  } finally {
    await Promise.all([...servers.values()].map((x) => x.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The RESP figures as the issue asks for them: per test, ours and redis-server, rps and p50,
 * and the ratios ours/redis-server (for p50, > 1 means our latency is higher); where the
 * reference servers ran, their rps over redis-server's too.
 */
export function respSummary(res: Results): string {
  if (!RESP_TARGETS.some(({ group }) => res.rows.has(`${group}/ours`))) return '';
  const cols = ['rps ours', 'rps redis', 'ours/redis', 'p50 ours', 'p50 redis', 'ours/redis', 'pfloor/redis', 'cbfloor/redis', 'raw/redis'];
  const lines = ['', '', 'RESP vs redis-server (medians of the same run; p50 ratio > 1: our latency is higher)',
    `${'test'.padEnd(12)}${cols.map((c) => c.padStart(14)).join('')}`];
  const f = (x: number | undefined, d: number): string => (x === undefined ? '—' : x.toFixed(d));
  const ratio = (a: number | undefined, b: number | undefined): string => (a === undefined || b === undefined || b === 0 ? '—' : (a / b).toFixed(2));
  for (const { group } of RESP_TARGETS) {
    const m = (peer: string, p50 = false): number | undefined => res.median(`${group}${p50 ? '-p50' : ''}/${peer}`);
    const rr = m('redis-server');
    const cells = [f(m('ours'), 0), f(rr, 0), ratio(m('ours'), rr), f(m('ours', true), 3), f(m('redis-server', true), 3),
      ratio(m('ours', true), m('redis-server', true)), ratio(m('promise-floor'), rr), ratio(m('callback-floor'), rr), ratio(m('raw'), rr)];
    lines.push(`${group.slice(5).padEnd(12)}${cells.map((c) => c.padStart(14)).join('')}`);
  }
  return lines.join('\n');
}
