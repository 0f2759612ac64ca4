// Bundles each command-line entry point into one ESM file under dist/: loading one file instead
// of dozens of modules is most of what a short-lived command like berth-runc spends after Node starts.
import { build } from 'esbuild';

await build({
  entryPoints: { 'berth-runc': 'src/runtime/runc-cli/main.ts' },
  outdir: 'dist',
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: true,
  logLevel: 'warning',
});
