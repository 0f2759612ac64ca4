// bench/shim: per-container supervisor cost, side by side in one run: berth-shim (through the
// lifecycle layer, in-process) vs containerd-shim-runc-v2 (a private containerd from Debian,
// driven by ctr). Start-to-exit latency of a `true` container, and RSS / private dirty per
// running container's shim.
//
// Run as root: `npm run bench:shim [-- --runs N --idle K]`.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Lifecycle } from '../src/lifecycle/lifecycle.js';
import { baseConfig } from '../test/conformance/runc-cli.js';
import { makeBusyboxRootfs, tempDir } from '../test/fixtures/rootfs.js';
import { buildOciImageTar } from '../test/fixtures/image.js';
import { containerdSkipReason, makeTestCgroup, startContainerd, type Containerd, type TestCgroup } from '../test/fixtures/daemons.js';
import { removeCgroupTree } from '../test/fixtures/cgroup.js';
import { median, now } from './stats.js';

const args = process.argv.slice(2);
const opt = (name: string, def: number) => Number(args[args.indexOf(name) + 1] ?? 0) || def;
const runs = opt('--runs', 20);
const idle = opt('--idle', 5);
if (process.getuid?.() !== 0) {
  console.error('bench/shim: needs root');
  process.exit(2);
}

const REF = 'docker.io/library/busybox:berth-bench';
const tmp = tempDir('berth-bench-shim-');
const group = `berth-bench-shim-${process.pid}`;

/** Rss and Private_Dirty (kB) of one process, from smaps_rollup. */
function memOf(pid: number): { rss: number; dirty: number } {
  const t = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(t)?.[1] ?? NaN);
  return { rss: kb('Rss'), dirty: kb('Private_Dirty') };
}

type Series = { latency: number[]; rss: number[]; dirty: number[] };
const results: Record<string, Series> = {};
const series = (): Series => ({ latency: [], rss: [], dirty: [] });

// --- Berth: lifecycle (in this process) + berth-shim + berth-init -------------------------------
{
  const rootfs = makeBusyboxRootfs(join(tmp.path, 'rootfs'));
  const lc = await Lifecycle.open({ dataRoot: join(tmp.path, 'data'), stateDir: join(tmp.path, 'state') });
  const spec = (argv: string[], id: string) => baseConfig(argv, `${group}/${id}`) as never;
  const r = (results['berth-shim'] = series());
  try {
    for (let i = 0; i < runs + 2; i++) {
      const id = `t${i}`;
      const t0 = now();
      await lc.createContainer({ id, spec: spec(['/bin/true'], id), rootfs });
      await lc.newTask(id);
      await lc.start(id);
      await lc.wait(id);
      await lc.deleteTask(id);
      await lc.deleteContainer(id);
      if (i >= 2) r.latency.push(now() - t0);
    }
    for (let i = 0; i < idle; i++) {
      const id = `idle${i}`;
      await lc.createContainer({ id, spec: spec(['/bin/sleep', '300'], id), rootfs });
      await lc.newTask(id);
      await lc.start(id);
    }
    await new Promise((res) => setTimeout(res, 500));
    for (let i = 0; i < idle; i++) {
      const m = memOf(lc.task(`idle${i}`).shimPid!);
      r.rss.push(m.rss);
      r.dirty.push(m.dirty);
    }
  } finally {
    for (let i = 0; i < idle; i++) {
      await lc.kill(`idle${i}`, 'SIGKILL').catch(() => {});
      await lc.wait(`idle${i}`).catch(() => {});
      await lc.deleteTask(`idle${i}`, { force: true }).catch(() => {});
      await lc.deleteContainer(`idle${i}`).catch(() => {});
    }
    await lc.close();
    removeCgroupTree(group);
  }
}

// --- containerd 1.6 + containerd-shim-runc-v2 + runc, driven by ctr ---------------------------
const skip = containerdSkipReason();
const cg = skip ? skip : makeTestCgroup('bench-shim');
if (typeof cg === 'string') {
  console.log(`containerd: skipped: ${cg}`);
} else {
  let cd: Containerd | undefined;
  const r = (results['containerd-shim-runc-v2'] = series());
  try {
    cd = await startContainerd(join(tmp.path, 'containerd'));
    const ctr = (a: string[]) => {
      const res = cd!.ctr('berth-bench', a, { timeout: 60_000 });
      if (res.status !== 0) throw new Error(`ctr ${a.join(' ')}: ${res.stderr}`);
      return res;
    };
    ctr(['images', 'import', buildOciImageTar(tmp.path, REF)]);
    const flags = (id: string) => ['--cgroup', `${(cg as TestCgroup).path}/${id}`];
    for (let i = 0; i < runs + 2; i++) {
      const id = `t${i}`;
      const t0 = now();
      ctr(['run', '--rm', '--null-io', ...flags(id), REF, id, 'true']);
      if (i >= 2) r.latency.push(now() - t0);
    }
    for (let i = 0; i < idle; i++) ctr(['run', '-d', '--null-io', ...flags(`idle${i}`), REF, `idle${i}`, 'sleep', '300']);
    await new Promise((res) => setTimeout(res, 500));
    // The shims of our private containerd: their command line names its socket.
    for (const p of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
      let cmd = '';
      try { cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8'); } catch { continue; }
      if (cmd.startsWith('/usr/bin/containerd-shim-runc-v2') && cmd.includes(cd.socket)) {
        const m = memOf(Number(p));
        r.rss.push(m.rss);
        r.dirty.push(m.dirty);
      }
    }
    for (let i = 0; i < idle; i++) {
      cd.ctr('berth-bench', ['task', 'kill', '-s', 'KILL', `idle${i}`]);
    }
  } finally {
    await (cg as TestCgroup).cleanup();
    await cd?.stop();
  }
}
tmp.cleanup();

console.log(`bench/shim: ${runs} start-to-exit runs, ${idle} idle containers per supervisor`);
console.log(`${'supervisor'.padEnd(26)}${'latency ms'.padStart(12)}${'RSS kB'.padStart(10)}${'priv dirty kB'.padStart(15)}`);
for (const [name, r] of Object.entries(results)) {
  console.log(`${name.padEnd(26)}${median(r.latency).toFixed(1).padStart(12)}${median(r.rss).toFixed(0).padStart(10)}${median(r.dirty).toFixed(0).padStart(15)}`);
}
const b = results['berth-shim'];
const c = results['containerd-shim-runc-v2'];
if (b && c && c.latency.length) {
  console.log(`ratios berth/containerd: latency ${(median(b.latency) / median(c.latency)).toFixed(2)}x, RSS ${(median(b.rss) / median(c.rss)).toFixed(3)}x, private dirty ${(median(b.dirty) / median(c.dirty)).toFixed(3)}x`);
  console.log('(containerd latency includes the ctr client start; Berth\'s runs in-process, as the engine does)');
}
console.log(`target berth-shim <= 2048 kB RSS: ${median(b!.rss) <= 2048 ? 'met' : 'NOT met'}; <= 512 kB private dirty: ${median(b!.dirty) <= 512 ? 'met' : 'NOT met'}`);
