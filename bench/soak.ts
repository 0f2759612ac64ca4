// bench/soak: N containers through create/start/stop/rm while berthd is killed -9 and restarted at random moments; then nothing may leak and no log line may be lost.
//
// Workers drive the Engine API (our client, over the unix socket). Each container prints L numbered lines, one every
// --line-ms, then waits for SIGTERM; a worker starts it, waits until its last line is in `logs`, stops it, reads its whole
// log, removes it. Containers are writing their logs most of the time, so the kills land while the shims write. A worker
// never assumes a request it sent took effect: after any error it looks (inspect) and carries on from the state it finds,
// so a kill in the middle of create/start/stop/rm is recovered from, not skipped. Most containers run with
// --network none, every Mth on the default bridge. A killer, seeded (the seed is printed), kills berthd at random moments
// and starts it again on the same roots. At the end: `berthd check` with berthd up and down, and the host itself (mounts
// under the roots, cgroups under the parent, veths on the bridge, netns, leases): leaks must be 0, lost lines must be 0.
// With kills asked for, some must have cut requests off and some must have landed while a container was writing its log:
// a run where none did tested nothing and fails.
//
// Run as root after a build: `node dist/bench/soak.js [--containers 100] [--workers 4] [--kills 6] [--lines 50]
//   [--line-ms 20] [--bridge-every 5] [--gap-ms 800-3000] [--seed N]` (npm run bench:soak).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiError, Client } from '../src/client/client.js';
import { errorCode } from '../src/common/errors.js';
import { decodeFrames } from '../src/common/stdcopy.js';
import { berthdSkipReason, startBerthd, type Berthd } from '../test/fixtures/berthd.js';
import { buildDockerSaveTar } from '../test/fixtures/image.js';
import { tempDir } from '../test/fixtures/rootfs.js';
import { fmt, now } from './stats.js';

const args = process.argv.slice(2);
const opt = (name: string, def: string) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : def;
};
const N = Number(opt('--containers', '100'));
const WORKERS = Number(opt('--workers', '4'));
const KILLS = Number(opt('--kills', '6'));
const LINES = Number(opt('--lines', '50'));
const LINE_MS = Number(opt('--line-ms', '20'));
const BRIDGE_EVERY = Number(opt('--bridge-every', '5'));
const [GAP_MIN, GAP_MAX] = opt('--gap-ms', '800-3000').split('-').map(Number) as [number, number];
const SEED = Number(opt('--seed', String(Date.now() % 2 ** 31)));
const IMAGE = 'busybox:latest';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** mulberry32: a small seeded PRNG, so a run can be repeated with its seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The daemon as the workers see it: the current process, and a promise that resolves while it is up. */
class Supervisor {
  b!: Berthd;
  ready: Promise<void> = Promise.resolve();
  done = false;
  readonly restarts: Array<{ atS: number; downMs: number; recoveryMs: number; writing: number }> = [];
  /** Containers started whose last line the worker has not yet seen in the log: their shims are writing. */
  readonly writing = new Set<string>();
}

interface Outcome { name: string; lines: number; missing: number; duplicated: number; exitCode: number; errors: number; interrupted: number; failed?: string }

/** A request the kill cut off: no connection, or a connection dropped before the answer was read. */
const isUnavailable = (e: unknown) => errorCode(e) === 'unavailable' || errorCode(e) === 'cancelled'
  || ['ECONNRESET', 'EPIPE', 'ECONNREFUSED', 'ENOENT'].includes((e as NodeJS.ErrnoException).code ?? '') || (e as Error).message === 'aborted';

/** The container's stdout as text (non-tty logs are stdcopy-framed). */
async function logsOf(c: Client, name: string): Promise<string> {
  const res = await c.request('GET', `/containers/${name}/logs`, { query: { stdout: true, stderr: true } });
  const parts: Buffer[] = [];
  for await (const f of decodeFrames(res.body)) parts.push(f.payload);
  return Buffer.concat(parts).toString();
}

