// bench/engine: the whole engine through the real docker CLI, side by side: berthd vs a private dockerd (+ containerd).
//
// Same CLI, same image (the busybox fixture loaded into both), containers with --network none:
//   - median latency of `docker run --rm --network none busybox true`
//   - 20 containers `run -d` one after another (containers per second), and 10 at once (wall time),
//     each the median of 3 bursts
//   - idle RSS of berthd vs dockerd + containerd
// Run as root after a build: `npx tsc -p . && node dist/bench/engine.js [--runs N]`.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DOCKER, berthdSkipReason, startBerthd, type Berthd } from '../test/fixtures/berthd.js';
import { dockerdSkipReason, makeTestCgroup, startDockerd, type Dockerd, type TestCgroup } from '../test/fixtures/daemons.js';
import { buildDockerSaveTar } from '../test/fixtures/image.js';
import { repoRoot, tempDir } from '../test/fixtures/rootfs.js';
import { fmt, median, now, ratio } from './stats.js';

const args = process.argv.slice(2);
const opt = (name: string, def: number) => Number(args[args.indexOf(name) + 1] ?? 0) || def;
const runs = opt('--runs', 15);
const SEQ = 20;
const PAR = 10;
const BURSTS = 3;
const IMAGE = 'busybox:latest';


function rssKb(pid: number): number {
  try {
    return Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
  } catch {
    return NaN;
  }
}

interface Target {
  name: string;
  env: NodeJS.ProcessEnv;
  /** PIDs whose RSS makes the daemon's idle footprint. */
  pids: number[];
}

