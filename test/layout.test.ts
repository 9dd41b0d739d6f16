/**
 * The architecture as `ls` shows it, checked from the import graph of the sources:
 * - only `drivers/node/` imports a Node built-in (core/, conformance/ and the portable drivers —
 *   `drivers/facade/`, `drivers/memory/`, `drivers/web/` — never do, not even as a type);
 * - nothing portable reaches `drivers/node/`, directly or through other files, so the
 *   Node-free entry points stay Node-free by construction (test/package.test.ts checks the
 *   built bundles; this checks the sources a driver author reads);
 * - no import circle anywhere in the project's code (core, drivers, conformance, bench,
 *   examples, test);
 * - no file over ~400 lines without the reason stated in its header.
 * Every rule also runs once against a deliberately bad graph, so a scanner that sees nothing
 * cannot pass it.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from './_support/harness.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CODE_DIRS = ['core', 'drivers', 'conformance', 'bench', 'examples', 'test'];
const PORTABLE = ['core/', 'conformance/', 'drivers/facade/', 'drivers/memory/', 'drivers/web/'];
const NODE_WORLD = 'drivers/node/';
const MAX_LINES = 420; // "~400"
const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);

interface SourceFile { path: string; text: string; imports: string[]; local: string[] }

function walk(dir: string, out: string[]): void {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (/\.(ts|mts)$/.test(name) && !name.endsWith('.d.ts')) out.push(p);
  }
}

/** Every specifier a file imports, exports from, `import()`s or `require()`s (type imports included). */
export function specifiersOf(text: string): string[] {
  const specs: string[] = [];
  const re = /(?:^|[;\s])(?:import|export)\s[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]|(?:^|[;\s])import\s*['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)|\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/gm;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) specs.push((m[1] ?? m[2] ?? m[3] ?? m[4]) as string);
  return specs;
}

function load(): Map<string, SourceFile> {
  const files: string[] = [];
  for (const d of CODE_DIRS) walk(join(root, d), files);
  const byPath = new Map<string, SourceFile>();
  for (const abs of files) {
    const path = relative(root, abs).split(sep).join('/');
    const text = readFileSync(abs, 'utf8');
    const imports = specifiersOf(text);
    const local: string[] = [];
    for (const s of imports) {
      if (!s.startsWith('.')) continue;
      const target = relative(root, resolve(dirname(abs), s)).split(sep).join('/').replace(/\.js$/, '.ts');
      local.push(target);
    }
    byPath.set(path, { path, text, imports, local });
  }
  return byPath;
}

function isBuiltin(spec: string): boolean {
  return spec.startsWith('node:') || builtins.has(spec);
}

/** Files of `scope` that import a Node built-in, with what they import. */
function builtinUsers(files: Map<string, SourceFile>, inScope: (p: string) => boolean): string[] {
  const bad: string[] = [];
  for (const f of files.values()) {
    if (!inScope(f.path)) continue;
    const used = f.imports.filter(isBuiltin);
    if (used.length > 0) bad.push(`${f.path} imports ${used.join(', ')}`);
  }
  return bad;
}

/** The first chain from `from` to a file matching `goal`, following local imports. */
function pathTo(files: Map<string, SourceFile>, from: string, goal: (p: string) => boolean): string[] | null {
  const seen = new Set<string>([from]);
  const queue: string[][] = [[from]];
  while (queue.length > 0) {
    const chain = queue.shift() as string[];
    const f = files.get(chain[chain.length - 1] as string);
    for (const next of f?.local ?? []) {
      if (goal(next)) return [...chain, next];
      if (seen.has(next)) continue;
      seen.add(next);
      queue.push([...chain, next]);
    }
  }
  return null;
}

/** Every import circle (as a list of files), found with Tarjan's strongly connected components. */
export function circles(graph: Map<string, readonly string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v) as number, idx.get(w) as number));
      }
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop() as string;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return out;
}

/** The header comment of a file: its leading block comment, if any. */
function header(text: string): string {
  const m = /^\s*(?:#![^\n]*\n)?\s*\/\*\*?([\s\S]*?)\*\//.exec(text);
  return m?.[1] ?? '';
}

const files = load();
const portable = (p: string): boolean => PORTABLE.some((d) => p.startsWith(d));

test('layout: the scanner reads the tree (control)', (t) => {
  t.ok(files.size > 100, `${files.size} source files read`);
  const net = files.get('drivers/node/net.ts');
  t.ok(net?.imports.includes('node:net'), 'drivers/node/net.ts is seen importing node:net');
  t.ok(net?.local.includes('drivers/facade/base-iostream.ts'), 'and the facade it extends');
  t.deepEqual(
    specifiersOf(`import type { A } from 'node:a';\nexport * from './b.js';\nimport './c.js';\nconst d = await import('node:d');\nrequire("e");`),
    ['node:a', './b.js', './c.js', 'node:d', 'e'], 'every import form is recognized');
  t.end();
});

test('layout: only drivers/node/ imports a Node built-in', (t) => {
  const libraryOutsideNode = (p: string): boolean =>
    (p.startsWith('core/') || p.startsWith('conformance/') || p.startsWith('drivers/')) && !p.startsWith(NODE_WORLD)
    && p !== 'drivers/index.ts';
  t.deepEqual(builtinUsers(files, libraryOutsideNode), [], 'no file of core/, conformance/, drivers/{facade,memory,web}/ imports node:*');
  t.ok(builtinUsers(files, (p) => p.startsWith(NODE_WORLD)).length > 0, 'control: drivers/node/ does');
  t.end();
});

test('layout: nothing portable reaches drivers/node/, directly or transitively', (t) => {
  const reached: string[] = [];
  for (const p of files.keys()) {
    if (!portable(p)) continue;
    const chain = pathTo(files, p, (q) => q.startsWith(NODE_WORLD) || (files.get(q)?.imports.some(isBuiltin) ?? false));
    if (chain !== null) reached.push(chain.join(' -> '));
  }
  t.deepEqual(reached, [], 'no import chain from a portable file to drivers/node/ or a built-in');
  const control = pathTo(files, 'drivers/index.ts', (q) => q.startsWith(NODE_WORLD));
  t.ok(control !== null, `control: the root entry does reach drivers/node/ (${control?.join(' -> ') ?? 'none'})`);
  t.end();
});

test('layout: no import circles', (t) => {
  const graph = new Map<string, readonly string[]>();
  for (const f of files.values()) graph.set(f.path, f.local);
  t.deepEqual(circles(graph).map((c) => c.join(' <-> ')), [], 'the import graph has no circle');
  const bad = new Map<string, readonly string[]>([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', ['a']]]);
  t.deepEqual(circles(bad), [['a', 'b', 'c']], 'control: a three-file circle is found');
  t.end();
});

test('layout: no file over ~400 lines without a reason in its header', (t) => {
  const long: string[] = [];
  for (const f of files.values()) {
    const lines = f.text.split('\n').length;
    if (lines > MAX_LINES && !/Longer than ~400 lines/.test(header(f.text))) long.push(`${f.path} (${lines} lines)`);
  }
  t.deepEqual(long, [], `every file over ${MAX_LINES} lines says in its header why ("Longer than ~400 lines, ...")`);
  t.ok(/Longer than ~400 lines/.test(header(files.get('core/stream-core.ts')?.text ?? '')), 'control: the state machine states its reason');
  t.end();
});