/** Count the numbered lines of `name` in a log: how many of 1..L are missing, how many extra copies. */
function verifyLines(name: string, text: string): { missing: number; duplicated: number } {
  const seen = new Map<number, number>();
  for (const l of text.split('\n')) {
    const m = new RegExp(`^${name} line (\\d+)$`).exec(l);
    if (m) seen.set(Number(m[1]), (seen.get(Number(m[1])) ?? 0) + 1);
  }
  let missing = 0;
  let duplicated = 0;
  for (let i = 1; i <= LINES; i++) {
    const n = seen.get(i) ?? 0;
    if (n === 0) missing++;
    else duplicated += n - 1;
  }
  return { missing, duplicated };
}

/** Drive one container to its end, whatever state the daemon's crashes leave it in. */
async function lifecycle(sup: Supervisor, c: Client, i: number): Promise<Outcome> {
  const name = `soak-${i}`;
  const net = BRIDGE_EVERY > 0 && i % BRIDGE_EVERY === 0 ? 'bridge' : 'none';
  const out: Outcome = { name, lines: 0, missing: 0, duplicated: 0, exitCode: -1, errors: 0, interrupted: 0 };
  let created = false; // the daemon acknowledged the create
  let verified = false; // its log was read and counted
  const pause = LINE_MS > 0 ? `sleep ${LINE_MS / 1000}; ` : '';
  const cmd = `trap 'exit 0' TERM; i=1; while [ $i -le ${LINES} ]; do echo "${name} line $i"; ${pause}i=$((i+1)); done; while :; do sleep 1 & wait $!; done`;
  for (let step = 0; ; step++) {
    if (step > 400 || out.errors > 30) {
      out.failed = `gave up after ${step} steps, ${out.errors} errors`;
      return out;
    }
    try {
      let status: string | undefined;
      try {
        status = (await c.json<{ State: { Status: string; ExitCode: number } }>('GET', `/containers/${name}/json`)).State.Status;
      } catch (e) {
        if (!(e instanceof ApiError && e.status === 404)) throw e;
      }
      if (status === undefined) {
        if (verified) return out; // removed
        if (created) {
          out.failed = 'the container vanished before its log was read';
          out.missing = LINES;
          return out;
        }
        try {
          await c.json('POST', '/containers/create', { query: { name }, body: { Image: IMAGE, Cmd: ['sh', '-c', cmd], HostConfig: { NetworkMode: net } } });
          created = true;
        } catch (e) {
          if (e instanceof ApiError && e.status === 409) continue; // made by a create the crash cut off: look again
          throw e;
        }
        continue;
      }
      created = true;
      switch (status) {
        case 'created':
          await c.request('POST', `/containers/${name}/start`).then((r) => r.body.text());
          break;
        case 'running': {
          // Stop only once the last line is in the log, so every line was written by then.
          const limitS = 20 + Math.ceil((LINES * LINE_MS) / 1000);
          const end = Date.now() + limitS * 1000;
          sup.writing.add(name);
          while (!(await logsOf(c, name)).includes(`${name} line ${LINES}\n`)) {
            if (Date.now() > end) throw new Error(`${name}: line ${LINES} not in the log after ${limitS} s`);
            await sleep(30);
          }
          sup.writing.delete(name);
          await c.request('POST', `/containers/${name}/stop`, { query: { t: 5 } }).then((r) => r.body.text());
          break;
        }
        case 'exited':
        case 'dead':
          sup.writing.delete(name);
          if (!verified) {
            const text = await logsOf(c, name);
            const v = verifyLines(name, text);
            out.missing = v.missing;
            out.duplicated = v.duplicated;
            out.lines = LINES - v.missing + v.duplicated;
            out.exitCode = (await c.json<{ State: { ExitCode: number } }>('GET', `/containers/${name}/json`)).State.ExitCode;
            verified = true;
          }
          await c.request('DELETE', `/containers/${name}`, { query: { force: true } }).then((r) => r.body.text());
          break;
        default: // removing, restarting, paused: look again shortly
          await sleep(50);
      }
    } catch (e) {
      if (isUnavailable(e)) {
        out.interrupted++;
        await sleep(20);
        await sup.ready;
      } else {
        out.errors++;
        if (out.errors <= 3) console.error(`soak: ${name}: ${(e as Error).message}`);
        await sleep(100);
        await sup.ready;
      }
    }
  }
}

