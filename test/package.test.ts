/**
 * The built package (dist/, made by `npm run build`, which `npm test` runs first): every entry
 * point ships ESM, CJS and types, the node-free entry points import no Node built-in, and the
 * packed tarball is what an adopter needs and nothing more: LICENSE, a README whose links work
 * off the repository, source maps that resolve without the sources, types that resolve under
 * every TypeScript module resolution (attw), no packaging mistake (publint), and it installs
 * and runs in a fresh project. Everything here is offline: the tarball is packed locally and
 * installed with `--offline`; publint and attw read it from disk.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import tape from 'tape';
import { test } from './_support/harness.js';
import type { BaseIOStream } from '../drivers/facade/base-iostream.js';
import type { IOStream } from '../drivers/node/net.js';
import type { SSLIOStream } from '../drivers/node/tls.js';
import type { PipeIOStream } from '../drivers/node/pipe.js';
import type { WebIOStream } from '../drivers/web/index.js';
import type { MemoryIOStream } from '../drivers/memory/index.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');

/** What each entry point must export (a sample of names that prove the right module is there). */
const ENTRIES: Record<string, { names: string[]; nodeFree: boolean }> = {
  index: { names: ['BaseIOStream', 'IOStream', 'SSLIOStream', 'PipeIOStream', 'StreamClosedError', 'memoryPair', 'SimLoop', 'TCPServer', 'serve'], nodeFree: false },
  core: { names: ['StreamCore', 'StreamClosedError', 'StreamBufferFullError', 'UnsatisfiableReadError'], nodeFree: true },
  memory: { names: ['memoryPair', 'SimLoop'], nodeFree: true },
  web: { names: ['WebIOStream'], nodeFree: true },
  facade: { names: ['BaseIOStream', 'StreamClosedError', 'DriverContractError', 'setDriverContractChecks'], nodeFree: true },
  conformance: { names: ['runConformance'], nodeFree: true },
};

const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);

/** Every module specifier a built file imports or requires, following relative ones recursively. */
function importsOf(file: string, seen = new Set<string>()): string[] {
  if (seen.has(file)) return [];
  seen.add(file);
  const src = readFileSync(file, 'utf8');
  const specs: string[] = [];
  const re = /(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)['"]([^'"]+)['"]/g;
  for (let m = re.exec(src); m !== null; m = re.exec(src)) {
    const spec = m[1] as string;
    if (spec.startsWith('.')) specs.push(...importsOf(resolve(dirname(file), spec), seen));
    else specs.push(spec);
  }
  return specs;
}

test('package: dist has .js, .cjs, .d.ts and .d.cts for every entry point', (t) => {
  for (const name of Object.keys(ENTRIES)) {
    for (const ext of ['js', 'cjs', 'd.ts', 'd.cts']) {
      t.ok(existsSync(join(dist, `${name}.${ext}`)), `dist/${name}.${ext}`);
    }
  }
  t.end();
});

test('package: node-free entry points import no Node built-in (ESM and CJS)', (t) => {
  for (const [name, { nodeFree }] of Object.entries(ENTRIES)) {
    if (!nodeFree) continue;
    for (const ext of ['js', 'cjs']) {
      const used = importsOf(join(dist, `${name}.${ext}`)).filter((s) => builtins.has(s) || s.startsWith('node:'));
      t.deepEqual(used, [], `dist/${name}.${ext} and its chunks import no built-in`);
    }
  }
  // And the check can fail: the root entry does use Node.
  t.ok(importsOf(join(dist, 'index.js')).some((s) => s.startsWith('node:') || builtins.has(s)), 'control: dist/index.js does import Node built-ins');
  t.end();
});