function docker(t: Target, a: string[], bin = DOCKER): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(bin, a, { env: t.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (x: Buffer) => { stdout += x.toString(); });
    c.stderr.on('data', (x: Buffer) => { stderr += x.toString(); });
    c.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

async function must(t: Target, a: string[]): Promise<string> {
  const r = await docker(t, a);
  if (r.status !== 0) throw new Error(`${t.name}: docker ${a.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

interface Result { idleRssKb: number; loadRssKb: number; afterRssKb?: number; runMs?: number; seqPerSec?: number; parMs?: number; note?: string }

async function measure(t: Target, canRun: boolean): Promise<Result> {
  // Right after the image load, and idle: 3 s later with no request (garbage of the load collected),
  // the same for both daemons.
  const rss = () => t.pids.reduce((n, p) => n + rssKb(p), 0);
  const loadRssKb = rss();
  await new Promise((r) => setTimeout(r, 3000));
  const res: Result = { idleRssKb: rss(), loadRssKb };
  if (!canRun) {
    res.note = 'no containers (engine not built)';
    return res;
  }
  const run = ['run', '--rm', '--network', 'none', IMAGE, 'true'];
  for (let i = 0; i < 2; i++) await must(t, run); // warm-up
  const lat: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = now();
    await must(t, run);
    lat.push(now() - t0);
  }
  res.runMs = median(lat);
  // Bursts are noisier than single runs (each waits on its slowest moment): the median of BURSTS.
  const rates: number[] = [];
  const walls: number[] = [];
  for (let b = 0; b < BURSTS; b++) {
    const ids: string[] = [];
    const t0 = now();
    for (let i = 0; i < SEQ; i++) ids.push((await must(t, ['run', '-d', '--network', 'none', IMAGE, 'sleep', '600'])).trim());
    rates.push(SEQ / ((now() - t0) / 1000));
    await must(t, ['rm', '-f', ...ids]);
    const t1 = now();
    const par = await Promise.all(Array.from({ length: PAR }, () => must(t, ['run', '-d', '--network', 'none', IMAGE, 'sleep', '600'])));
    walls.push(now() - t1);
    await must(t, ['rm', '-f', ...par.map((x) => x.trim())]);
  }
  res.seqPerSec = median(rates);
  res.parMs = median(walls);
  // Idle again after all that work (every container removed): what the bursts left behind.
  await new Promise((r) => setTimeout(r, 3000));
  res.afterRssKb = rss();
  return res;
}


async function main(): Promise<number> {
  const skip = berthdSkipReason();
  if (skip) {
    console.error(`bench/engine: ${skip}`);
    return 2;
  }
  const tmp = tempDir('berth-bench-engine-');
  let b: Berthd | undefined;
  let dd: Dockerd | undefined;
  let cg: TestCgroup | undefined;
  try {
    const tar = buildDockerSaveTar(tmp.path, IMAGE);
    // The daemon's default log level, as dockerd's below (the test fixture's default is debug).
    b = await startBerthd({ prefix: 'berthd-bench-', args: ['--log-level', 'info'] });
    const bt: Target = { name: 'berthd', env: b.env, pids: [b.pid] };
    await must(bt, ['load', '-i', tar]);
    const canRun = b.hasEngine;
    const results: Record<string, Result> = {};
    results['berthd'] = await measure(bt, canRun);
    // The same `run --rm` through Berth's own CLI (a Node process per command) against berthd.
    let berthCliMs: number | undefined;
    if (canRun) {
      const berthCli = join(repoRoot, 'bin', 'berth.cjs');
      const ct: Target = { name: 'berth CLI', env: { ...b.env, BERTH_NO_AUTOSTART: '1' }, pids: [] };
      const args = ['-H', b.host, 'run', '--rm', '--network', 'none', IMAGE, 'true'];
      const lat: number[] = [];
      for (let i = 0; i < runs + 2; i++) {
        const t0 = now();
        const r = await docker(ct, args, berthCli);
        if (r.status !== 0) throw new Error(`berth ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
        if (i >= 2) lat.push(now() - t0);
      }
      berthCliMs = median(lat);
    }

    const dskip = dockerdSkipReason();
    const made = dskip ? dskip : makeTestCgroup('bench-engine');
    if (typeof made === 'string') {
      console.error(`bench/engine: dockerd side skipped: ${made}`);
    } else {
      cg = made;
      dd = await startDockerd(join(tmp.path, 'dockerd'), { cgroupParent: cg.path });
      const cli = join(tmp.path, 'dockerd-cli');
      mkdirSync(cli, { recursive: true });
      const dt: Target = { name: 'dockerd', env: { PATH: process.env.PATH, HOME: tmp.path, DOCKER_HOST: dd.host, DOCKER_CONFIG: cli }, pids: [dd.pid, dd.containerd.pid] };
      await must(dt, ['load', '-i', tar]);
      results['dockerd'] = await measure(dt, canRun);
    }

    const B = results['berthd']!;
    const D = results['dockerd'];
    console.log(`bench/engine: docker CLI ${DOCKER}, ${runs} runs, bursts: median of ${BURSTS}, image ${IMAGE}${canRun ? '' : ' (containers skipped: engine not built)'}`);
    // The targets beside each figure (reported, never asserted: this machine is noisy).
    console.log(['metric', 'berthd', 'dockerd', 'berthd/dockerd', 'target'].join('\t'));
    console.log(['run --rm true (median ms)', fmt(B.runMs, 1), fmt(D?.runMs, 1), ratio(B.runMs, D?.runMs), '<= 0.25x'].join('\t'));
    console.log([`run -d x${SEQ} sequential (per s)`, fmt(B.seqPerSec, 2), fmt(D?.seqPerSec, 2), ratio(B.seqPerSec, D?.seqPerSec), '>= 4x'].join('\t'));
    console.log([`run -d x${PAR} at once (ms)`, fmt(B.parMs, 1), fmt(D?.parMs, 1), ratio(B.parMs, D?.parMs), ''].join('\t'));
    console.log(['berth run --rm true vs docker (median ms)', fmt(berthCliMs, 1), fmt(D?.runMs, 1), ratio(berthCliMs, D?.runMs), '<= 0.5x'].join('\t'));
    console.log(['RSS right after the image load (MiB)', fmt(B.loadRssKb / 1024, 1), fmt(D ? D.loadRssKb / 1024 : undefined, 1), ratio(B.loadRssKb, D?.loadRssKb), ''].join('\t'));
    console.log(['idle RSS, 3 s later (MiB)', fmt(B.idleRssKb / 1024, 1), fmt(D ? D.idleRssKb / 1024 : undefined, 1), ratio(B.idleRssKb, D?.idleRssKb), '<= 55 MiB'].join('\t'));
    const after = (r: Result | undefined) => (r?.afterRssKb === undefined ? undefined : r.afterRssKb / 1024);
    console.log(['idle RSS after the runs, 3 s later (MiB)', fmt(after(B), 1), fmt(after(D), 1), ratio(B.afterRssKb, D?.afterRssKb), ''].join('\t'));
    return 0;
  } finally {
    await b?.stop();
    await dd?.stop();
    await cg?.cleanup();
    if (existsSync(tmp.path)) tmp.cleanup();
  }
}

main().then((code) => { process.exitCode = code; }, (e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