/** What is on the host under this daemon: mounts under the roots, cgroups under the parent, bridge ports, netns, leases. */
function hostLeftovers(b: Berthd): string[] {
  const out: string[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const mp = line.split(' ')[4];
    if (mp && (mp.startsWith(b.dataRoot + '/') || mp.startsWith(b.execRoot + '/'))) out.push(`mount ${mp}`);
  }
  try {
    const { dirs } = JSON.parse(readFileSync(join(b.execRoot, 'cgroup-parent.json'), 'utf8')) as { dirs: string[] };
    for (const d of dirs) {
      if (!existsSync(d)) continue;
      for (const n of readdirSync(d, { withFileTypes: true })) if (n.isDirectory()) out.push(`cgroup ${join(d, n.name)}`);
    }
  } catch (e) {
    out.push(`cgroup-parent.json: ${(e as Error).message}`);
  }
  const bridge = `bt${b.execRoot.slice(-6)}`;
  if (existsSync(`/sys/class/net/${bridge}/brif`)) for (const p of readdirSync(`/sys/class/net/${bridge}/brif`)) out.push(`veth ${p} on ${bridge}`);
  for (const n of existsSync(join(b.execRoot, 'netns')) ? readdirSync(join(b.execRoot, 'netns')) : []) out.push(`netns ${n}`);
  const ipam = join(b.dataRoot, 'network', 'ipam');
  for (const net of existsSync(ipam) ? readdirSync(ipam) : []) {
    for (const f of readdirSync(join(ipam, net))) if (!/^(lock|last_reserved_ip\.\d+)$/.test(f)) out.push(`lease ${net.slice(0, 12)}/${f}`);
  }
  return out;
}