test('package: ESM and CJS builds export the public names and share one class per error', async (t) => {
  const require = createRequire(import.meta.url);
  for (const [name, { names }] of Object.entries(ENTRIES)) {
    const esm = (await import(pathToFileURL(join(dist, `${name}.js`)).href)) as Record<string, unknown>;
    const cjs = require(join(dist, `${name}.cjs`)) as Record<string, unknown>;
    for (const n of names) {
      t.equal(typeof esm[n], 'function', `import ${name}: ${n}`);
      t.equal(typeof cjs[n], 'function', `require ${name}: ${n}`);
    }
  }
  const rootEsm = (await import(pathToFileURL(join(dist, 'index.js')).href)) as Record<string, unknown>;
  const coreEsm = (await import(pathToFileURL(join(dist, 'core.js')).href)) as Record<string, unknown>;
  t.equal(rootEsm.StreamClosedError, coreEsm.StreamClosedError, 'root and /core export the same StreamClosedError');
  const facadeEsm = (await import(pathToFileURL(join(dist, 'facade.js')).href)) as Record<string, unknown>;
  t.equal(rootEsm.BaseIOStream, facadeEsm.BaseIOStream, 'root and /facade export the same BaseIOStream (one class a driver extends)');
  t.equal(facadeEsm.StreamClosedError, coreEsm.StreamClosedError, '/facade and /core export the same StreamClosedError');
});

test('package: deno.json (the JSR package) has package.json\'s version and the same entry points, on the same sources', (t) => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string; exports: Record<string, unknown> };
  const jsr = JSON.parse(readFileSync(join(root, 'deno.json'), 'utf8')) as { version: string; exports: Record<string, string> };
  t.equal(jsr.version, pkg.version, `version ${pkg.version}`);
  t.deepEqual(Object.keys(jsr.exports).sort(), Object.keys(pkg.exports).filter((k) => k !== './package.json').sort(), 'the same subpaths');
  const rollupInput: Record<string, string> = { '.': 'drivers/index.ts', './core': 'core/index.ts', './memory': 'drivers/memory/index.ts',
    './web': 'drivers/web/index.ts', './facade': 'drivers/facade/index.ts', './conformance': 'conformance/index.ts' };
  for (const [sub, file] of Object.entries(jsr.exports)) t.equal(file, `./${rollupInput[sub] ?? '?'}`, `${sub} is ${file}`);
  t.end();
});

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
/** Where the README's absolute links point: the repository named in package.json. */
const REPO_URL = 'https://github.com/sansio-iostream/sansio-iostream';

interface Packed {
  /** The .tgz `npm pack` wrote. */
  tgz: string;
  /** Its contents, extracted (npm's `package/` folder). */
  pkgDir: string;
  /** Every packed path, relative to `pkgDir`, with `/` separators, sorted. */
  files: string[];
  /** Compressed and unpacked sizes in bytes, as npm reports them. */
  size: number;
  unpackedSize: number;
}

let packedOnce: Packed | null = null;

/** Packs the built package once per run (into a temp folder removed at exit) and extracts it. */
function packed(): Packed {
  if (packedOnce !== null) return packedOnce;
  const work = mkdtempSync(join(tmpdir(), 'sansio-pack-'));
  // Not process.on('exit'): tape removes every 'exit' listener before it exits.
  tape.onFinish(() => { rmSync(work, { recursive: true, force: true }); });
  // --ignore-scripts: prepack would rebuild; `npm test` has just built dist.
  const out = execFileSync(npm, ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: root, encoding: 'utf8' });
  const info = (JSON.parse(out) as Array<{ filename: string; size: number; unpackedSize: number }>)[0];
  if (info === undefined) throw new Error(`npm pack --json printed no package: ${out}`);
  const tgz = join(work, info.filename);
  execFileSync('tar', ['-xzf', tgz, '-C', work]);
  const pkgDir = join(work, 'package');
  packedOnce = { tgz, pkgDir, files: walk(pkgDir).map((f) => relative(pkgDir, f).split(sep).join('/')).sort(), size: info.size, unpackedSize: info.unpackedSize };
  return packedOnce;
}

/** Every file under `dir`, recursively, skipping the named folders. */
function walk(dir: string, skip: ReadonlySet<string> = new Set()): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!skip.has(entry.name)) out.push(...walk(p, skip));
    } else out.push(p);
  }
  return out;
}

