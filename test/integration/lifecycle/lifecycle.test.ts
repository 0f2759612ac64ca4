// Integration tests for the lifecycle layer on the real kernel with berth-shim: logs, attach, exits, OOM, exec, reattach after the owner is SIGKILLed, the public client.
//
// Safety: temp data root and state dir; every cgroup under `berth-lc-<random>/` below the test
// process's own cgroup, removed in `after` even on failure; only processes this test started
// (containers, their shims, the owner child) are signalled, by pid.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { makeBundle, nativeBuild, rootSkipReason, tempDir } from '../../fixtures/rootfs.js';
import { baseConfig } from '../../conformance/runc-cli.js';
import { Lifecycle, SHIM_DIED_REASON, type LifecycleEvent } from '../../../src/lifecycle/lifecycle.js';
import { MetadataStore } from '../../../src/lifecycle/metadata.js';
import { BerthClient } from '../../../src/lifecycle/client.js';
import { demux } from '../../../src/common/stdcopy.js';
import { openCgroups } from '../../../src/runtime/cgroups/open.js';
import { isSameLiveProcess } from '../../../src/runtime/container/proc.js';
import { errorCode } from '../../../src/common/errors.js';
import type { Spec } from '../../../src/runtime/spec/types.js';
import { cleanupLifecycle } from '../../fixtures/lifecycle-cleanup.js';