async function main(): Promise<number> {
  const skip = berthdSkipReason();
  if (skip) {
    console.error(`bench/soak: ${skip}`);
    return 2;
  }
  console.log(`bench/soak: seed ${SEED}; ${N} containers, ${WORKERS} workers, ${LINES} lines each ${LINE_MS} ms apart, every ${BRIDGE_EVERY}th on the bridge; up to ${KILLS} kills ${GAP_MIN}-${GAP_MAX} ms apart`);
  const random = rng(SEED);
  const tmp = tempDir('berth-bench-soak-');
  const sup = new Supervisor();
  let client: Client | undefined;
  try {
    const tar = buildDockerSaveTar(tmp.path, IMAGE);
    sup.b = await startBerthd({ prefix: 'berthd-soak-' });
    const load = sup.b.docker(['load', '-i', tar]);
    if (load.status !== 0) throw new Error(`docker load: ${load.stderr}`);
    const roots = { dir: sup.b.dir, execRoot: sup.b.execRoot };
    client = new Client({ host: sup.b.host });

    const t0 = now();
    let next = 0;
    const outcomes: Outcome[] = [];
    const workers = Array.from({ length: WORKERS }, async () => {
      while (next < N) {
        const i = next++;
        outcomes.push(await lifecycle(sup, client!, i));
      }
    });
    const killer = (async () => {
      for (let k = 0; k < KILLS; k++) {
        const gap = GAP_MIN + random() * (GAP_MAX - GAP_MIN);
        const until = now() + gap;
        while (now() < until && !sup.done) await sleep(20);
        if (sup.done) return;
        let up!: () => void;
        sup.ready = new Promise((r) => (up = r));
        const tKill = now();
        const writing = sup.writing.size;
        process.kill(sup.b.pid, 'SIGKILL');
        await sup.b.exited;
        await sleep(random() * 300); // sometimes the workers find no daemon at all for a moment
        const tSpawn = now();
        sup.b = await startBerthd({ reuse: roots });
        const tUp = now();
        sup.restarts.push({ atS: (tKill - t0) / 1000, downMs: tUp - tKill, recoveryMs: tUp - tSpawn, writing });
        up();
      }
    })();
    await Promise.all(workers);
    sup.done = true;
    await killer;
    const wallS = (now() - t0) / 1000;

    // Leaks: the check with berthd up, then what the host shows, then the check with berthd down (stopped cleanly).
    const upCheck = sup.b.check(['--settle', '2s']);
    const left = hostLeftovers(sup.b);
    const ps = await client.json<unknown[]>('GET', '/containers/json', { query: { all: true } });
    await sup.b.stop({ keepContainers: true });
    const downCheck = sup.b.check();
    sup.b = await startBerthd({ reuse: roots });

    const failed = outcomes.filter((o) => o.failed);
    const linesLost = outcomes.reduce((n, o) => n + o.missing, 0);
    const linesDup = outcomes.reduce((n, o) => n + o.duplicated, 0);
    const cutOff = outcomes.reduce((n, o) => n + o.interrupted, 0);
    const killsWhileWriting = sup.restarts.filter((r) => r.writing > 0).length;
    // Kills that cut nothing off, or that never met a log being written, tested neither path.
    const idleKills = sup.restarts.length > 0 && (cutOff === 0 || killsWhileWriting === 0);
    const leaks = upCheck.report.findings.length + downCheck.report.findings.length + left.length + ps.length;
    const rec = sup.restarts.map((r) => r.recoveryMs);
    console.log(['metric', 'value'].join('\t'));
    console.log(['containers', `${outcomes.length - failed.length}/${N} completed`].join('\t'));
    console.log(['wall time (s)', fmt(wallS, 1)].join('\t'));
    console.log(['containers/s', fmt(N / wallS, 2)].join('\t'));
    console.log(['kills (-9)', String(sup.restarts.length)].join('\t'));
    console.log(['restarts', String(sup.restarts.length)].join('\t'));
    console.log(['recovery after each restart (ms, spawn to API up)', rec.map((x) => fmt(x)).join(' ') || 'n/a'].join('\t'));
    console.log(['down time per kill (ms, kill to API up)', sup.restarts.map((r) => fmt(r.downMs)).join(' ') || 'n/a'].join('\t'));
    console.log(['kill times (s into the run)', sup.restarts.map((r) => fmt(r.atS, 1)).join(' ') || 'n/a'].join('\t'));
    console.log(['containers writing their log at each kill', sup.restarts.map((r) => String(r.writing)).join(' ') || 'n/a'].join('\t'));
    console.log(['kills while logs were written (must be > 0)', String(killsWhileWriting)].join('\t'));
    console.log(['requests cut off by a kill (must be > 0)', String(cutOff)].join('\t'));
    console.log(['API errors (retried)', String(outcomes.reduce((n, o) => n + o.errors, 0))].join('\t'));
    console.log(['exits other than 0', String(outcomes.filter((o) => o.exitCode !== 0).length)].join('\t'));
    console.log(['leaks (must be 0)', String(leaks)].join('\t'));
    console.log(['lines lost (must be 0)', String(linesLost)].join('\t'));
    console.log(['lines duplicated (must be 0)', String(linesDup)].join('\t'));
    for (const f of [...upCheck.report.findings, ...downCheck.report.findings]) console.log(`leak: ${f.kind}: ${f.message}`);
    for (const l of left) console.log(`leak: host: ${l}`);
    if (ps.length) console.log(`leak: ${ps.length} containers left`);
    for (const o of failed) console.log(`failed: ${o.name}: ${o.failed}`);
    for (const o of outcomes.filter((x) => x.missing || x.duplicated)) console.log(`lines: ${o.name}: ${o.missing} missing, ${o.duplicated} duplicated`);
    if (idleKills) console.log(`FAILED: the kills ${cutOff === 0 ? 'cut no request off' : 'never landed while a log was written'}; they tested nothing (try more containers or kills, or another --seed)`);
    console.log(`bench/soak: seed ${SEED} (repeat with --seed ${SEED})`);
    return leaks === 0 && linesLost === 0 && linesDup === 0 && failed.length === 0 && !idleKills ? 0 : 1;
  } finally {
    await client?.close();
    await sup.b?.stop();
    tmp.cleanup();
  }
}

main().then((code) => { process.exitCode = code; }, (e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
