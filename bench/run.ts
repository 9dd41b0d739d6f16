/**
 * `npm run bench [-- --quick] [-- --check] [-- --only=W1,W3] [-- --runs=N]`
 *
 * Runs every workload against this library and its peers in one run, each case several times
 * (median, min, max), receivers and senders in separate processes over 127.0.0.1, and prints
 * the table, the target verdicts, and writes bench/results/latest.json. With `--check` the exit
 * code is 1 when a target is missed. See bench/README.md.
 */
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { benchDir } from './lib/build.js';
import { buildCases, sizesFor, type Case } from './lib/cases.js';
import { runBaseline, runCoreCase, runSocketCase, runW6, type Outcome, type W6Run } from './lib/execute.js';
import { discoverPeers, type PeerName, type Peers } from './lib/peers.js';
import { MiB } from './lib/params.js';
import { Results, table, toJson, verdictTable } from './lib/report.js';
import { respSummary, runResp } from './lib/resp.js';
import { summarize } from './lib/stats.js';
import { targets } from './lib/targets.js';

const argv = process.argv.slice(2);
const flag = (name: string): boolean => argv.includes(`--${name}`);
const option = (name: string): string | undefined => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const quick = flag('quick');
const check = flag('check');
const only = option('only')?.split(',').map((s) => s.trim().toUpperCase());
const runs = Number(option('runs') ?? (quick ? 3 : 5));
const budgetMs = (quick ? 70 : 400) * 1000;
/**
 * Groups whose figures swing more than their targets' margins from run to run get more runs,
 * whatever the budget: W3 (ping-pong) varies ±10 % between runs on this machine.
 */
const MIN_RUNS: Record<string, number> = { W3: 9 };
const timeoutMs = quick ? 20_000 : 60_000;
const t0 = Date.now();
const log = (s: string): void => { process.stderr.write(`${s}\n`); };

function cpuModel(): string {
  try {
    const m = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m?.[1]) return m[1].trim();
  } catch { /* not Linux */ }
  return os.cpus()[0]?.model ?? 'unknown';
}

const selected = (group: string): boolean => only === undefined || only.some((o) => group.toUpperCase() === o || group.toUpperCase().startsWith(`${o}-`));

/** Remaining runs shrink to 3 once most of the time budget is spent, so the whole run stays bounded. */
function runsNow(): number {
  if (runs > 3 && Date.now() - t0 > budgetMs * 0.7) return 3;
  return runs;
}

async function baselines(peers: Peers, names: readonly PeerName[]): Promise<Map<PeerName, number>> {
  const out = new Map<PeerName, number>();
  for (const name of names) {
    const cmd = peers.available[name];
    if (cmd === undefined) continue;
    const vals: number[] = [];
    for (let i = 0; i < (quick ? 1 : 3); i++) {
      const v = await runBaseline(cmd);
      if (v !== null) vals.push(v);
    }
    if (vals.length > 0) out.set(name, summarize(vals).median);
  }
  return out;
}

async function runGroup(group: Case[], res: Results, peers: Peers, base: Map<PeerName, number>): Promise<void> {
  const first = group[0] as Case;
  for (const c of group) {
    const row = res.row(c.id, { group: c.group, label: c.label, peer: c.peer, unit: c.unit, lower: c.kind === 'socket' && c.lower === true });
    if (c.kind === 'socket' && peers.available[c.peer] === undefined) row.skip = peers.skipped[c.peer] ?? 'not available';
    if (c.kind === 'w5' && typeof peers.w5 !== 'string') row.skip = `core bench failed to build: ${peers.w5.message.slice(0, 160)}`;
  }
  const n = Math.max(runsNow(), MIN_RUNS[first.group] ?? 0);
  log(`${first.group}: ${first.label} (${n} runs)`);
  for (let i = 0; i < n; i++) {
    // Interleaved: run i of every peer before run i+1 of any, so drift hits all alike.
    for (const c of group) {
      const row = res.rows.get(c.id);
      if (row === undefined || row.skip !== undefined || row.errors.length >= 2) continue;
      let out: Outcome;
      if (c.kind === 'socket') out = await runSocketCase(c, peers.available[c.peer] as NonNullable<Peers['available'][PeerName]>, peers, timeoutMs);
      else out = await runCoreCase(c, peers.w5 as string, timeoutMs);
      if ('result' in out) {
        row.values.push(c.metric(out.result));
        const b = c.kind === 'socket' && c.rss === true ? base.get(c.peer) : undefined;
        if (b !== undefined) row.rssAbove.push(out.result.maxRss - b);
      } else if ('skip' in out) {
        row.skip = out.skip;
      } else {
        row.errors.push(out.error.slice(0, 300));
        log(`  ${c.id} run ${i + 1} failed: ${out.error.slice(0, 300)}`);
      }
    }
  }
}

