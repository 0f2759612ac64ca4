// Engine with a foreign runtime: runc (Debian's, at /usr/sbin/runc) driven by berth-shim for run, exec, logs, tty, stop, kill, OOM and restart of the daemon.
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { errorCode } from '../../../src/common/errors.js';
import type { StatsJSON } from '../../../src/engine/types.js';
import { BUSYBOX, World, demux, fakeConn, logText, run, skip as engineSkip, until } from './helpers.js';

const RUNC = '/usr/sbin/runc';
const skip = engineSkip ?? (existsSync(RUNC) ? undefined : `missing ${RUNC} (Debian's runc)`);

/** Runs an exec to its end; its output and exit code. */
async function execRun(w: World, id: string, cmd: string[]): Promise<{ out: string; err: string; code: number | null }> {
  const e = w.engine;
  const { Id } = await e.containers.execCreate(id, { Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const c = fakeConn();
  await e.containers.execStart(Id, { detach: false }, { conn: c.conn, stdin: false, stdout: true, stderr: true });
  await c.closed;
  const { out, err } = await demux(c.received());
  return { out, err, code: (await e.containers.execInspect(Id)).ExitCode };
}

describe('engine: containers run by runc', { skip }, () => {
  const w = new World();
  before(async () => {
    w.engine = await (await import('../../../src/engine/engine.js')).openEngine({ ...w.opts(), runtimes: { runc: { path: RUNC } } });
    await w.loadBusybox();
  });
  after(() => w.cleanup());

  it('run: output in the log, exit code, HostConfig.Runtime', async () => {
    const e = w.engine;
    const id = await run(e, ['sh', '-c', 'echo out; echo err >&2; cat /proc/1/status | grep -i ^nonewprivs; exit 3'], { HostConfig: { Runtime: 'runc' } });
    assert.equal((await e.containers.wait(id, 'not-running')).StatusCode, 3);
    const i = await e.containers.inspect(id);
    assert.equal(i.HostConfig.Runtime, 'runc');
    assert.equal(i.State.ExitCode, 3);
    const logs = await logText(e, id);
    assert.match(logs.out, /^out\n/);
    assert.equal(logs.err, 'err\n');
    await e.containers.remove(id, {});
  });

  it('unknown runtime: Docker\'s error, nothing left behind', async () => {
    const e = w.engine;
    const before = (await e.containers.list({ all: true })).length;
    await assert.rejects(e.containers.create({ Image: BUSYBOX, Cmd: ['true'], HostConfig: { Runtime: 'nope' } } as never, {}),
      (err: Error) => errorCode(err) === 'invalid-argument' && /unknown or invalid runtime name: nope/.test(err.message));
    assert.equal((await e.containers.list({ all: true })).length, before);
  });

  it('exec (output, exit code), stop with SIGTERM, and the runtime\'s state is gone after the exit', async () => {
    const e = w.engine;
    const id = await run(e, ['sh', '-c', 'trap "echo bye; exit 0" TERM; echo up; while true; do sleep 0.1; done'], { HostConfig: { Runtime: 'runc' } });
    await until('up', async () => (await logText(e, id)).out.includes('up'));
    const x = await execRun(w, id, ['sh', '-c', 'echo in-$(hostname); echo oops >&2; exit 7']);
    assert.equal(x.out, `in-${id.slice(0, 12)}\n`);
    assert.equal(x.err, 'oops\n');
    assert.equal(x.code, 7);
    const bad = await execRun(w, id, ['/no/such/binary']).catch((err: Error) => err);
    assert.ok(bad instanceof Error || (bad as { code: number | null }).code !== 0, 'a missing binary fails the exec');
    const t = w.engine.lifecycle.task(id);
    assert.ok(existsSync(join(t.dir, 'runtime', id)), 'runc\'s state is in the task dir');
    assert.equal(await e.containers.stop(id, { timeout: 10 }), true);
    const i = await e.containers.inspect(id);
    assert.equal(i.State.ExitCode, 0);
    assert.match((await logText(e, id)).out, /bye\n$/);
    assert.ok(!existsSync(join(t.dir)), 'the task dir (with runc\'s state) is removed');
    await e.containers.remove(id, {});
  });

  it('live-restore: after the engine reopens, exec, logs and stop work on the running runc container', async () => {
    let e = w.engine;
    const id = await run(e, ['sh', '-c', 'echo one; while true; do sleep 0.1; done'], { HostConfig: { Runtime: 'runc' } });
    await until('one', async () => (await logText(e, id)).out === 'one\n');
    const pid = (await e.containers.inspect(id)).State.Pid;
    await e.close();
    w.engine = e = await (await import('../../../src/engine/engine.js')).openEngine({ ...w.opts(), runtimes: { runc: { path: RUNC } } });
    const i = await e.containers.inspect(id);
    assert.equal(i.State.Running, true);
    assert.equal(i.State.Pid, pid);
    assert.equal((await execRun(w, id, ['echo', 'again'])).out, 'again\n');
    await e.containers.stop(id, { timeout: 1 });
    assert.equal((await e.containers.inspect(id)).State.ExitCode, 137);
    await e.containers.remove(id, {});
  });

  it('a terminal: the pty master comes through the console socket', async () => {
    const e = w.engine;
    const id = await run(e, ['sh', '-c', 'tty; stty size'], { Tty: true, HostConfig: { Runtime: 'runc', ConsoleSize: [30, 100] } });
    await e.containers.wait(id, 'not-running');
    const out = (await logText(e, id)).out;
    assert.match(out, /^\/dev\/pts\/\d+\r?\n30 100\r?\n$/);
    await e.containers.remove(id, {});
    // an exec on a terminal too
    const r = await run(e, ['sleep', '100'], { Tty: true, HostConfig: { Runtime: 'runc' } });
    const { Id } = await e.containers.execCreate(r, { Cmd: ['sh', '-c', 'tty'], Tty: true, AttachStdout: true });
    const c = fakeConn();
    await e.containers.execStart(Id, { detach: false, tty: true }, { conn: c.conn, stdin: false, stdout: true, stderr: true });
    await c.closed;
    assert.match(c.received().toString(), /^\/dev\/pts\/\d+\r?\n$/);
    assert.equal((await e.containers.execInspect(Id)).ExitCode, 0);
    await e.containers.remove(r, { force: true });
  });

  it('the cgroup is where the lifecycle looks: stats, top, pause and unpause work on a runc container', async () => {
    const e = w.engine;
    const id = await run(e, ['sleep', '100'], { HostConfig: { Runtime: 'runc', PidsLimit: 50 } });
    // `runc start` returns once its init read the exec fifo, a moment before its execve: until
    // then the Go init's threads count in pids.current too.
    let st: StatsJSON | undefined;
    await until('one task in the cgroup', async () => {
      for await (const s of e.containers.stats(id, { stream: false, oneShot: true }, new AbortController().signal)) st = s;
      return st!.pids_stats.current === 1;
    });
    assert.equal(st!.pids_stats.limit, 50);
    assert.ok((st!.memory_stats.usage ?? 0) > 0);
    const top = await e.containers.top(id);
    assert.equal(top.Processes.length, 1);
    assert.match(top.Processes[0]!.at(-1)!, /sleep 100/);
    await e.containers.pause(id);
    assert.equal((await e.containers.inspect(id)).State.Status, 'paused');
    await e.containers.unpause(id);
    assert.equal((await execRun(w, id, ['true'])).code, 0);
    await e.containers.remove(id, { force: true });
  });

  it('kill and OOM are recorded as for berth-init', async () => {
    const e = w.engine;
    const id = await run(e, ['sleep', '100'], { HostConfig: { Runtime: 'runc' } });
    await e.containers.kill(id);
    assert.equal((await e.containers.inspect(id)).State.ExitCode, 137);
    await e.containers.remove(id, {});
    const hog = await run(e, ['sh', '-c', 'x=aaaaaaaaaaaaaaaa; while true; do x=$x$x; done'], { HostConfig: { Runtime: 'runc', Memory: 32 * 1024 * 1024, MemorySwap: 32 * 1024 * 1024 } });
    assert.equal((await e.containers.wait(hog, 'not-running')).StatusCode, 137);
    assert.equal((await e.containers.inspect(hog)).State.OOMKilled, true);
    await e.containers.remove(hog, {});
  });

  it('a failing create reports runc\'s own message', async () => {
    const e = w.engine;
    const { Id } = await e.containers.create({ Image: BUSYBOX, Cmd: ['/no/such/binary'], HostConfig: { Runtime: 'runc' } } as never, {});
    await assert.rejects(e.containers.start(Id), (err: Error) => /runc create: .*no such file or directory/i.test(err.message));
    assert.equal((await e.containers.inspect(Id)).State.Running, false);
    assert.deepEqual(readdirSync(join(w.execRoot, 's')).filter((f) => !f.startsWith('.')), [], 'no socket left');
    await e.containers.remove(Id, {});
  });
});
