/**
 * The built package (dist/, made by `npm run build`, which `npm test` runs first): every entry
 * point ships ESM, CJS and types, the node-free entry points import no Node built-in, and a
 * packed tarball installed elsewhere works for a third party.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { test } from './_support/harness.js';
import type { BaseIOStream } from '../drivers/base.js';
import type { IOStream } from '../drivers/net.js';
import type { SSLIOStream } from '../drivers/tls.js';
import type { PipeIOStream } from '../drivers/pipe.js';
import type { WebIOStream } from '../drivers/web.js';
import type { MemoryIOStream } from '../drivers/memory.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');

/** What each entry point must export (a sample of names that prove the right module is there). */
const ENTRIES: Record<string, { names: string[]; nodeFree: boolean }> = {
  index: { names: ['BaseIOStream', 'IOStream', 'SSLIOStream', 'PipeIOStream', 'StreamClosedError', 'memoryPair', 'SimLoop', 'TCPServer', 'serve'], nodeFree: false },
  core: { names: ['StreamCore', 'StreamClosedError', 'StreamBufferFullError', 'UnsatisfiableReadError'], nodeFree: true },
  memory: { names: ['memoryPair', 'SimLoop'], nodeFree: true },
  web: { names: ['WebIOStream'], nodeFree: true },
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
});

test('package: a packed tarball installs and imports in a fresh project (ESM, CJS, conformance)', { timeout: 120_000 }, (t) => {
  const work = mkdtempSync(join(tmpdir(), 'sansio-pack-'));
  try {
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const out = execFileSync(npm, ['pack', '--ignore-scripts', '--silent', '--pack-destination', work], { cwd: root, encoding: 'utf8' });
    const tgz = join(work, out.trim().split('\n').pop() as string);
    const app = join(work, 'app');
    execFileSync('mkdir', ['-p', app]);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
    execFileSync(npm, ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', tgz], { cwd: app, stdio: 'pipe' });
    writeFileSync(join(app, 'esm.mjs'), [
      "import { runConformance } from 'sansio-iostream/conformance';",
      "import { memoryPair } from 'sansio-iostream/memory';",
      "import { StreamCore } from 'sansio-iostream/core';",
      "import { IOStream } from 'sansio-iostream';",
      "const [a, b] = memoryPair();",
      "await a.write('ping\\n');",
      "const line = new TextDecoder().decode(await b.readUntil('\\n'));",
      "console.log(typeof runConformance, typeof StreamCore, typeof IOStream, JSON.stringify(line));",
      "a.close(); b.close();",
    ].join('\n'));
    writeFileSync(join(app, 'cjs.cjs'), [
      "const { runConformance } = require('sansio-iostream/conformance');",
      "const { StreamCore } = require('sansio-iostream/core');",
      "const { SSLIOStream } = require('sansio-iostream');",
      "console.log(typeof runConformance, typeof StreamCore, typeof SSLIOStream);",
    ].join('\n'));
    t.equal(execFileSync(process.execPath, ['esm.mjs'], { cwd: app, encoding: 'utf8' }).trim(), 'function function function "ping\\n"', 'ESM consumer');
    t.equal(execFileSync(process.execPath, ['cjs.cjs'], { cwd: app, encoding: 'utf8' }).trim(), 'function function function', 'CJS consumer');
  } finally {
    rmSync(work, { recursive: true, force: true });
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