async function runW6Group(res: Results, peers: Peers, target: number): Promise<number> {
  let n = target;
  const label = (k: string): string => `W6 ${k} (${n} loopback connections, IOStream + pending readUntil vs raw socket + 'data')`;
  const runsW6 = runsNow();
  log(`W6: ${target} concurrent connections (${runsW6} runs)`);
  const all: Record<'ours' | 'raw', W6Run[]> = { ours: [], raw: [] };
  const errors: Record<'ours' | 'raw', string[]> = { ours: [], raw: [] };
  for (let i = 0; i < runsW6; i++) {
    for (const mode of ['ours', 'raw'] as const) {
      if (errors[mode].length >= 2) continue;
      let r = await runW6(mode, n, peers, timeoutMs);
      // The machine may refuse N descriptors or connections: fall back to the largest count that works.
      while ('error' in r && n > 500 && all.ours.length + all.raw.length === 0) {
        const next = Math.max(500, Math.floor(((r.connected ?? 0) > 0 ? (r.connected as number) : n) / 2 / 100) * 100);
        log(`  W6 with ${n} connections failed (${r.error.slice(0, 160)}); retrying with ${next}`);
        n = next;
        r = await runW6(mode, n, peers, timeoutMs);
      }
      if ('error' in r) { errors[mode].push(r.error); log(`  W6/${mode} failed: ${r.error.slice(0, 200)}`); continue; }
      all[mode].push(r);
    }
  }
  const metrics = [
    ['W6-accept', 'accept + wrap', 'conns/s', false, (r: W6Run) => r.n / r.acceptSeconds],
    ['W6-echo', 'echo one line each', 'conns/s', false, (r: W6Run) => r.n / r.echoSeconds],
    ['W6-heap', 'heap per idle connection after gc', 'bytes', true, (r: W6Run) => r.heapPerConn],
  ] as const;
  for (const [group, what, unit, lower, metric] of metrics) {
    for (const mode of ['ours', 'raw'] as const) {
      const row = res.row(`${group}/${mode}`, { group, label: label(what), peer: mode, unit, lower });
      for (const r of all[mode]) row.values.push(metric(r));
      row.errors.push(...errors[mode]);
    }
  }
  return n;
}

async function main(): Promise<void> {
  const sizes = sizesFor(quick);
  const header = {
    date: new Date().toISOString(), node: process.version, cpu: `${cpuModel()} × ${os.cpus().length}`,
    platform: `${os.platform()} ${os.release()}`, quick, runs, sizes,
  };
  log(`sansio-iostream bench ${quick ? '(quick) ' : ''}— ${header.date}, Node ${header.node}, ${header.cpu}`);
  const peers = await discoverPeers();
  for (const [name, why] of Object.entries(peers.skipped)) log(`peer ${name} skipped: ${why}`);
  if (peers.available.tornado?.version !== undefined) log(`peer tornado: ${peers.available.tornado.version}`);

  const res = new Results();
  const base = await baselines(peers, ['ours', 'raw', 'promise-socket', 'it-byte-stream', 'tornado']);
  for (const [name, v] of base) log(`baseline RSS ${name}: ${(v / MiB).toFixed(1)} MiB`);

  const cases = buildCases(sizes);
  const groups = new Map<string, Case[]>();
  for (const c of cases) {
    if (!selected(c.group)) continue;
    const g = groups.get(c.group) ?? [];
    g.push(c);
    groups.set(c.group, g);
  }
  for (const g of groups.values()) await runGroup(g, res, peers, base);
  // W1's Tornado figure is its best of read_bytes and read_into, round by round.
  for (const g of ['W1', 'W1-client']) res.deriveBest(`${g}/tornado-best`, [`${g}/tornado`, `${g}/tornado-readInto`]);
  let w6Conns: number | null = null;
  if (selected('W6')) w6Conns = await runW6Group(res, peers, sizes.w6Conns);
  // redis-benchmark vs the example server and redis-server; skipped (reason printed) without them.
  const resp = selected('RESP') ? await runResp(res, { quick, runs: Math.min(runsNow(), 3), timeoutMs, log }) : null;

  const verdicts = res.judge(targets(sizes).filter((t) => selected(t.id.split('-')[0] as string) || selected(t.id)));
  const out = `${table(res)}\n${verdictTable(verdicts)}${resp !== null ? `${respSummary(res)}\n${resp}` : ''}`;
  process.stdout.write(`${out}\n`);
  const heapOurs = res.median('W6-heap/ours');
  const heapRaw = res.median('W6-heap/raw');
  if (heapOurs !== undefined && heapRaw !== undefined) {
    process.stdout.write(`\nW6: ${w6Conns} connections; heap per idle IOStream above a raw socket: ${(heapOurs - heapRaw).toFixed(0)} bytes\n`);
  }
  const seconds = (Date.now() - t0) / 1000;
  process.stdout.write(`\nTotal ${seconds.toFixed(0)} s.\n`);

  const dir = path.join(benchDir, 'results');
  mkdirSync(dir, { recursive: true });
  const json = {
    ...header, seconds, w6Connections: w6Conns,
    baselineRss: Object.fromEntries(base),
    peers: {
      available: Object.fromEntries(Object.entries(peers.available).map(([k, v]) => [k, v.version ?? v.cmd])),
      skipped: peers.skipped,
    },
    cases: toJson(res), targets: verdicts,
  };
  writeFileSync(path.join(dir, only !== undefined ? 'latest-partial.json' : quick ? 'latest-quick.json' : 'latest.json'), `${JSON.stringify(json, null, 2)}\n`);
  const missed = verdicts.filter((v) => v.status === 'MISS' && v.reference !== true);
  if (missed.length > 0) process.stdout.write(`\n${missed.length} target(s) missed: ${missed.map((v) => v.id).join(', ')}\n`);
  if (check && missed.length > 0) process.exitCode = 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exitCode = 2;
});
