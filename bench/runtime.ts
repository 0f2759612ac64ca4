// bench/runtime: a `true` container, side by side: berth-runc run, runc run, crun run, the
// in-process library path, the bare namespace floor and a Node start. Medians and ratios, one run.
//
// Run as root: `npm run bench:runtime [-- --runs N]`. crun 1.8 refuses this machine's hybrid
// cgroup layout (a cgroup2 mount holding hugetlb), so the bench re-executes itself in a private
// mount namespace where that mount is hidden, and every runtime gets the same view.
import { spawnSync } from 'node:child_process';

import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeBundle, repoRoot, tempDir, haveCommand } from '../test/fixtures/rootfs.js';
import { nestedAbsoluteCgroupBase, removeCgroupTree } from '../test/fixtures/cgroup.js';
import { Runtime } from '../src/runtime/container/runtime.js';

const args = process.argv.slice(2);
const runs = Number(args[args.indexOf('--runs') + 1] ?? 0) || 40;
const self = fileURLToPath(import.meta.url);

if (process.getuid?.() !== 0) {
  console.error('bench/runtime: needs root');
  process.exit(2);
}

if (!process.env.BERTH_BENCH_INNER) {
  const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c',
    'umount -l /sys/fs/cgroup/unified 2>/dev/null; exec "$@"', 'sh', process.execPath, self, ...args],
  { stdio: 'inherit', env: { ...process.env, BERTH_BENCH_INNER: '1' } });
  process.exit(r.status ?? 1);
}

const base = nestedAbsoluteCgroupBase();
if (!base) {
  console.error('bench/runtime: this process\'s cgroups differ across hierarchies; cannot nest every runtime under them');
  process.exit(2);
}
const group = `berth-bench-${process.pid}`;
const tmp = tempDir('berth-bench-runtime-');
let seq = 0;

function config(cgroupsPath: string): unknown {
  return {
    ociVersion: '1.0.2',
    process: { terminal: false, user: { uid: 0, gid: 0 }, args: ['/bin/true'], cwd: '/', env: ['PATH=/bin:/usr/bin'],
      capabilities: { bounding: ['CAP_KILL'], effective: ['CAP_KILL'], permitted: ['CAP_KILL'] }, noNewPrivileges: true },
    root: { path: 'rootfs', readonly: true },
    hostname: 'bench',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    ],
    linux: {
      cgroupsPath,
      namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }],
      maskedPaths: ['/proc/kcore'],
      readonlyPaths: ['/proc/sys'],
    },
  };
}

// One bundle per runtime so each gets its own cgroupsPath (absolute: crun treats relative ones as absolute).
function bundle(name: string): string {
  const dir = join(tmp.path, name);
  return makeBundle(dir, config(`${base === '/' ? '' : base}/${group}/${name}`));
}

type Candidate = { name: string; run: () => Promise<void> | void; skip?: string };

function cmd(argv: string[]): () => void {
  return () => {
    const r = spawnSync(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
    if (r.status !== 0) throw new Error(`${argv.join(' ')}: exit ${r.status}: ${r.stderr}`);
  };
}

const berthRunc = join(repoRoot, 'bin', 'berth-runc.cjs');
const bundles = Object.fromEntries(['berth-runc', 'runc', 'crun', 'library', 'floor'].map((n) => [n, bundle(n)]));
const rt = new Runtime({ root: join(tmp.path, 'lib-root') });

const candidates: Candidate[] = [
  { name: 'floor: unshare+chroot true', run: cmd(['unshare', '-fpmuin', 'chroot', join(bundles.floor!, 'rootfs'), '/bin/true']) },
  { name: 'node -e 0', run: cmd([process.execPath, '-e', '0']) },
  { name: 'crun run', skip: haveCommand('crun') ? undefined : 'crun not installed',
    run: () => cmd(['crun', '--root', join(tmp.path, 'crun-root'), 'run', '-b', bundles.crun!, `c${++seq}`])() },
  { name: 'runc run', skip: haveCommand('runc') ? undefined : 'runc not installed',
    run: () => cmd(['runc', '--root', join(tmp.path, 'runc-root'), 'run', '-b', bundles.runc!, `r${++seq}`])() },
  { name: 'berth-runc run', run: () => cmd([berthRunc, '--root', join(tmp.path, 'berth-root'), 'run', '-b', bundles['berth-runc']!, `b${++seq}`])() },
  { name: 'library create+start+wait+delete', run: async () => {
    const id = `l${++seq}`;
    const { child } = await rt.create(id, bundles.library!, { detach: false, stdio: 'ignore' });
    const exited = new Promise<void>((res) => (child.exitCode !== null ? res() : child.once('exit', () => res())));
    await rt.start(id);
    await exited;
    await rt.delete(id);
  } },
];

const times = new Map<string, number[]>(candidates.map((c) => [c.name, []]));
const active = candidates.filter((c) => !c.skip);
try {
  for (let i = 0; i < runs + 3; i++) {
    // Round-robin, so drift on a noisy machine hits every candidate alike; 3 warm-up rounds.
    for (const c of active) {
      const t0 = process.hrtime.bigint();
      await c.run();
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (i >= 3) times.get(c.name)!.push(ms);
    }
  }
} finally {
  removeCgroupTree(`${base}/${group}`.replace(/^\/+/, ''));
  tmp.cleanup();
}

const q = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * (s.length - 1) + 0.5))]!;
};
const med = (name: string) => (times.get(name)!.length ? q(times.get(name)!, 0.5) : NaN);
console.log(`bench/runtime: ${runs} runs each, round-robin, ms (wall, from this Node process)`);
console.log(`${'candidate'.padEnd(36)}${'median'.padStart(9)}${'p10'.padStart(9)}${'p90'.padStart(9)}${'/crun'.padStart(8)}${'/runc'.padStart(8)}`);
for (const c of candidates) {
  const xs = times.get(c.name)!;
  if (c.skip) { console.log(`${c.name.padEnd(36)}  skipped: ${c.skip}`); continue; }
  const m = q(xs, 0.5);
  console.log(`${c.name.padEnd(36)}${m.toFixed(2).padStart(9)}${q(xs, 0.1).toFixed(2).padStart(9)}${q(xs, 0.9).toFixed(2).padStart(9)}${(m / med('crun run')).toFixed(2).padStart(8)}${(m / med('runc run')).toFixed(2).padStart(8)}`);
}
const lib = med('library create+start+wait+delete') / med('crun run');
const cli = med('berth-runc run') / med('runc run');
console.log(`target library <= 1.2x crun: ${lib.toFixed(2)}x ${lib <= 1.2 ? 'met' : 'NOT met'}`);
console.log(`target berth-runc run <= 3.5x runc run: ${cli.toFixed(2)}x ${cli <= 3.5 ? 'met' : 'NOT met'}`);