test('package: the tarball holds LICENSE, README.md, package.json and dist (code, types and maps of every entry point), nothing else', { timeout: 120_000 }, (t) => {
  const { files, pkgDir, size, unpackedSize } = packed();
  t.comment(`${files.length} files, ${size} bytes packed, ${unpackedSize} bytes unpacked`);
  for (const f of ['LICENSE', 'README.md', 'package.json']) t.ok(files.includes(f), f);
  for (const name of Object.keys(ENTRIES)) {
    for (const ext of ['js', 'cjs', 'd.ts', 'd.cts', 'js.map', 'cjs.map']) {
      t.ok(files.includes(`dist/${name}.${ext}`), `dist/${name}.${ext}`);
    }
  }
  const allowed = /^(LICENSE|README\.md|package\.json|dist\/(chunks\/)?[\w.-]+\.(js|cjs|d\.ts|d\.cts|js\.map|cjs\.map))$/;
  t.deepEqual(files.filter((f) => !allowed.test(f)), [], 'no other file (no sources, tests, bench, docs)');
  const built = walk(dist).map((f) => `dist/${relative(dist, f).split(sep).join('/')}`).sort();
  t.deepEqual(files.filter((f) => f.startsWith('dist/')), built, 'dist/ is packed whole');

  const license = readFileSync(join(pkgDir, 'LICENSE'), 'utf8');
  t.equal(license, readFileSync(join(root, 'LICENSE'), 'utf8'), 'LICENSE is the repository\'s');
  t.ok(/^\s*Apache License\s+Version 2\.0, January 2004/.test(license) && license.includes('END OF TERMS AND CONDITIONS'), 'LICENSE is the full Apache-2.0 text');
  const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as Record<string, unknown>;
  t.equal(pkg.license, 'Apache-2.0', 'package.json names the same licence');
  for (const field of ['repository', 'homepage', 'bugs', 'keywords']) t.ok(pkg[field] !== undefined, `package.json has ${field}`);
  t.end();
});

/** Markdown link targets in `text`: `[label](target)`, without a title. */
function linkTargets(text: string): string[] {
  return [...text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1] as string);
}

test('package: the packed README links only to absolute URLs or anchors, and its repository links name files that exist', { timeout: 120_000 }, (t) => {
  const readme = readFileSync(join(packed().pkgDir, 'README.md'), 'utf8');
  const targets = linkTargets(readme);
  t.ok(targets.length > 0, `the README has links (${targets.length})`);
  for (const target of targets) {
    if (target.startsWith('#')) continue;
    if (!/^https:\/\//.test(target)) {
      t.fail(`relative link ${target}: it breaks on npm, where only the README is shown`);
      continue;
    }
    const inRepo = new RegExp(`^${REPO_URL.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/(?:blob|tree)/main/([^#?]+)`).exec(target);
    if (inRepo !== null) t.ok(existsSync(join(root, decodeURIComponent(inRepo[1] as string))), `${target} names an existing file`);
  }
  t.end();
});

