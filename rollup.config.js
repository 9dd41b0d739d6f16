import { defineConfig } from "rollup";
import typescript from "@rollup/plugin-typescript";
import { dts } from "rollup-plugin-dts";
import { builtinModules } from "node:module";
import { readFileSync } from "node:fs";

const pkg = JSON.parse(readFileSync(new URL("./package.json", import.meta.url), "utf8"));

// One entry per public subpath in package.json "exports".
const input = {
  index: "drivers/index.ts",
  core: "core/index.ts",
  memory: "drivers/memory/index.ts",
  web: "drivers/web/index.ts",
  facade: "drivers/facade/index.ts",
  conformance: "conformance/index.ts",
};

const external = [
  ...builtinModules,
  ...builtinModules.map((m) => `node:${m}`),
  ...Object.keys(pkg.dependencies ?? {}),
  ...Object.keys(pkg.peerDependencies ?? {}),
];

export default defineConfig([
  {
    input,
    external,
    // The maps point at core/, drivers/ and conformance/, which the package does not ship: the
    // sources are inlined (TypeScript's inlineSources feeds rollup's sourcesContent) so that a
    // debugger or stack-trace mapper in an installed package shows the real TypeScript.
    plugins: [typescript({ tsconfig: "./tsconfig.build.json", inlineSources: true })],
    output: [
      { dir: "dist", format: "es", entryFileNames: "[name].js", chunkFileNames: "chunks/[name]-[hash].js", sourcemap: true, sourcemapExcludeSources: false },
      { dir: "dist", format: "cjs", entryFileNames: "[name].cjs", chunkFileNames: "chunks/[name]-[hash].cjs", sourcemap: true, sourcemapExcludeSources: false, exports: "named" },
    ],
  },
  {
    input,
    external,
    plugins: [dts({ tsconfig: "./tsconfig.build.json" })],
    output: [
      { dir: "dist", format: "es", entryFileNames: "[name].d.ts", chunkFileNames: "chunks/[name]-[hash].d.ts" },
      { dir: "dist", format: "es", entryFileNames: "[name].d.cts", chunkFileNames: "chunks/[name]-[hash].d.cts" },
    ],
  },
]);
