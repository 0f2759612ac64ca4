// Bundles each entry point into one CommonJS file under dist/: loading one file instead of
// dozens of ES modules is most of what a short-lived command like berth-runc spends after Node
// starts (measured: ~10 ms less than the same bundle as ESM). berthd is bundled too, for its
// memory: ~150 modules' records and their 2.4 MB of source text, kept by V8 for the daemon's
// life, become one file with its whitespace minified (identifiers kept, for readable stacks).
import { build } from 'esbuild';

const common = {
  outdir: 'dist',
  outExtension: { '.js': '.cjs' },
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  packages: 'external',
  sourcemap: true,
  logLevel: 'warning',
  // Modules find native/build relative to themselves through import.meta.url.
  define: { 'import.meta.url': '__berthModuleUrl' },
  banner: { js: 'const __berthModuleUrl = require("node:url").pathToFileURL(__filename).href;' },
};

await build({ ...common, entryPoints: { 'berth-runc': 'src/runtime/runc-cli/main.ts', berth: 'src/cli/main.ts' } });
await build({ ...common, entryPoints: { berthd: 'src/berthd.ts' }, minifyWhitespace: true, minifySyntax: true });