test('package: every relative link in the repository\'s Markdown files resolves to a file inside the repository', (t) => {
  // The repository's files: tracked or about to be (untracked and not ignored), as git sees them.
  const docs = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard', '--', '*.md'], { cwd: root, encoding: 'utf8' })
    .split('\0').filter((f) => f !== '' && existsSync(join(root, f))).map((f) => join(root, f));
  t.ok(docs.some((f) => f.endsWith(join('docs', 'API.md'))), 'docs/API.md is part of the repository');
  let checked = 0;
  for (const file of docs) {
    for (const target of linkTargets(readFileSync(file, 'utf8'))) {
      if (/^[a-z][a-z+.-]*:/i.test(target) || target.startsWith('#')) continue;
      const path = resolve(dirname(file), decodeURIComponent(target.replace(/[#?].*$/, '')));
      const where = `${relative(root, file)}: ${target}`;
      checked++;
      t.ok(!relative(root, path).startsWith('..') && existsSync(path), where);
    }
  }
  t.comment(`${checked} relative links in ${docs.length} Markdown files`);
  t.end();
});

interface SourceMap { sources: string[]; sourcesContent?: Array<string | null>; sourceRoot?: string; mappings: string }

/** The sources of `mapFile` that can be shown neither from the installed files nor from the map itself. */
function unresolvedSources(mapFile: string, map: SourceMap, pkgDir: string): string[] {
  return map.sources.filter((source, i) => {
    const content = map.sourcesContent?.[i];
    if (typeof content === 'string') return false;
    const path = resolve(dirname(mapFile), map.sourceRoot ?? '', source);
    return relative(pkgDir, path).startsWith('..') || !existsSync(path);
  });
}

test('package: the packed source maps resolve without the sources: each file names a packed map, each source is inlined and is the real one', { timeout: 120_000 }, (t) => {
  const { files, pkgDir } = packed();
  const code = files.filter((f) => /\.c?js$/.test(f));
  t.ok(code.length >= 10, `${code.length} .js/.cjs files`);
  for (const f of code) {
    const url = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(readFileSync(join(pkgDir, f), 'utf8'))?.[1];
    t.ok(url !== undefined && files.includes(`${dirname(f)}/${url}`), `${f} names its packed map (${String(url)})`);
  }
  let sources = 0;
  for (const f of files.filter((x) => x.endsWith('.map'))) {
    const map = JSON.parse(readFileSync(join(pkgDir, f), 'utf8')) as SourceMap;
    t.deepEqual(unresolvedSources(join(pkgDir, f), map, pkgDir), [], `${f}: every source resolves`);
    map.sources.forEach((source, i) => {
      sources++;
      // The repository's dist sits where the package's does: the same relative path is the source.
      const original = resolve(dist, dirname(relative('dist', f)), map.sourceRoot ?? '', source);
      if (existsSync(original)) t.equal(map.sourcesContent?.[i], readFileSync(original, 'utf8'), `${f}: ${source} inlined as it is in the repository`);
      else t.fail(`${f}: ${source} is not a file of the repository`);
    });
    if (map.sources.length > 0) t.ok(map.mappings.length > 0, `${f} has mappings`);
  }
  t.ok(sources > 0, `${sources} sources checked`);
  // Control: the check does fail on a map that points at sources the package does not ship.
  const [first] = files.filter((x) => x.endsWith('.map') && (JSON.parse(readFileSync(join(pkgDir, x), 'utf8')) as SourceMap).sources.length > 0);
  const { sourcesContent: _dropped, ...stripped } = JSON.parse(readFileSync(join(pkgDir, first as string), 'utf8')) as SourceMap;
  t.ok(unresolvedSources(join(pkgDir, first as string), stripped, pkgDir).length > 0, 'control: without sourcesContent the same map does not resolve');
  t.end();
});

test('package: publint (strict, every level) finds nothing in the packed tarball', { timeout: 120_000 }, async (t) => {
  const { publint } = await import('publint');
  const { formatMessage } = await import('publint/utils');
  const bytes = readFileSync(packed().tgz);
  const tarball = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const { messages, pkg } = await publint({ pack: { tarball }, level: 'suggestion', strict: true });
  t.deepEqual(messages.map((m) => `${m.type}: ${formatMessage(m, pkg, { color: false }) ?? m.code}`), [], 'no error, warning or suggestion');
});

/** The subset of `attw --format json` this test reads. */
interface AttwReport {
  problems: Record<string, unknown[]>;
  analysis: { entrypoints: Record<string, { resolutions: Record<string, { resolution?: { fileName: string } }> }> };
}

test('package: attw finds no problem, and every entry point\'s types resolve under node10, node16 (CJS and ESM) and bundler', { timeout: 120_000 }, (t) => {
  const cli = join(root, 'node_modules', '@arethetypeswrong', 'cli', 'dist', 'index.js');
  // Offline: the tarball is read from disk, and @types lookups (for untyped packages) are off.
  const run = spawnSync(process.execPath, [cli, packed().tgz, '--format', 'json', '--no-definitely-typed'], { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 });
  t.equal(run.status, 0, `attw exit status${run.status === 0 ? '' : `: ${run.stderr}`}`);
  const report = JSON.parse(run.stdout) as AttwReport;
  const problems = Object.entries(report.problems).flatMap(([entry, list]) => list.map((p) => `${entry}: ${JSON.stringify(p)}`));
  t.deepEqual(problems, [], 'no problem under the strict profile (node10 included)');
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { exports: Record<string, unknown> };
  for (const subpath of Object.keys(pkg.exports).filter((s) => s !== './package.json')) {
    const name = subpath === '.' ? 'index' : subpath.slice(2);
    const expected: Record<string, string> = { node10: `${name}.d.ts`, 'node16-cjs': `${name}.d.cts`, 'node16-esm': `${name}.d.ts`, bundler: `${name}.d.ts` };
    for (const [kind, file] of Object.entries(expected)) {
      const got = report.analysis.entrypoints[subpath]?.resolutions[kind]?.resolution?.fileName;
      t.equal(got, `/node_modules/sansio-iostream/dist/${file}`, `${subpath} under ${kind}`);
    }
  }
  t.end();
});

test('package: a packed tarball installs and imports in a fresh project (ESM, CJS, conformance, mapped stack traces)', { timeout: 120_000 }, (t) => {
  const { tgz } = packed();
  const app = mkdtempSync(join(tmpdir(), 'sansio-app-'));
  try {
    mkdirSync(app, { recursive: true });
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
    execFileSync(npm, ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', tgz], { cwd: app, stdio: 'pipe' });
    writeFileSync(join(app, 'esm.mjs'), [
      "import { runConformance } from 'sansio-iostream/conformance';",
      "import { memoryPair } from 'sansio-iostream/memory';",
      "import { StreamCore } from 'sansio-iostream/core';",
      "import { BaseIOStream } from 'sansio-iostream/facade';",
      "import { IOStream } from 'sansio-iostream';",
      "const [a, b] = memoryPair();",
      "await a.write('ping\\n');",
      "const line = new TextDecoder().decode(await b.readUntil('\\n'));",
      "console.log(typeof runConformance, typeof StreamCore, typeof IOStream, a instanceof BaseIOStream, JSON.stringify(line));",
      "a.close(); b.close();",
    ].join('\n'));
    writeFileSync(join(app, 'cjs.cjs'), [
      "const { runConformance } = require('sansio-iostream/conformance');",
      "const { StreamCore } = require('sansio-iostream/core');",
      "const { SSLIOStream } = require('sansio-iostream');",
      "console.log(typeof runConformance, typeof StreamCore, typeof SSLIOStream);",
    ].join('\n'));
    t.equal(execFileSync(process.execPath, ['esm.mjs'], { cwd: app, encoding: 'utf8' }).trim(), 'function function function true "ping\\n"', 'ESM consumer');
    t.equal(execFileSync(process.execPath, ['cjs.cjs'], { cwd: app, encoding: 'utf8' }).trim(), 'function function function', 'CJS consumer');

    // What a user sees: an uncaught error from the library, with Node's source maps on, points
    // at a .ts line and quotes it, although no .ts file is installed (the map carries it).
    writeFileSync(join(app, 'throws.cjs'), "const { StreamCore } = require('sansio-iostream/core');\nnew StreamCore().readBytes(-1);\n");
    const run = spawnSync(process.execPath, ['--enable-source-maps', 'throws.cjs'], { cwd: app, encoding: 'utf8' });
    t.notEqual(run.status, 0, 'the script fails (RangeError)');
    const at = /node_modules[\\/]sansio-iostream[\\/]((?:core|drivers|conformance)[\\/][\w.-]+\.ts):(\d+)\r?\n(.*)/.exec(run.stderr);
    t.ok(at !== null, `the error is reported at a .ts line with its source quoted:\n${run.stderr.split('\n').slice(0, 3).join('\n')}`);
    if (at !== null) {
      const [, file, line, quoted] = at as unknown as [string, string, string, string];
      t.notOk(existsSync(join(app, 'node_modules', 'sansio-iostream', file)), `${file} is not installed`);
      const real = readFileSync(join(root, file), 'utf8').split('\n')[Number(line) - 1];
      t.equal(quoted, real, `the quoted line is ${file}:${line} of the source`);
    }
  } finally {
    rmSync(app, { recursive: true, force: true });
  }
  t.end();
});

// Code written against BaseIOStream (the embedding promise) must accept every driver's stream:
// a compile-time check, run by `npm run typecheck`, of assignability from each driver class.
type Accepts<T extends BaseIOStream> = T;
export type EveryDriverIsABaseIOStream = [
  Accepts<IOStream>, Accepts<SSLIOStream>, Accepts<PipeIOStream>, Accepts<WebIOStream>, Accepts<MemoryIOStream>,
  Accepts<IOStream | SSLIOStream | WebIOStream>,
];
