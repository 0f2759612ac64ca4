// berth-shim end to end (docs/shim.md): real containers from the runtime library, driven over shim.sock.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, constants as fsc, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { open as openAsync } from 'node:fs/promises';
import { createConnection, createServer, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { baseConfig } from '../../conformance/runc-cli.js';
import { initBinary, makeBundle, nativeBuild, rootSkipReason, tempDir } from '../../fixtures/rootfs.js';
import { buildCreatePlan, buildExecPlan } from '../../../src/runtime/plan/build.js';
import { encodePlan } from '../../../src/runtime/plan/plan.js';
import { validateSpec } from '../../../src/runtime/spec/validate.js';
import { openCgroups } from '../../../src/runtime/cgroups/open.js';
import type { CgroupManager } from '../../../src/runtime/cgroups/cgroups.js';
import type { Process, Spec } from '../../../src/runtime/spec/types.js';

const shimBinary = join(nativeBuild, 'berth-shim');
const skip = rootSkipReason() ?? (existsSync(shimBinary) && existsSync(initBinary) ? undefined : 'native binaries missing (run make -C native)');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, f: () => T | undefined | false, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie is not running: its parent has just not reaped it yet.
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

type Json = Record<string, any>;

/** A connection to shim.sock: JSON lines first, then (after attach or exec) a byte stream. */
class Conn {
  buf = Buffer.alloc(0);
  ended = false;
  private wake: (() => void) | undefined;
  constructor(readonly sock: Socket) {
    sock.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake?.();
    });
    sock.on('close', () => {
      this.ended = true;
      this.wake?.();
    });
    sock.on('error', () => {});
  }

  /** Connect to DIR/shim.sock, or to `socket` (a shim launched with `--socket`). */
  static open(dir: string, socket = join(dir, 'shim.sock')): Promise<Conn> {
    return new Promise((resolve, reject) => {
      const s = createConnection(socket);
      s.once('connect', () => resolve(new Conn(s)));
      s.once('error', reject);
    });
  }

  /** Wait until `pred` holds on the bytes received, or the stream ends. */
  async until(pred: (b: Buffer) => boolean, ms = 10_000, what = 'shim data'): Promise<Buffer> {
    const end = Date.now() + ms;
    while (!pred(this.buf)) {
      if (this.ended) assert.fail(`${what}: the shim closed the connection; got ${JSON.stringify(this.buf.toString())}`);
      const left = end - Date.now();
      if (left <= 0) assert.fail(`${what}: timed out; got ${JSON.stringify(this.buf.toString().slice(-500))}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.wake = () => {
          clearTimeout(t);
          r();
        };
      });
    }
    return this.buf;
  }

  async line(ms = 10_000): Promise<Json> {
    await this.until((b) => b.includes(0x0a), ms, 'reply line');
    const nl = this.buf.indexOf(0x0a);
    const l = this.buf.subarray(0, nl).toString();
    this.buf = this.buf.subarray(nl + 1);
    return JSON.parse(l) as Json;
  }

  async req(o: Json, ms?: number): Promise<Json> {
    this.sock.write(JSON.stringify(o) + '\n');
    return this.line(ms);
  }

  /** Wait for the shim to close the stream; the bytes after the reply line. */
  async end(ms = 10_000): Promise<Buffer> {
    const end = Date.now() + ms;
    while (!this.ended) {
      if (Date.now() > end) assert.fail(`stream did not end; got ${JSON.stringify(this.buf.toString().slice(-300))}`);
      await sleep(10);
    }
    return this.buf;
  }

  close(): void {
    this.sock.destroy();
  }
}

async function shimReq(dir: string, o: Json): Promise<Json> {
  const c = await Conn.open(dir);
  try {
    return await c.req(o);
  } finally {
    c.close();
  }
}

/** Docker's stdcopy framing, split back into its streams; `complete` is false on a cut frame. */
function demux(b: Buffer): { stdout: string; stderr: string; complete: boolean } {
  let stdout = '';
  let stderr = '';
  let i = 0;
  while (i + 8 <= b.length) {
    const size = b.readUInt32BE(i + 4);
    if (i + 8 + size > b.length) break;
    const data = b.subarray(i + 8, i + 8 + size).toString();
    if (b[i] === 1) stdout += data;
    else if (b[i] === 2) stderr += data;
    else assert.fail(`bad stream id ${b[i]}`);
    i += 8 + size;
  }
  return { stdout, stderr, complete: i === b.length };
}

interface Ctr {
  id: string;
  tmp: string;
  dir: string;
  bundle: string;
  log: string;
  planFile: string;
  spec: Spec;
  mgr: CgroupManager;
  shimPid: number;
  pid: number;
  report: Json;
}

interface CtrOpts {
  terminal?: boolean;
  stdin?: boolean;
  mutate?: (cfg: Json, tmp: string) => void;
  logMaxSize?: number;
  logMaxFiles?: number;
  /** Argv prefix for the launcher (e.g. a shell that exits after starting the shim). */
  launcher?: (argv: string[]) => string[];
  /** The log path (default: a file in the temp dir). */
  log?: string;
  /** Change the world between building the plan and starting the shim. */
  beforeShim?: (tmp: string) => void;
}

const cleanups: Array<() => Promise<void>> = [];
/** The `berth` parent cgroups openCgroups made under ours: removed at the end if nobody uses them. */
const cgroupParents = new Set<string>();
let seq = 0;

/** Run the shim binary as its launcher would: stdout a pipe, read the one report line. */
function launchShim(argv: string[]): Promise<{ report: Json; launcherCode: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    let code: number | null | undefined;
    let report: Json | undefined;
    const timer = setTimeout(() => reject(new Error(`no report from the shim; stdout ${JSON.stringify(out)}`)), 20_000);
    const done = () => {
      if (report && code !== undefined) {
        clearTimeout(timer);
        resolve({ report, launcherCode: code });
      }
    };
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0 && !report) {
        report = JSON.parse(out.slice(0, nl)) as Json;
        done();
      }
    });
    child.stdout!.on('end', () => {
      if (!report) {
        clearTimeout(timer);
        reject(new Error(`shim stdout closed without a report: ${JSON.stringify(out)}`));
      }
    });
    child.on('error', reject);
    child.on('exit', (c) => {
      code = c;
      done();
    });
  });
}

/** Create a container under a new shim, per docs/shim.md; not started yet (blocked on its fifo). */
async function createCtr(args: string[], o: CtrOpts = {}): Promise<Ctr> {
  const t = tempDir('berth-shim-');
  const id = `shim-${process.pid}-${++seq}`;
  const dir = join(t.path, 'state');
  mkdirSync(dir);
  const cfg = baseConfig(args, '') as Json;
  delete cfg.linux.cgroupsPath;
  if (o.terminal) cfg.process.terminal = true;
  o.mutate?.(cfg, t.path);
  const bundle = makeBundle(join(t.path, 'bundle'), cfg);
  // busybox has these; the fixture's applet list does not link them.
  for (const a of ['stty', 'tr']) if (!existsSync(join(bundle, 'rootfs', 'bin', a))) symlinkSync('busybox', join(bundle, 'rootfs', 'bin', a));
  const spec = validateSpec(cfg);
  const mgr = openCgroups({ id });
  let shimPid = 0;
  let pid = 0;
  cleanups.push(async () => {
    // The cgroup's processes die first (destroy kills them); the shim then sees its container exit.
    await mgr.destroy().catch(() => {});
    if (shimPid) {
      const end = Date.now() + 5000;
      while (alive(shimPid) && Date.now() < end) await sleep(20);
      if (alive(shimPid)) process.kill(shimPid, 'SIGKILL');
    }
    if (pid && alive(pid)) process.kill(pid, 'SIGKILL');
    await mgr.destroy().catch(() => {});
    t.cleanup();
  });
  for (const d of Object.values(mgr.hierarchyDirs())) cgroupParents.add(dirname(d));
  await mgr.create(spec.linux?.resources);
  const plan = buildCreatePlan(spec, {
    bundle,
    cgroupProcsFiles: mgr.procsFiles(),
    cgroupMountSources: mgr.hierarchyDirs(),
    hostCgroupVersion: mgr.version,
    execFifo: join(dir, 'exec.fifo'),
    ...(o.terminal ? { consoleSocket: join(dir, 'console.sock') } : {}),
  });
  const planFile = join(t.path, 'plan');
  writeFileSync(planFile, encodePlan(plan));
  o.beforeShim?.(t.path);
  const log = o.log ?? join(t.path, 'ctr.log');
  const memDir = mgr.hierarchyDirs()['memory'];
  const argv = [shimBinary, '--id', id, '--dir', dir, '--init', initBinary, '--plan', planFile, '--log', log,
    ...(o.terminal ? ['--terminal'] : []), ...(o.stdin ? ['--stdin'] : []),
    ...(o.logMaxSize !== undefined ? ['--log-max-size', String(o.logMaxSize)] : []),
    ...(o.logMaxFiles !== undefined ? ['--log-max-files', String(o.logMaxFiles)] : []),
    ...(mgr.version === 1 && memDir ? ['--oom-cgroup', memDir] : []),
    ...(mgr.version === 2 && mgr.hierarchyDirs()[''] ? ['--oom-cgroup2', mgr.hierarchyDirs()['']!] : []),
  ];
  const { report, launcherCode } = await launchShim(o.launcher ? o.launcher(argv) : argv);
  assert.equal(launcherCode, 0, 'the launched process exits 0 at once');
  if (report.type === 'ready') {
    shimPid = report.shim_pid as number;
    pid = report.pid as number;
  }
  return { id, tmp: t.path, dir, bundle, log, planFile, spec, mgr, shimPid, pid, report };
}

/**
 * Start as `runc start` does: open the exec fifo and read the byte berth-init writes. Not
 * `releaseFifo`: its watchdog polls the pid and reports "has stopped" when a container starts
 * and exits before Node's open() returns, which short-lived containers here do.
 */
async function startCtr(c: Ctr): Promise<void> {
  assert.equal(c.report.type, 'ready', JSON.stringify(c.report));
  const fifo = join(c.dir, 'exec.fifo');
  // If the container died before opening its side, our open would block for ever.
  const watchdog = setTimeout(() => {
    try { closeSync(openSync(fifo, fsc.O_WRONLY | fsc.O_NONBLOCK)); } catch { /* no reader */ }
  }, 10_000);
  try {
    const fh = await openAsync(fifo, 'r');
    const { bytesRead, buffer } = await fh.read(Buffer.alloc(1), 0, 1, null);
    await fh.close();
    assert.equal(bytesRead === 1 ? buffer.toString() : '', '0', 'the container took the start signal');
  } finally {
    clearTimeout(watchdog);
  }
}

/** `wait`, or, as the lifecycle layer does when the shim is already gone (or going), exit.json. */
async function waitExit(c: Ctr): Promise<Json> {
  let r: Json | undefined;
  try {
    r = await shimReq(c.dir, { op: 'wait' });
  } catch {
    await until('the shim to exit', () => !alive(c.shimPid));
    return JSON.parse(readFileSync(join(c.dir, 'exit.json'), 'utf8')) as Json;
  }
  assert.equal(r.ok, true, JSON.stringify(r));
  return r.exit as Json;
}

/** The shim is gone and left only exit.json. */
async function assertShimGone(c: Ctr): Promise<Json> {
  await until('the shim to exit', () => !alive(c.shimPid));
  assert.ok(!existsSync(join(c.dir, 'shim.sock')), 'shim.sock removed');
  assert.ok(!existsSync(join(c.dir, 'shim.pid')), 'shim.pid removed');
  return JSON.parse(readFileSync(join(c.dir, 'exit.json'), 'utf8')) as Json;
}

function logEntries(path: string): Array<{ log: string; stream: string; time: string }> {
  return readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

/** The records of a log index (docs/shim.md "Log index"), after checking its header. */
function indexRecords(path: string): Array<{ timeNs: bigint; offset: number }> {
  const b = readFileSync(path);
  assert.equal(b.toString('latin1', 0, 8), 'BERTHIDX');
  assert.equal(b.readUInt32LE(8), 1, 'version');
  assert.equal(b.readUInt32LE(12), 65536, 'interval');
  const out: Array<{ timeNs: bigint; offset: number }> = [];
  for (let i = 16; i + 16 <= b.length; i += 16) out.push({ timeNs: b.readBigUInt64LE(i), offset: Number(b.readBigUInt64LE(i + 8)) });
  return out;
}

/** An RFC 3339 UTC time with up to 9 fraction digits, as nanoseconds since the epoch. */
function rfc3339Ns(t: string): bigint {
  const m = /^(.*?)(?:\.(\d+))?Z$/.exec(t)!;
  return BigInt(Date.parse(`${m[1]}Z`)) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0') || '0');
}

function execProcess(c: Ctr, args: string[], terminal = false): Process {
  return { ...c.spec.process!, args, terminal };
}

function execPlanFile(c: Ctr, name: string, proc: Process, consoleSocket?: string): string {
  const plan = buildExecPlan(proc, {
    containerPid: c.pid,
    namespaces: (c.spec.linux?.namespaces ?? []).map((n) => n.type),
    cgroupProcsFiles: c.mgr.procsFiles(),
    ...(consoleSocket ? { consoleSocket } : {}),
  });
  const f = join(c.tmp, `exec-${name}.plan`);
  writeFileSync(f, encodePlan(plan));
  return f;
}

function smaps(pid: number): { rss: number; privateDirty: number } {
  const txt = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(txt)?.[1] ?? NaN);
  return { rss: kb('Rss'), privateDirty: kb('Private_Dirty') };
}

describe('berth-shim', { skip }, () => {
  after(async () => {
    for (const f of cleanups.reverse()) await f();
    for (const d of cgroupParents) {
      try {
        rmdirSync(d);
      } catch {
        /* still used by another container (EBUSY, ENOTEMPTY), or already gone */
      }
    }
  });

  test('output reaches the json-file log and an attached client; state and wait', async () => {
    const c = await createCtr(['sh', '-c', 'echo out1; echo err1 >&2; echo out2']);
    const st = await shimReq(c.dir, { op: 'state' });
    assert.deepEqual({ ...st }, { ok: true, pid: c.pid, shim_pid: c.shimPid, status: 'running', log_dropped: 0, exec_ns: 0 });
    const a = await Conn.open(c.dir);
    assert.deepEqual(await a.req({ op: 'attach', stdin: false, stdout: true, stderr: true }), { ok: true });
    await startCtr(c);
    const out = demux(await a.end());
    assert.equal(out.stdout, 'out1\nout2\n');
    assert.equal(out.stderr, 'err1\n');
    assert.ok(out.complete);
    const exit = await waitExit(c);
    assert.equal(exit.exit_code, 0);
    assert.equal(exit.signal, 0);
    assert.equal(exit.oom_killed, false);
    const file = await assertShimGone(c);
    assert.deepEqual(file, exit);
    const entries = logEntries(c.log);
    assert.deepEqual(entries.map((e) => [e.stream, e.log]).sort(), [['stderr', 'err1\n'], ['stdout', 'out1\n'], ['stdout', 'out2\n']]);
    assert.deepEqual(entries.filter((e) => e.stream === 'stdout').map((e) => e.log), ['out1\n', 'out2\n']);
    for (const e of entries) {
      assert.match(e.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/);
      assert.ok(Math.abs(Date.parse(e.time) - Date.now()) < 60_000);
    }
    assert.ok(entries.some((e) => /\.\d{4,9}Z$/.test(e.time)), 'times carry sub-millisecond digits');
    assert.ok(Date.parse(exit.finished_at) >= Date.parse(exit.started_at));
  });

  test('berth-init\'s phase times: in the start-up report up to `ready`, `exec` with the exit; on the clock of process.hrtime', async () => {
    const before = process.hrtime.bigint();
    const c = await createCtr(['true']);
    const phases = c.report.phases as Record<string, number>;
    const names = Object.keys(phases);
    for (const n of ['bootstrap', 'cgroup', 'clone', 'namespaces', 'mounts', 'pivot', 'paths', 'process', 'security', 'ready']) assert.ok(names.includes(n), `phase ${n} in ${names.join(' ')}`);
    assert.ok(!names.includes('exec'), 'exec is not reached before the start');
    const times = [c.report.spawn_ns as number, ...Object.values(phases)];
    assert.ok(times.every((v, i) => i === 0 || v >= times[i - 1]!), `in order: ${times.join(' ')}`);
    // CLOCK_MONOTONIC in C is what Node's hrtime reads: the times fall between ours.
    assert.ok(BigInt(times[0]!) >= before && BigInt(times.at(-1)!) <= process.hrtime.bigint());
    const released = process.hrtime.bigint();
    await startCtr(c);
    const exit = await waitExit(c);
    assert.ok(BigInt(exit.exec_ns as number) >= released && (exit.exec_ns as number) > phases.ready!, `exec_ns ${exit.exec_ns}`);
    await assertShimGone(c);
  });

  test('two attached clients both get all output; stdout-only attach gets no stderr', async () => {
    const c = await createCtr(['sh', '-c', 'for i in 1 2 3; do echo o$i; echo e$i >&2; done']);
    const a = await Conn.open(c.dir);
    const b = await Conn.open(c.dir);
    assert.equal((await a.req({ op: 'attach', stdout: true, stderr: true })).ok, true);
    assert.equal((await b.req({ op: 'attach', stdout: true, stderr: false })).ok, true);
    await startCtr(c);
    const oa = demux(await a.end());
    const ob = demux(await b.end());
    assert.equal(oa.stdout, 'o1\no2\no3\n');
    assert.equal(oa.stderr, 'e1\ne2\ne3\n');
    assert.equal(ob.stdout, 'o1\no2\no3\n');
    assert.equal(ob.stderr, '');
    await assertShimGone(c);
  });

  test('stdin through attach; a half-close keeps stdin open, close-stdin gives EOF', async () => {
    const c = await createCtr(['cat'], { stdin: true });
    const a = await Conn.open(c.dir);
    assert.equal((await a.req({ op: 'attach', stdin: true, stdout: true, stderr: true })).ok, true);
    await startCtr(c);
    a.sock.write('hello\n');
    await a.until((b) => demux(b).stdout === 'hello\n');
    a.sock.end(); // half-close: the container's stdin stays open
    await sleep(200);
    assert.equal((await shimReq(c.dir, { op: 'state' })).status, 'running');
    const b = await Conn.open(c.dir);
    assert.equal((await b.req({ op: 'attach', stdin: true, stdout: true })).ok, true);
    b.sock.write('again\n');
    await b.until((x) => demux(x).stdout === 'again\n');
    assert.deepEqual(await shimReq(c.dir, { op: 'close-stdin' }), { ok: true });
    const exit = await waitExit(c);
    assert.equal(exit.exit_code, 0);
    await b.end();
    assert.equal(demux(a.buf).stdout, 'hello\nagain\n');
    await assertShimGone(c);
  });

  test('a terminal: the pty master, raw output, resize seen by stty', async () => {
    const c = await createCtr(['sh', '-c', 'stty size; read x; stty size; echo got-$x'], {
      terminal: true, stdin: true,
      mutate: (cfg) => { cfg.process.consoleSize = { height: 24, width: 80 }; },
    });
    assert.equal(c.report.type, 'ready', JSON.stringify(c.report));
    assert.ok(!existsSync(join(c.dir, 'console.sock')), 'console.sock is transient');
    const a = await Conn.open(c.dir);
    assert.equal((await a.req({ op: 'attach', stdin: true, stdout: true, stderr: true })).ok, true);
    await startCtr(c);
    await a.until((b) => b.toString().includes('24 80'));
    assert.deepEqual(await shimReq(c.dir, { op: 'resize', rows: 33, cols: 101 }), { ok: true });
    a.sock.write('yes\n');
    const out = (await a.end()).toString();
    assert.match(out, /24 80\r\n/);
    assert.match(out, /33 101\r\n/);
    assert.match(out, /got-yes\r\n/);
    assert.equal(out.includes('\x01\x00\x00\x00'), false, 'raw bytes, no stdcopy headers');
    assert.equal((await assertShimGone(c)).exit_code, 0);
    const logged = logEntries(c.log);
    assert.ok(logged.every((e) => e.stream === 'stdout'));
    assert.match(logged.map((e) => e.log).join(''), /33 101/);
  });

  test('exec without a terminal: its own stdio, exit code through wait exec, not in the log', async () => {
    const c = await createCtr(['sh', '-c', 'echo main; exec sleep 100']);
    await startCtr(c);
    const plan = execPlanFile(c, 'e1', execProcess(c, ['sh', '-c', 'read x; echo exec-out-$x; echo exec-err >&2; exit 7']));
    const e = await Conn.open(c.dir);
    const r = await e.req({ op: 'exec', exec: 'e1', plan, terminal: false, stdin: true });
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.ok(r.pid > 0 && r.pid !== c.pid);
    assert.equal((await shimReq(c.dir, { op: 'exec', exec: 'e1', plan })).ok, false, 'exec ids are unique');
    e.sock.write('in\n');
    const out = demux(await e.end());
    assert.equal(out.stdout, 'exec-out-in\n');
    assert.equal(out.stderr, 'exec-err\n');
    const w = await shimReq(c.dir, { op: 'wait', exec: 'e1' });
    assert.equal(w.ok, true);
    assert.equal(w.exit.exit_code, 7);
    // Kept until the shim exits.
    assert.equal((await shimReq(c.dir, { op: 'wait', exec: 'e1' })).exit.exit_code, 7);
    assert.deepEqual(await shimReq(c.dir, { op: 'wait', exec: 'nope' }), { ok: false, error: 'no such exec: nope' });
    // A failing exec plan is reported, and the connection stays usable.
    const bad = await Conn.open(c.dir);
    const br = await bad.req({ op: 'exec', exec: 'e-bad', plan: join(c.tmp, 'missing.plan') });
    assert.equal(br.ok, false);
    assert.match(br.error, /missing\.plan/);
    assert.equal((await bad.req({ op: 'state' })).status, 'running');
    bad.close();
    assert.deepEqual(await shimReq(c.dir, { op: 'kill', signal: 9 }), { ok: true });
    const exit = await waitExit(c);
    assert.equal(exit.exit_code, 137);
    assert.equal(exit.signal, 9);
    await assertShimGone(c);
    assert.deepEqual(logEntries(c.log).map((x) => x.log), ['main\n']);
  });

  test('exec with a terminal: per-exec console socket, resize, exit code', async () => {
    const c = await createCtr(['sleep', '100']);
    await startCtr(c);
    const sock = join(c.dir, 'exec-t1.sock');
    const plan = execPlanFile(c, 't1', execProcess(c, ['sh', '-c', 'read x; stty size; exit 5'], true), sock);
    const e = await Conn.open(c.dir);
    const r = await e.req({ op: 'exec', exec: 't1', plan, terminal: true, stdin: true });
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.ok(!existsSync(sock), 'the exec console socket is removed');
    assert.deepEqual(await shimReq(c.dir, { op: 'resize', exec: 't1', rows: 20, cols: 70 }), { ok: true });
    assert.equal((await shimReq(c.dir, { op: 'resize', rows: 20, cols: 70 })).ok, false, 'the container has no terminal');
    e.sock.write('go\n');
    const out = (await e.end()).toString();
    assert.match(out, /20 70\r\n/);
    const w = await shimReq(c.dir, { op: 'wait', exec: 't1' });
    assert.equal(w.exit.exit_code, 5);
    await shimReq(c.dir, { op: 'kill', signal: 9 });
    await assertShimGone(c);
  });

  test('exit codes and signals are recorded in exit.json', async () => {
    const c = await createCtr(['sh', '-c', 'exit 3']);
    const w = await Conn.open(c.dir);
    w.sock.write(JSON.stringify({ op: 'wait' }) + '\n');
    await startCtr(c);
    const r = await w.line();
    assert.equal(r.ok, true);
    assert.equal(r.exit.exit_code, 3);
    assert.equal(r.exit.signal, 0);
    const file = await assertShimGone(c);
    assert.equal(file.exit_code, 3);

    const k = await createCtr(['sleep', '100']);
    await startCtr(k);
    assert.deepEqual(await shimReq(k.dir, { op: 'kill', signal: 9 }), { ok: true });
    const ke = await assertShimGone(k);
    assert.equal(ke.exit_code, 137);
    assert.equal(ke.signal, 9);
    assert.equal(ke.oom_killed, false);
  });

  test('SIGTERM to the shim is forwarded to the container; the shim keeps running', async () => {
    const c = await createCtr(['sh', '-c', 'trap "echo term; exit 42" TERM; echo ready; while true; do sleep 0.05; done']);
    await startCtr(c);
    await until('the container to run', () => existsSync(c.log) && readFileSync(c.log, 'utf8').includes('ready'));
    process.kill(c.shimPid, 'SIGTERM');
    const file = await assertShimGone(c);
    assert.equal(file.exit_code, 42);
    assert.match(readFileSync(c.log, 'utf8'), /"term\\n"/);
  });

  test('an OOM kill is recorded', async () => {
    const c = await createCtr(['sh', '-c', 'x=0123456789abcdef; while true; do x=$x$x; done'], {
      mutate: (cfg) => { cfg.linux.resources = { memory: { limit: 16 << 20 } }; },
    });
    await startCtr(c);
    const exit = await waitExit(c);
    assert.equal(exit.oom_killed, true, JSON.stringify(exit));
    assert.equal(exit.exit_code, 137);
    assert.equal(exit.signal, 9);
    assert.equal((await assertShimGone(c)).oom_killed, true);
  });

  test('events: an OOM kill is pushed while the container runs, once per kill', async () => {
    // The child that grows is killed; the container's shell goes on.
    const c = await createCtr(['sh', '-c', 'sh -c \'x=0123456789abcdef; while true; do x=$x$x; done\'; echo survived; sleep 30'], {
      mutate: (cfg) => { cfg.linux.resources = { memory: { limit: 16 << 20, swap: 16 << 20 } }; },
    });
    const ev = await Conn.open(c.dir);
    try {
      assert.deepEqual(await ev.req({ op: 'events' }), { ok: true, oom_kills: 0 });
      await startCtr(c);
      assert.deepEqual(await ev.line(), { ok: true, event: 'oom', oom_kills: 1 });
      const st = await shimReq(c.dir, { op: 'state' });
      assert.equal(st.status, 'running');
      await until('the shell to go on', () => existsSync(c.log) && readFileSync(c.log, 'utf8').includes('survived'));
      // A late subscriber learns the count so far; an exec is no event source.
      assert.deepEqual(await shimReq(c.dir, { op: 'events' }), { ok: true, oom_kills: 1 });
      assert.equal((await shimReq(c.dir, { op: 'events', exec: 'nope' })).ok, false);
      await shimReq(c.dir, { op: 'kill', signal: 9 });
      assert.equal((await ev.end()).length, 0, 'no second event at the exit: the connection just closes');
      assert.equal((await assertShimGone(c)).oom_killed, true);
    } finally {
      ev.close();
    }
  });

  test('what is left of a container without a pid namespace is gone from its cgroup before its exit is reported', async () => {
    // Daemons that outlive sh (no pid namespace: the kernel does not kill them with it); sh exits once /go exists.
    const c = await createCtr(['sh', '-c', 'for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16; do sleep 1000 >/dev/null 2>&1 & done; while [ ! -e /go ]; do sleep 0.02; done; exit 3'], {
      mutate: (cfg) => { cfg.linux.namespaces = (cfg.linux.namespaces as Json[]).filter((n) => n.type !== 'pid'); },
    });
    await startCtr(c);
    const procs = () => c.mgr.procsFiles().flatMap((f) => (existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter(Boolean) : []));
    await until('the daemons to start', () => procs().length >= 17);
    const w = shimReq(c.dir, { op: 'wait' });
    writeFileSync(join(c.bundle, 'rootfs', 'go'), '');
    const r = await w;
    // Read at once when the answer comes: the shim killed them and saw them gone before it answered.
    const left = procs();
    assert.deepEqual(left, [], 'no process left in the container\'s cgroup when the wait is answered');
    assert.equal(r.exit.exit_code, 3);
    assert.equal((await assertShimGone(c)).exit_code, 3);
  });

  test('the shim survives the death of its launcher and keeps logging', async () => {
    const c = await createCtr(['sh', '-c', 'i=0; while true; do echo tick-$i; i=$((i+1)); sleep 0.05; done'], {
      launcher: (argv) => ['sh', '-c', '"$@"; exit 0', 'launcher', ...argv],
    });
    await startCtr(c);
    const ppid = Number(/^PPid:\s+(\d+)/m.exec(readFileSync(`/proc/${c.shimPid}/status`, 'utf8'))![1]);
    assert.notEqual(ppid, process.pid);
    assert.equal(Number(/^NSsid:\s+(\d+)/m.exec(readFileSync(`/proc/${c.shimPid}/status`, 'utf8'))?.[1] ?? c.shimPid), c.shimPid, 'own session');
    const n1 = await until('log lines', () => {
      const n = existsSync(c.log) ? logEntries(c.log).length : 0;
      return n >= 3 ? n : undefined;
    });
    // Still logging after its launcher is gone: more lines keep coming (no fixed wait for a line rate).
    await until('still logging', () => logEntries(c.log).length > n1 + 3);
    assert.ok(alive(c.shimPid));
    await shimReq(c.dir, { op: 'kill', signal: 9 });
    assert.equal((await assertShimGone(c)).signal, 9);
  });

  test('a shim whose report nobody reads (its launcher is gone) takes its container down instead of orphaning it', async () => {
    const id = `shim-${process.pid}-${seq + 1}`;
    // The report pipe's reader (`true`) is gone before the shim writes: EPIPE.
    await assert.rejects(createCtr(['sleep', '1000'], { launcher: (argv) => ['sh', '-c', '"$@" | true', 'launcher', ...argv] }), /without a report/);
    const mine = () => readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
      try { return readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').includes(id); } catch { return false; }
    });
    await until('no shim of the task left', () => mine().length === 0 || undefined, 5000);
    // and nothing left in the container's cgroup (the container process was killed, not orphaned)
    const procs = () => openCgroups({ id }).procsFiles().flatMap((f) => { try { return readFileSync(f, 'utf8').split('\n').filter(Boolean); } catch { return []; } });
    await until('the container cgroup empty', () => procs().length === 0 || undefined, 5000);
  });

  test('no line is lost while no client is connected', async () => {
    const c = await createCtr(['seq', '1', '50000']);
    await startCtr(c);
    const file = await assertShimGone(c);
    assert.equal(file.exit_code, 0);
    assert.equal(file.log_dropped, 0);
    const lines = logEntries(c.log);
    assert.equal(lines.length, 50000);
    for (let i = 0; i < lines.length; i++) if (lines[i]!.log !== `${i + 1}\n`) assert.fail(`line ${i}: ${lines[i]!.log}`);
  });

  test('a client that does not read is cut off; the container and the log lose nothing', async (t) => {
    // 40 bursts of 2500 lines, 20 ms apart: a reading client keeps up, one that never reads cannot.
    const c = await createCtr(['sh', '-c',
      'i=0; while [ $i -lt 40 ]; do yes 012345678901234567890123456789012345678 | head -c 100000; sleep 0.02; i=$((i+1)); done; echo done; sleep 0.5']);
    const slow = await Conn.open(c.dir);
    assert.equal((await slow.req({ op: 'attach', stdout: true })).ok, true);
    slow.sock.pause();
    const fast = await Conn.open(c.dir);
    assert.equal((await fast.req({ op: 'attach', stdout: true })).ok, true);
    await startCtr(c);
    await fast.until((b) => demux(b).stdout.endsWith('done\n'), 20_000);
    slow.sock.resume();
    await until('the slow client to be cut off', () => slow.ended || undefined);
    const m = smaps(c.shimPid);
    t.diagnostic(`berth-shim after cutting off a slow client: Rss ${m.rss} kB, Private_Dirty ${m.privateDirty} kB`);
    assert.ok(m.privateDirty < 1024, `Private_Dirty ${m.privateDirty} kB`);
    const exit = await waitExit(c);
    assert.equal(exit.exit_code, 0);
    const got = demux(await fast.end(20_000));
    assert.equal(got.stdout.length, 4_000_000 + 5);
    assert.ok(slow.buf.length < 4_000_000, 'the slow client did not get everything');
    const lines = logEntries(c.log);
    assert.equal(lines.length, 100_001);
    assert.equal(lines.at(-1)!.log, 'done\n');
    await assertShimGone(c);
  });

  test('long lines are cut at 16 KiB; a last line without newline is flushed at the end', async () => {
    const c = await createCtr(['sh', '-c', 'head -c 40000 /dev/zero | tr "\\0" a; echo; printf tail']);
    await startCtr(c);
    await assertShimGone(c);
    const parts = logEntries(c.log).map((e) => e.log);
    assert.deepEqual(parts.map((p) => p.length), [16384, 16384, 40000 - 32768 + 1, 4]);
    assert.ok(parts[2]!.endsWith('\n'));
    assert.equal(parts[3], 'tail');
  });

  test('log writes that fail are dropped and counted, never blocking the container', async () => {
    const c = await createCtr(['seq', '1', '10'], { log: '/dev/full' });
    await startCtr(c);
    const file = await assertShimGone(c);
    assert.equal(file.exit_code, 0);
    assert.equal(file.log_dropped, 10);
  });

  test('log rotation by size keeps at most N files, each with its index', async () => {
    const c = await createCtr(['seq', '1', '3000'], { logMaxSize: 4096, logMaxFiles: 3 });
    await startCtr(c);
    await assertShimGone(c);
    const files = readdirSync(c.tmp).filter((f) => f.startsWith('ctr.log')).sort();
    assert.deepEqual(files, ['ctr.log', 'ctr.log.1', 'ctr.log.1.idx', 'ctr.log.2', 'ctr.log.2.idx', 'ctr.log.idx']);
    // A file's first entry is always indexed, so a reader can skip whole files by time.
    for (const f of ['ctr.log', 'ctr.log.1', 'ctr.log.2']) assert.equal(indexRecords(join(c.tmp, `${f}.idx`))[0]!.offset, 0, f);
    for (const f of files.filter((x) => !x.endsWith('.idx'))) assert.ok(statSync(join(c.tmp, f)).size <= 4096, `${f} within max size`);
    const all = [...logEntries(c.log + '.2'), ...logEntries(c.log + '.1'), ...logEntries(c.log)].map((e) => Number(e.log));
    assert.equal(all.at(-1), 3000);
    for (let i = 1; i < all.length; i++) assert.equal(all[i], all[i - 1]! + 1);
  });

  test('the log index: a record for the first entry and then one every 64 KiB, at entry starts, with their times', async () => {
    // ~1.2 MB of log in one file: about 19 records.
    const c = await createCtr(['sh', '-c', 'i=0; while [ $i -lt 16000 ]; do echo "line $i"; i=$((i+1)); done'], { logMaxSize: 0 });
    await startCtr(c);
    await assertShimGone(c);
    const log = readFileSync(c.log);
    const recs = indexRecords(`${c.log}.idx`);
    assert.ok(recs.length >= Math.floor(log.length / 65536), `${recs.length} records for ${log.length} bytes`);
    assert.equal(recs[0]!.offset, 0);
    for (let i = 0; i < recs.length; i++) {
      const r = recs[i]!;
      if (i > 0) {
        assert.ok(r.offset - recs[i - 1]!.offset >= 65536, 'at least 64 KiB apart');
        assert.ok(r.offset - recs[i - 1]!.offset < 65536 + 200, 'at the first entry past 64 KiB');
        assert.ok(r.timeNs >= recs[i - 1]!.timeNs, 'times do not go back');
      }
      assert.ok(r.offset === 0 || log[r.offset - 1] === 0x0a, 'an entry starts there');
      const nl = log.indexOf(0x0a, r.offset);
      const e = JSON.parse(log.subarray(r.offset, nl).toString()) as { time: string };
      assert.equal(r.timeNs, rfc3339Ns(e.time), 'the record has its entry\'s time');
    }
  });

  test('--log-compress: rotated files are gzipped (whole, in order), the live one is not', async () => {
    const c = await createCtr(['seq', '1', '40000'], { logMaxSize: 64 * 1024, logMaxFiles: 4, launcher: (argv) => [...argv, '--log-compress'] });
    await startCtr(c);
    await assertShimGone(c);
    // The compressor is a child of the shim's that may outlive it by a moment.
    await until('compression to finish', () => !readdirSync(c.tmp).some((f) => /^ctr\.log\.\d+(\.gz\.tmp)?$/.test(f)));
    const files = readdirSync(c.tmp).filter((f) => f.startsWith('ctr.log')).sort();
    assert.deepEqual(files, ['ctr.log', 'ctr.log.1.gz', 'ctr.log.1.idx', 'ctr.log.2.gz', 'ctr.log.2.idx', 'ctr.log.3.gz', 'ctr.log.3.idx', 'ctr.log.idx']);
    const text = ['ctr.log.3.gz', 'ctr.log.2.gz', 'ctr.log.1.gz'].map((f) => gunzipSync(readFileSync(join(c.tmp, f))).toString()).join('') + readFileSync(c.log, 'utf8');
    const nums = text.split('\n').filter(Boolean).map((l) => Number((JSON.parse(l) as { log: string }).log));
    assert.equal(nums.at(-1), 40000);
    for (let i = 1; i < nums.length; i++) assert.equal(nums[i], nums[i - 1]! + 1);
    assert.ok(statSync(join(c.tmp, 'ctr.log.2.gz')).size < 64 * 1024 / 3, 'compressed');
  });

  test('--socket: the control socket at the path given, not in DIR; at exit the shim removes its own file, never a successor\'s', async () => {
    // The first shim exits normally: its socket file goes.
    let sock1 = '';
    const c1 = await createCtr(['sleep', '1000'], { beforeShim: (tmp) => { sock1 = join(tmp, 'c1.sock'); }, launcher: (argv) => [...argv, '--socket', sock1] });
    assert.equal(c1.report.type, 'ready', JSON.stringify(c1.report));
    assert.ok(!existsSync(join(c1.dir, 'shim.sock')), 'nothing in DIR');
    const a = await Conn.open(c1.dir, sock1);
    assert.deepEqual({ ...(await a.req({ op: 'state' })) }, { ok: true, pid: c1.pid, shim_pid: c1.shimPid, status: 'running', log_dropped: 0, exec_ns: 0 });
    await startCtr(c1);
    assert.deepEqual(await a.req({ op: 'kill', signal: 9 }), { ok: true });
    a.close();
    await until('the first shim to exit', () => !alive(c1.shimPid));
    assert.ok(!existsSync(sock1), 'its socket removed');

    // The second one's path is taken over (a new task of the same container) while it runs.
    let sock2 = '';
    const c2 = await createCtr(['sleep', '1000'], { beforeShim: (tmp) => { sock2 = join(tmp, 'c2.sock'); }, launcher: (argv) => [...argv, '--socket', sock2] });
    const b = await Conn.open(c2.dir, sock2);
    await startCtr(c2);
    rmSync(sock2);
    const successor = createServer(() => {});
    await new Promise<void>((r) => successor.listen(sock2, r));
    try {
      assert.deepEqual(await b.req({ op: 'kill', signal: 9 }), { ok: true });
      b.close();
      await until('the second shim to exit', () => !alive(c2.shimPid));
      assert.ok(existsSync(sock2), "the successor's socket is left alone");
    } finally {
      await new Promise((r) => successor.close(r));
    }
  });

  test('--socket longer than sun_path is refused before anything starts', async () => {
    const t = tempDir('berth-shim-');
    cleanups.push(async () => t.cleanup());
    const long = join(t.path, 'x'.repeat(120));
    const { report, launcherCode } = await launchShim([shimBinary, '--id', 'long', '--dir', t.path, '--init', initBinary, '--plan', join(t.path, 'plan'), '--socket', long]);
    assert.equal(launcherCode, 2);
    assert.equal(report.type, 'error');
    assert.equal(report.step, 'socket');
    assert.equal(report.errno, 36);
    assert.match(report.message, /at most 107 bytes/);
  });

  test('an invalid plan gives the error report and leaves no shim, mount or socket', async () => {
    const c = await createCtr(['true'], {
      mutate: (cfg, tmp) => {
        mkdirSync(join(tmp, 'gone'));
        cfg.mounts.push({ destination: '/mnt', type: 'bind', source: join(tmp, 'gone'), options: ['rbind'] });
      },
      beforeShim: (tmp) => rmdirSync(join(tmp, 'gone')),
    });
    assert.equal(c.report.type, 'error', JSON.stringify(c.report));
    assert.equal(c.report.step, 'mount');
    assert.equal(c.report.errno, 2);
    assert.match(c.report.message, /gone/);
    assert.deepEqual(readdirSync(c.dir).filter((f) => f !== 'exec.fifo'), []);
    const mine = () => readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(c.dir);
      } catch {
        return false;
      }
    });
    await until('no process with the state dir in its command line', () => mine().length === 0 || undefined);
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(c.tmp));
    assert.deepEqual(mounts, []);
  });

  test('a running shim stays small', async (t) => {
    // Steady output with a client attached, then one 40 KiB line of `<` (escaped 6x in the log:
    // the worst case for the entry buffer), then steady output again.
    const c = await createCtr(['sh', '-c',
      'i=0; while [ $i -lt 30 ]; do echo line-$i; i=$((i+1)); sleep 0.01; done; head -c 40000 /dev/zero | tr "\\0" "<"; echo; ' +
      'while true; do echo line-$i; i=$((i+1)); sleep 0.01; done'], { stdin: true });
    await startCtr(c);
    const a = await Conn.open(c.dir);
    assert.equal((await a.req({ op: 'attach', stdin: true, stdout: true, stderr: true })).ok, true);
    await sleep(200);
    const steady = smaps(c.shimPid);
    await until('the long line', () => logEntries(c.log).some((e) => e.log.startsWith('<<<')) || undefined);
    await sleep(200);
    const peak = smaps(c.shimPid);
    t.diagnostic(`berth-shim steady: Rss ${steady.rss} kB, Private_Dirty ${steady.privateDirty} kB`);
    t.diagnostic(`berth-shim after a 40 KiB line: Rss ${peak.rss} kB, Private_Dirty ${peak.privateDirty} kB`);
    for (const m of [steady, peak]) {
      assert.ok(m.rss < 4096, `Rss ${m.rss} kB`);
      assert.ok(m.privateDirty < 1024, `Private_Dirty ${m.privateDirty} kB`);
    }
    a.close();
    await shimReq(c.dir, { op: 'kill', signal: 9 });
    await assertShimGone(c);
  });
});
