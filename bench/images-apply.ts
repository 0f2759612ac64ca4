// bench/images-apply: Berth's layer applier vs GNU tar extracting the same layer; medians and the ratio.
//
// Run as root (ownership is applied as in real pulls):
// `node dist/bench/images-apply.js [--runs N] [--mb N] [--dir /dev/shm]`.
// The layer is a tar of /usr/share/doc (many small files) plus files of /usr/lib/x86_64-linux-gnu
// (large ones) up to about --mb MB. Each run extracts into a fresh temp dir after a `sync`, so
// neither side pays for the other's dirty pages; the tools alternate order run by run.
import { spawnSync } from 'node:child_process';
import { createReadStream, mkdtempSync, mkdirSync, readdirSync, lstatSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyLayer } from '../src/images/tar/apply.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) || dflt : dflt;
};
const runs = opt('--runs', 5);
const targetMb = opt('--mb', 80);
const dirIdx = args.indexOf('--dir');
/** Where the layer and the extractions go: a disk by default; a tmpfs (`--dir /dev/shm`) shows CPU cost alone. */
const base = dirIdx >= 0 ? args[dirIdx + 1]! : tmpdir();

if (process.getuid?.() !== 0) {
  console.error('bench/images-apply: needs root (ownership and devices are applied as in a real pull)');
  process.exit(2);
}
if (spawnSync('tar', ['--version']).status !== 0) {
  console.error('bench/images-apply: GNU tar is not installed');
  process.exit(2);
}

const tmp = mkdtempSync(join(base, 'berth-bench-apply-'));
const cleanup = () => rmSync(tmp, { recursive: true, force: true });
process.on('SIGINT', () => {
  cleanup();
  process.exit(130);
});

/** Entries of `dir` (sorted; directories whole, by `du` size) until `budget` bytes; `files` keeps regular files only. */
function pick(dir: string, budget: number, files: boolean): { paths: string[]; used: number } {
  const paths: string[] = [];
  let used = 0;
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    const st = lstatSync(p);
    if (files && !st.isFile()) continue;
    const size = st.isDirectory() ? Number(spawnSync('du', ['-sb', p], { encoding: 'utf8' }).stdout.split('\t')[0]) || 0 : st.size;
    if (used + size > budget) continue;
    paths.push(p.slice(1));
    used += size;
  }
  return { paths, used };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  const layer = join(tmp, 'layer.tar');
  // Half small files (docs), half shared libraries.
  const docs = pick('/usr/share/doc', (targetMb * 1e6) / 2, false);
  const libs = pick('/usr/lib/x86_64-linux-gnu', targetMb * 1e6 - docs.used, true);
  const list = join(tmp, 'files');
  writeFileSync(list, [...docs.paths, ...libs.paths].join('\n'));
  const mk = spawnSync('tar', ['--format=pax', '-cf', layer, '-C', '/', '-T', list], { encoding: 'utf8' });
  if (mk.status !== 0) throw new Error(`building the layer failed: ${mk.stderr}`);
  const size = statSync(layer).size;
  const entries = spawnSync('tar', ['-tf', layer], { encoding: 'utf8', maxBuffer: 1 << 28 }).stdout.split('\n').length - 1;
  console.log(`layer: ${(size / 1e6).toFixed(1)} MB, ${entries} entries; ${runs} runs each, round-robin`);

  const times: Record<'berth' | 'gnu', number[]> = { berth: [], gnu: [] };
  let seq = 0;
  const once = async (tool: 'berth' | 'gnu') => {
    const dir = join(tmp, `x${seq++}`);
    mkdirSync(dir);
    spawnSync('sync');
    const t0 = process.hrtime.bigint();
    if (tool === 'berth') {
      await applyLayer(dir, createReadStream(layer, { highWaterMark: 1 << 20 }), { whiteouts: 'overlay' });
    } else {
      const r = spawnSync('tar', ['-xf', layer, '-C', dir]);
      if (r.status !== 0) throw new Error(`tar -xf failed: ${r.stderr}`);
    }
    times[tool].push(Number(process.hrtime.bigint() - t0) / 1e6);
    rmSync(dir, { recursive: true, force: true });
  };
  await once('berth'); // warm the page cache and the JIT, not counted
  await once('gnu');
  times.berth.length = 0;
  times.gnu.length = 0;
  for (let i = 0; i < runs; i++) {
    for (const tool of (i % 2 === 0 ? ['berth', 'gnu'] : ['gnu', 'berth']) as Array<'berth' | 'gnu'>) await once(tool);
  }
  const mb = size / 1e6;
  const row = (tool: 'berth' | 'gnu') => {
    const m = median(times[tool]);
    return { m, line: `${tool.padEnd(6)} median ${m.toFixed(0).padStart(6)} ms  ${(mb / (m / 1000)).toFixed(0).padStart(5)} MB/s  runs ${times[tool].map((t) => t.toFixed(0)).join(' ')}` };
  };
  const b = row('berth');
  const g = row('gnu');
  console.log(b.line);
  console.log(g.line);
  console.log(`ratio (berth throughput / GNU tar throughput): ${(g.m / b.m).toFixed(2)}`);
}

main().then(cleanup, (err) => {
  cleanup();
  console.error(err);
  process.exit(1);
});
