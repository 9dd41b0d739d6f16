/**
 * Builds the probes with esbuild. Their sources import the package's source entry points (so
 * `npm run typecheck` checks them); a plugin rewrites each such import onto the package subpath
 * that entry point is published as, and refuses any other import outside test/runtimes/, so no
 * source module of the project can slip into a probe: what runs is the tarball. The probes'
 * own files (test/runtimes, test/_support) are bundled as they are.
 *
 * - `external`: the subpaths stay imports (`sansio-iostream/web`…), resolved at run time from
 *   the scratch install next to the output (Node, Bun, Deno).
 * - `bundle`: the subpaths are resolved from that install and bundled, for a browser page.
 */
import * as esbuild from 'esbuild';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');
/**
 * The probes' own files: test/ (this folder and test/_support) and examples/ (the driver guide's
 * MessageChannel driver runs on every runtime), never a node_modules inside them.
 */
const ownDirs = [join(root, 'test') + sep, join(root, 'examples') + sep];
export const isTestFile = (p: string): boolean => ownDirs.some((d) => p.startsWith(d)) && !p.includes(`${sep}node_modules${sep}`);

/** Source entry point → published subpath (the `input` of rollup.config.js, by package.json "exports"). */
export const ENTRY_POINTS: Readonly<Record<string, string>> = {
  'drivers/index.ts': 'sansio-iostream',
  'core/index.ts': 'sansio-iostream/core',
  'drivers/memory/index.ts': 'sansio-iostream/memory',
  'drivers/web/index.ts': 'sansio-iostream/web',
  'drivers/facade/index.ts': 'sansio-iostream/facade',
  'conformance/index.ts': 'sansio-iostream/conformance',
};

function toPackage(mode: 'external' | 'bundle', installDir: string): esbuild.Plugin {
  return {
    name: 'source-entry-to-package',
    setup(build) {
      // The examples import the package by name, as a user would: from the install, never the sources.
      build.onResolve({ filter: /^sansio-iostream(\/|$)/ }, async (args) => {
        if (!isTestFile(args.importer)) return undefined;
        if (!Object.values(ENTRY_POINTS).includes(args.path)) return { errors: [{ text: `${relative(root, args.importer)} imports ${args.path}, which is no public entry point` }] };
        if (mode === 'external') return { path: args.path, external: true };
        const found = await build.resolve(args.path, { resolveDir: installDir, kind: args.kind });
        return found.errors.length > 0 ? { errors: found.errors } : { path: found.path };
      });
      build.onResolve({ filter: /^\.\.?\// }, async (args) => {
        if (!isTestFile(args.importer)) return undefined; // inside the package: its own chunks
        const target = resolve(args.resolveDir, args.path);
        if (isTestFile(target)) return { path: target.replace(/\.js$/, '.ts') };
        // Anything else of the project must be an entry point, taken from the package.
        const source = relative(root, target).replace(/\.js$/, '.ts');
        const spec = ENTRY_POINTS[source];
        if (spec === undefined) {
          return { errors: [{ text: `${relative(root, args.importer)} imports ${args.path}, which is no public entry point (${Object.keys(ENTRY_POINTS).join(', ')})` }] };
        }
        if (mode === 'external') return { path: spec, external: true };
        const found = await build.resolve(spec, { resolveDir: installDir, kind: args.kind });
        return found.errors.length > 0 ? { errors: found.errors } : { path: found.path };
      });
    },
  };
}

/**
 * Builds `entry` (a file of test/runtimes/) to `outfile`. `installDir` holds the scratch install
 * of the tarball (`node_modules/sansio-iostream`). Returns the input files esbuild read.
 */
export async function buildProbe(entry: string, outfile: string, mode: 'external' | 'bundle', installDir: string): Promise<string[]> {
  const result = await esbuild.build({
    entryPoints: [join(here, entry)],
    outfile,
    bundle: true,
    format: 'esm',
    target: 'es2022',
    platform: mode === 'bundle' ? 'browser' : 'neutral',
    // Node built-ins stay imports on the server runtimes; in the browser build they are an error.
    external: mode === 'bundle' ? [] : ['node:*'],
    plugins: [toPackage(mode, installDir)],
    metafile: true,
    logLevel: 'silent',
    absWorkingDir: root,
  });
  return Object.keys(result.metafile.inputs).map((p) => resolve(root, p));
}