const shimBinary = join(nativeBuild, 'berth-shim');
const skip = rootSkipReason() ?? (existsSync(shimBinary) ? undefined : 'needs native/build/berth-shim (make -C native)');
const ownerScript = fileURLToPath(new URL('../../fixtures/lifecycle-owner.js', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, f: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Live processes started with `--dir DIR` (a shim for that task dir). */
function shimsFor(dir: string): number[] {
  return readdirSync('/proc').filter((n) => /^\d+$/.test(n)).filter((n) => {
    try {
      const argv = readFileSync(`/proc/${n}/cmdline`, 'latin1').split('\0');
      return argv[argv.indexOf('--dir') + 1] === dir && isSameLiveProcess(Number(n), undefined);
    } catch {
      return false;
    }
  }).map(Number);
}

/** Docker json-file lines of a log file. */
function logEntries(path: string): Array<{ log: string; stream: string; time: string }> {
  return readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { log: string; stream: string; time: string });
}

/** Collect a stream's bytes (demuxed when framed). */
function collect(sock: NodeJS.ReadableStream & { resume(): void }, framed: boolean): { out: () => string; err: () => string; done: Promise<void> } {
  const o: Buffer[] = [];
  const e: Buffer[] = [];
  if (!framed) {
    const done = new Promise<void>((r) => { sock.on('data', (b: Buffer) => o.push(b)); sock.on('close', () => r()); sock.on('end', () => r()); });
    sock.resume();
    return { out: () => Buffer.concat(o).toString(), err: () => '', done };
  }
  const po = new PassThrough().on('data', (b: Buffer) => o.push(b));
  const pe = new PassThrough().on('data', (b: Buffer) => e.push(b));
  const done = demux(sock as never, po, pe).then(() => {});
  return { out: () => Buffer.concat(o).toString(), err: () => Buffer.concat(e).toString(), done };
}

describe('lifecycle (berth-shim, real containers)', { skip }, () => {
  let tmp: { path: string; cleanup: () => void };
  let rootfs: string;
  let dataRoot: string;
  let stateDir: string;
  const cgParent = `berth-lc-${randomBytes(4).toString('hex')}`;
  const owners: ChildProcess[] = [];
  const pidsToKill = new Set<number>();

  const specFor = (id: string, args: string[], mutate?: (s: Spec) => void): Spec => {
    const s = baseConfig(args, `${cgParent}/${id}`) as unknown as Spec;
    mutate?.(s);
    return s;
  };

  before(() => {
    tmp = tempDir('blc-');
    rootfs = join(makeBundle(join(tmp.path, 'b')), 'rootfs');
    dataRoot = join(tmp.path, 'd');
    stateDir = join(tmp.path, 's');
  });

  after(async () => {
    for (const o of owners) if (o.exitCode === null && o.signalCode === null && o.pid) try { process.kill(o.pid, 'SIGKILL'); } catch { /* gone */ }
    await cleanupLifecycle({ dataRoot, stateDir, shimBinary, pidsToKill, cgParent, tmp });
  });

  async function openLc(): Promise<Lifecycle> {
    return Lifecycle.open({ dataRoot, stateDir, shimBinary });
  }

  it('output reaches the log and an attach stream; exit code 3; events; delete', async () => {
    const lc = await openLc();
    try {
      const events: LifecycleEvent[] = [];
      lc.events.on('event', (e: LifecycleEvent) => events.push(e));
      const log = join(tmp.path, 'logs', 'out.log');
      let cleaned = '';
      await lc.createContainer({ id: 'out', spec: specFor('out', ['sh', '-c', 'echo hello; echo oops >&2; printf partial; exit 3']), rootfs, snapshotKey: 'snap-out', imageRef: 'busybox' });
      const t = await lc.newTask('out', { log: { path: log } });
      pidsToKill.add(t.pid).add(t.shimPid);
      assert.equal(t.status, 'created');
      const a = collect(await lc.attach('out', { stdout: true, stderr: true }), true);
      assert.equal((await lc.start('out')).status, 'running');
      const exit = await lc.wait('out');
      assert.equal(exit.exitCode, 3);
      assert.equal(exit.signal, 0);
      assert.equal(exit.oomKilled, false);
      await a.done;
      assert.equal(a.out(), 'hello\npartial');
      assert.equal(a.err(), 'oops\n');
      const entries = logEntries(log);
      assert.deepEqual(entries.map((e) => [e.stream, e.log]).sort(), [['stderr', 'oops\n'], ['stdout', 'hello\n'], ['stdout', 'partial']].sort());
      assert.ok(entries.every((e) => /^\d{4}-\d\d-\d\dT.*Z$/.test(e.time)));
      assert.equal(lc.task('out').status, 'stopped');
      const del = await lc.deleteTask('out');
      assert.equal(del.exitCode, 3);
      assert.equal(existsSync(join(stateDir, 'moby', 'out')), false);
      await lc.deleteContainer('out', { snapshotCleanup: async (k) => { cleaned = k; } });
      assert.equal(cleaned, 'snap-out');
      assert.deepEqual(events.map((e) => e.topic), ['/containers/create', '/tasks/create', '/tasks/start', '/tasks/exit', '/tasks/delete', '/containers/delete']);
      assert.ok(events.every((e) => e.namespace === 'moby' && e.id === 'out' && e.timestamp));
      assert.equal(events.find((e) => e.topic === '/tasks/exit')!.exitStatus, 3);
    } finally {
      lc.close();
    }
  });

  it('SIGKILL is recorded as 137; delete refuses a running task without force', async () => {
    const lc = await openLc();
    try {
      await lc.createContainer({ id: 'sig', spec: specFor('sig', ['sleep', '1000']), rootfs });
      const t = await lc.newTask('sig');
      pidsToKill.add(t.pid).add(t.shimPid);
      await lc.start('sig');
      await assert.rejects(lc.deleteTask('sig'), (e) => errorCode(e) === 'conflict');
      await assert.rejects(lc.deleteContainer('sig'), (e) => errorCode(e) === 'conflict');
      await lc.kill('sig', 'SIGKILL');
      const exit = await lc.wait('sig');
      assert.deepEqual([exit.exitCode, exit.signal], [137, 9]);
      await lc.deleteTask('sig');
      await lc.deleteContainer('sig');
    } finally {
      lc.close();
    }
  });

  it('an OOM kill is recorded (memory limit 16M, a shell hog)', async () => {
    const lc = await openLc();
    try {
      const ooms: LifecycleEvent[] = [];
      lc.events.on('/tasks/oom', (e: LifecycleEvent) => ooms.push(e));
      await lc.createContainer({
        id: 'oom',
        spec: specFor('oom', ['sh', '-c', 'x=aaaaaaaaaaaaaaaa; while true; do x=$x$x; done'], (s) => { s.linux!.resources = { memory: { limit: 16 * 1024 * 1024 } }; }),
        rootfs,
      });
      const t = await lc.newTask('oom');
      pidsToKill.add(t.pid).add(t.shimPid);
      await lc.start('oom');
      const exit = await lc.wait('oom');
      assert.equal(exit.oomKilled, true);
      assert.equal(exit.exitCode, 137);
      assert.equal(lc.task('oom').oomKilled, true);
      assert.equal(ooms.length, 1);
      await lc.deleteTask('oom');
      await lc.deleteContainer('oom');
    } finally {
      lc.close();
    }
  });

  it('a create that fails in berth-init names the step and leaves nothing behind', async () => {
    const lc = await openLc();
    try {
      await lc.createContainer({ id: 'bad', spec: specFor('bad', ['true'], (s) => { s.process!.cwd = '/no/such/dir'; }), rootfs });
      await assert.rejects(lc.newTask('bad'), (e: Error) => /task "bad": shim: \S+/.test(e.message) && /no\/such\/dir/.test(e.message));
      assert.throws(() => lc.task('bad'), (e) => errorCode(e) === 'not-found');
      assert.equal(existsSync(join(stateDir, 'moby', 'bad')), false);
      assert.equal(existsSync(openCgroups({ id: 'bad', path: `${cgParent}/bad` }).procsFiles()[0]!), false);
      await lc.deleteContainer('bad');
    } finally {
      lc.close();
    }
  });

  it('exec with and without a pty; pause, resume, update, stats', async () => {
    const lc = await openLc();
    try {
      await lc.createContainer({ id: 'ex', spec: specFor('ex', ['sleep', '1000']), rootfs });
      const t = await lc.newTask('ex');
      pidsToKill.add(t.pid).add(t.shimPid);
      await lc.start('ex');
      const proc = { user: { uid: 0, gid: 0 }, cwd: '/', env: ['PATH=/bin'], args: ['sh', '-c', 'echo out; echo err >&2; exit 5'] };
      const e1 = await lc.exec('ex', 'e1', proc);
      assert.ok(e1.pid > 0);
      const c1 = collect(e1.stream, true);
      assert.equal((await lc.waitExec('ex', 'e1')).exitCode, 5);
      await c1.done;
      assert.equal(c1.out(), 'out\n');
      assert.equal(c1.err(), 'err\n');

      const e2 = await lc.exec('ex', 'e2', { ...proc, args: ['sh', '-c', 'tty; echo hi-pty'] }, { terminal: true });
      const c2 = collect(e2.stream, false);
      assert.equal((await lc.waitExec('ex', 'e2')).exitCode, 0);
      await c2.done;
      assert.match(c2.out(), /\/dev\/pts\/\d+\r?\n/);
      assert.match(c2.out(), /hi-pty\r\n/);

      // With stdin: what we write comes back through cat.
      const e3 = await lc.exec('ex', 'e3', { ...proc, args: ['cat'] }, { stdin: true });
      const c3 = collect(e3.stream, true);
      e3.stream.write('ping\n');
      await until('cat echoed', () => c3.out() === 'ping\n');
      await lc.closeStdin('ex', 'e3');
      assert.equal((await lc.waitExec('ex', 'e3')).exitCode, 0);

      await lc.pause('ex');
      assert.equal(lc.task('ex').status, 'paused');
      await lc.resume('ex');
      assert.equal(lc.task('ex').status, 'running');
      await lc.update('ex', { pids: { limit: 50 } });
      assert.equal(lc.getContainer('ex').spec.linux?.resources?.pids?.limit, 50);
      const st = await lc.stats('ex');
      assert.equal(st.pids.limit, 50);
      assert.ok(st.pids.current >= 1);
      assert.deepEqual(await lc.pids('ex'), [t.pid]);
      const exit = await lc.deleteTask('ex', { force: true });
      assert.equal(exit.exitCode, 137);
      await lc.deleteContainer('ex');
    } finally {
      lc.close();
    }
  });

  it('a task on a pty with stdin: input, resize, output, exit', async () => {
    const lc = await openLc();
    try {
      await lc.createContainer({ id: 'tty', spec: specFor('tty', ['sh']), rootfs });
      const t = await lc.newTask('tty', { terminal: true, stdin: true, log: { path: join(tmp.path, 'logs', 'tty.log') } });
      pidsToKill.add(t.pid).add(t.shimPid);
      const sock = await lc.attach('tty', { stdin: true, stdout: true });
      const c = collect(sock, false);
      await lc.start('tty');
      await lc.resize('tty', 33, 101);
      sock.write('stty size; echo tty-$((40+2)); exit 2\n');
      const exit = await lc.wait('tty');
      assert.equal(exit.exitCode, 2);
      await c.done;
      assert.match(c.out(), /33 101\r\n/);
      assert.match(c.out(), /tty-42\r\n/);
      assert.match(logEntries(join(tmp.path, 'logs', 'tty.log')).map((e) => e.log).join(''), /tty-42/);
      await lc.deleteTask('tty');
      await lc.deleteContainer('tty');
    } finally {
      lc.close();
    }
  });

  it('a crash between the task row and the shim report is cleaned up on open', async () => {
    let lc = await openLc();
    await lc.createContainer({ id: 'half', spec: specFor('half', ['true']), rootfs });
    lc.close();
    // What a crash right after `createTask` + cgroup creation leaves: a `creating` row, a dir, cgroups.
    const md = MetadataStore.open(join(dataRoot, 'metadata.db'));
    const cg = openCgroups({ id: 'half', path: `${cgParent}/half` });
    const dir = join(stateDir, 'moby', 'half');
    md.createTask({ namespace: 'moby', containerId: 'half', status: 'creating', dir, cgroupPath: cg.path });
    md.close();
    await cg.create();
    (await import('node:fs')).mkdirSync(dir, { recursive: true });
    lc = await openLc();
    try {
      assert.equal(lc.list().find((c) => c.id === 'half')?.task, undefined);
      assert.equal(existsSync(dir), false);
      assert.equal(Object.values(cg.hierarchyDirs()).some((d) => existsSync(d)), false);
      await lc.deleteContainer('half');
    } finally {
      lc.close();
    }
  });

  it('reattach after the owner is SIGKILLed: running, exited meanwhile, shim killed; no log line lost', async () => {
    const lines = join(tmp.path, 'logs', 'lines.log');
    const runOwner = async (containers?: unknown[]): Promise<{ child: ChildProcess; tasks: Array<{ id: string; status: string; pid: number; shimPid: number; exitCode: number | null; reason: string }> }> => {
      const child = spawn(process.execPath, [ownerScript, JSON.stringify({ dataRoot, stateDir, containers })], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, BERTH_SHIM: shimBinary } });
      owners.push(child);
      let out = '';
      child.stdout!.on('data', (b: Buffer) => { out += b.toString(); });
      await until('owner ready', () => out.includes('\n') || child.exitCode !== null, 30_000);
      const report = JSON.parse(out.split('\n')[0]!) as { ready: boolean; error?: string; tasks: never[] };
      assert.ok(report.ready, `owner failed: ${report.error}`);
      return { child, tasks: report.tasks };
    };
    const killOwner = async (child: ChildProcess) => {
      const gone = new Promise((r) => child.once('exit', r));
      process.kill(child.pid!, 'SIGKILL');
      await gone;
    };

    const first = await runOwner([
      { id: 'ra', spec: specFor('ra', ['sleep', '1000']), rootfs },
      { id: 'rb', spec: specFor('rb', ['sh', '-c', 'sleep 2; exit 7']), rootfs },
      { id: 'rc', spec: specFor('rc', ['sleep', '1000']), rootfs },
      { id: 'rd', spec: specFor('rd', ['sh', '-c', 'i=0; while true; do i=$((i+1)); echo $i; sleep 0.002; done']), rootfs, log: lines },
      { id: 're', spec: specFor('re', ['sh', '-c', 'exit 6']), rootfs, noStart: true },
    ]);
    for (const t of first.tasks) pidsToKill.add(t.pid).add(t.shimPid);
    assert.deepEqual(first.tasks.map((t) => [t.id, t.status]), [['ra', 'running'], ['rb', 'running'], ['rc', 'running'], ['rd', 'running'], ['re', 'created']]);
    await killOwner(first.child);

    const rc = first.tasks.find((t) => t.id === 'rc')!;
    process.kill(rc.shimPid, 'SIGKILL');
    await until('rb exited while nobody owned it', () => existsSync(join(stateDir, 'moby', 'rb', 'exit.json')));
    await until('rc shim gone', () => !isSameLiveProcess(rc.shimPid, undefined));

    // A second owner reattaches, and is killed too: the writer keeps going through both.
    const second = await runOwner();
    const byId = new Map(second.tasks.map((t) => [t.id, t]));
    assert.equal(byId.get('ra')!.status, 'running');
    assert.deepEqual([byId.get('rb')!.status, byId.get('rb')!.exitCode], ['stopped', 7]);
    assert.deepEqual([byId.get('rc')!.status, byId.get('rc')!.exitCode, byId.get('rc')!.reason], ['stopped', 255, SHIM_DIED_REASON]);
    assert.equal(byId.get('rd')!.status, 'running');
    await sleep(300);
    await killOwner(second.child);
    await sleep(300);

    const lc = await openLc();
    try {
      const tasks = new Map(lc.list().map((c) => [c.id, c.task!]));
      assert.equal(tasks.get('ra')!.status, 'running');
      assert.ok(isSameLiveProcess(tasks.get('ra')!.pid, undefined), 'ra still runs');
      assert.deepEqual([tasks.get('rb')!.status, tasks.get('rb')!.exitCode, tasks.get('rb')!.exitReason], ['stopped', 7, '']);
      assert.deepEqual([tasks.get('rc')!.status, tasks.get('rc')!.exitCode, tasks.get('rc')!.exitReason], ['stopped', 255, SHIM_DIED_REASON]);
      assert.equal(isSameLiveProcess(rc.pid, undefined), false, 'rc container killed through its cgroup');
      assert.equal(tasks.get('rd')!.status, 'running');
      // Created by a dead owner, started by this one.
      assert.equal(tasks.get('re')!.status, 'created');
      await lc.start('re');
      assert.equal((await lc.wait('re')).exitCode, 6);

      // The reattached monitors work: kill and wait through the new owner.
      await lc.kill('ra', 'SIGKILL');
      assert.equal((await lc.wait('ra')).exitCode, 137);
      await lc.kill('rd', 'SIGKILL');
      assert.equal((await lc.wait('rd')).exitCode, 137);

      const nums = logEntries(lines).map((e) => e.log).join('').split('\n').filter(Boolean).map(Number);
      assert.ok(nums.length > 200, `only ${nums.length} lines written`);
      nums.forEach((n, i) => assert.equal(n, i + 1, `line ${i + 1} is ${n}: a gap`));

      for (const id of ['ra', 'rb', 'rc', 'rd', 're']) {
        await lc.deleteTask(id);
        await lc.deleteContainer(id);
      }
      assert.deepEqual(readdirSync(join(stateDir, 'moby')), []);
    } finally {
      lc.close();
    }
  });

  it('the owner SIGKILLed at any moment of create/start: the next open is consistent and cleans up', async (t) => {
    for (const [round, delay] of [0, 5, 10, 20, 30, 40, 50, 70, 100].entries()) {
      const ids = [0, 1, 2].map((i) => `k${round}x${i}`);
      const child = spawn(process.execPath, [ownerScript, JSON.stringify({ dataRoot, stateDir, containers: ids.map((id) => ({ id, spec: specFor(id, ['sleep', '1000']), rootfs })) })], { stdio: 'ignore', env: { ...process.env, BERTH_SHIM: shimBinary } });
      owners.push(child);
      const gone = new Promise((r) => child.once('exit', r));
      // Anchor the kill to the owner's first task row (node's own start-up time varies a lot).
      await until('owner wrote its first task row', () => {
        if (child.exitCode !== null || !existsSync(join(dataRoot, 'metadata.db'))) return child.exitCode !== null;
        const md = MetadataStore.open(join(dataRoot, 'metadata.db'));
        try { return md.findTask('moby', ids[0]!) !== undefined; } finally { md.close(); }
      }, 30_000);
      await sleep(delay);
      try { process.kill(child.pid!, 'SIGKILL'); } catch { /* finished already */ }
      await gone;
      const md = MetadataStore.open(join(dataRoot, 'metadata.db'));
      const before = md.listContainers('moby').filter((c) => ids.includes(c.id)).map((c) => `${c.id}:${md.findTask('moby', c.id)?.status ?? '-'}`);
      md.close();
      t.diagnostic(`killed ${delay} ms after the first task row: ${before.join(' ') || 'nothing recorded'}`);
      const lc = await openLc();
      try {
        for (const c of lc.list().filter((x) => ids.includes(x.id))) {
          if (!c.task) continue;
          pidsToKill.add(c.task.pid).add(c.task.shimPid);
          assert.ok(['created', 'running'].includes(c.task.status), `${c.id}: ${c.task.status} after a crash at ${delay} ms`);
          assert.ok(isSameLiveProcess(c.task.pid, c.task.pidStartTime), `${c.id}: recorded ${c.task.status} but its process is gone`);
          await lc.deleteTask(c.id, { force: true });
        }
        for (const c of lc.list().filter((x) => ids.includes(x.id))) await lc.deleteContainer(c.id);
        for (const id of ids) {
          assert.equal(existsSync(join(stateDir, 'moby', id)), false, `${id}: dir left`);
          assert.deepEqual(shimsFor(join(stateDir, 'moby', id)), [], `${id}: a shim left running`);
          assert.equal(Object.values(openCgroups({ id, path: `${cgParent}/${id}` }).hierarchyDirs()).some((d) => existsSync(d)), false, `${id}: cgroup left`);
        }
      } finally {
        lc.close();
      }
    }
  });

  it('the public client: new container -> task -> start -> wait -> delete', async () => {
    const c = await BerthClient.open({ dataRoot, stateDir, shimBinary });
    try {
      const seen: string[] = [];
      const ac = new AbortController();
      const sub = (async () => { for await (const e of c.subscribe((e) => e.id === 'cli', ac.signal)) seen.push(e.topic); })();
      const ctr = await c.newContainer('cli', { spec: specFor('cli', ['sh', '-c', 'echo from-client; exit 4']), rootfs, snapshotKey: 'k1' });
      const task = await ctr.newTask({ stdio: 'pipe' });
      pidsToKill.add(task.pid);
      let out = '';
      task.stdout!.on('data', (b: Buffer) => { out += b.toString(); });
      await task.start();
      const status = await task.wait();
      assert.equal(status.exitCode, 4);
      assert.equal(out, 'from-client\n');
      await task.delete();
      let removed = '';
      await ctr.delete({ snapshotCleanup: async (k) => { removed = k; } });
      assert.equal(removed, 'k1');
      assert.deepEqual(c.containers().map((x) => x.id), []);
      ac.abort();
      await sub;
      assert.deepEqual(seen, ['/containers/create', '/tasks/create', '/tasks/start', '/tasks/exit', '/tasks/delete', '/containers/delete']);
    } finally {
      c.close();
    }
  });
});
