/**
 * `npm run bench:redis [-- --quick] [-- --check] [-- --runs=N]`
 *
 * redis-benchmark against the example RESP server (examples/resp-server.ts) and a real
 * redis-server in one run: SET/GET without pipelining, SET/GET with `-P 16`, and PING (inline
 * and multibulk). Prints the table, the targets and the ours/redis-server ratios, and writes
 * bench/results/latest-redis.json. `npm run bench` runs the same group (`--only=RESP`).
 * Skipped, with the reason printed, when redis-benchmark or redis-server is not installed.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { benchDir } from './lib/build.js';
import { sizesFor } from './lib/cases.js';
import { Results, table, toJson, verdictTable } from './lib/report.js';
import { respSummary, runResp } from './lib/resp.js';
import { targets } from './lib/targets.js';

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const check = argv.includes('--check');
const runs = Number(argv.find((a) => a.startsWith('--runs='))?.slice(7) ?? (quick ? 1 : 3));
const log = (s: string): void => { process.stderr.write(`${s}\n`); };

async function main(): Promise<void> {
  const t0 = Date.now();
  const date = new Date().toISOString();
  log(`sansio-iostream RESP bench ${quick ? '(quick) ' : ''}— ${date}, Node ${process.version}, ${os.cpus()[0]?.model ?? '?'} × ${os.cpus().length}`);
  const res = new Results();
  const what = await runResp(res, { quick, runs, timeoutMs: quick ? 30_000 : 60_000, log });
  const verdicts = res.judge(targets(sizesFor(quick)).filter((t) => t.id.startsWith('RESP-')));
  process.stdout.write(`${what}\n${table(res)}\n${verdictTable(verdicts)}${respSummary(res)}\n`);
  const seconds = (Date.now() - t0) / 1000;
  process.stdout.write(`\nTotal ${seconds.toFixed(0)} s.\n`);
  const dir = path.join(benchDir, 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, quick ? 'latest-redis-quick.json' : 'latest-redis.json'),
    `${JSON.stringify({ date, node: process.version, what, quick, runs, seconds, cases: toJson(res), targets: verdicts }, null, 2)}\n`);
  const missed = verdicts.filter((v) => v.status === 'MISS');
  if (missed.length > 0) process.stdout.write(`\n${missed.length} target(s) missed: ${missed.map((v) => v.id).join(', ')}\n`);
  if (check && missed.length > 0) process.exitCode = 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exitCode = 2;
});
