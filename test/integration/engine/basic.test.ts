// Engine: create/start/wait/logs, exit codes, inspect fields, names, rename, rm.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { errorCode } from '../../../src/common/errors.js';
import { BUSYBOX, World, logText, run, skip, until } from './helpers.js';

describe('engine: basic container lifecycle', { skip }, () => {
  const w = new World();
  before(async () => {
    await w.open();
    await w.loadBusybox();
  });
  after(() => w.cleanup());

  it('runs the built-in hello image: create, start, wait, logs', async () => {
    const e = w.engine;
    const { Id, Warnings } = await e.containers.create({ Image: 'hello' }, {});
    assert.match(Id, /^[0-9a-f]{64}$/);
    assert.deepEqual(Warnings, []);
    const waited = e.containers.wait(Id, 'next-exit');
    assert.equal(await e.containers.start(Id), true);
    assert.deepEqual(await waited, { StatusCode: 0 });
    const logs = await logText(e, Id);
    assert.match(logs.out, /Berth|hello|Hello/i);
    const i = await e.containers.inspect(Id);
    assert.equal(i.State.Status, 'exited');
    assert.equal(i.State.ExitCode, 0);
    assert.equal(i.State.Running, false);
    assert.notEqual(i.State.StartedAt, '0001-01-01T00:00:00Z');
    assert.ok(Date.parse(i.State.FinishedAt) >= Date.parse(i.State.StartedAt));
    await e.containers.remove(Id, {});
  });

  it('exit codes, stdout and stderr, inspect shape', async () => {
    const e = w.engine;
    const id = await run(e, ['sh', '-c', 'echo out; echo err >&2; exit 3'], { Labels: { a: 'b' } }, 'codes');
    assert.equal((await e.containers.wait(id, 'not-running')).StatusCode, 3);
    const logs = await logText(e, id);
    assert.equal(logs.out, 'out\n');
    assert.equal(logs.err, 'err\n');
    const i = await e.containers.inspect('codes');
    assert.equal(i.Id, id);
    assert.equal(i.Name, '/codes');
    assert.equal(i.Path, 'sh');
    assert.deepEqual(i.Args, ['-c', 'echo out; echo err >&2; exit 3']);
    assert.equal(i.State.ExitCode, 3);
    assert.equal(i.Config.Labels?.a, 'b');
    assert.equal(i.Config.Image, BUSYBOX);
    assert.match(i.Image, /^sha256:/);
    assert.equal(i.Driver, 'overlayfs');
    assert.equal(i.GraphDriver.Name, 'overlayfs');
    assert.ok(i.GraphDriver.Data?.UpperDir && i.GraphDriver.Data.LowerDir && i.GraphDriver.Data.MergedDir && i.GraphDriver.Data.WorkDir);
    assert.equal(i.HostConfig.NetworkMode, 'bridge');
    // Stopped: the default bridge is listed with its network id and no endpoint (Docker's shape).
    assert.deepEqual(Object.keys(i.NetworkSettings.Networks), ['bridge']);
    assert.equal(i.NetworkSettings.Networks.bridge!.NetworkID, (await e.networks.resolve('bridge')).id);
    assert.equal(i.NetworkSettings.Networks.bridge!.IPAddress, '');
    assert.equal(i.LogPath.endsWith(`${id}-json.log`), true);
    assert.equal(i.Config.Hostname, id.slice(0, 12));
    // by unique prefix
    assert.equal((await e.containers.inspect(id.slice(0, 10))).Id, id);
    await e.containers.remove('codes', {});
    await assert.rejects(e.containers.inspect(id), (err: Error) => errorCode(err) === 'not-found' && err.message === `No such container: ${id}`);
  });

  it('names: unique, conflict text, generated names, rename, rm of a running one', async () => {
    const e = w.engine;
    const a = await run(e, ['sleep', '100'], {}, 'alpha');
    await assert.rejects(e.containers.create({ Image: BUSYBOX, Cmd: ['true'] }, { name: 'alpha' }), (err: Error) =>
      errorCode(err) === 'conflict' && err.message === `Conflict. The container name "/alpha" is already in use by container "${a}". You have to remove (or rename) that container to be able to reuse that name.`);
    await assert.rejects(e.containers.create({ Image: BUSYBOX, Cmd: ['true'] }, { name: 'bad name' }), (err: Error) => errorCode(err) === 'invalid-argument');
    const g = await e.containers.create({ Image: BUSYBOX, Cmd: ['true'] }, {});
    assert.match((await e.containers.inspect(g.Id)).Name, /^\/[a-z]+_[a-z]+\d?$/);
    await e.containers.rename('alpha', 'beta');
    assert.equal((await e.containers.inspect(a)).Name, '/beta');
    await assert.rejects(e.containers.remove('beta', {}), (err: Error) =>
      errorCode(err) === 'conflict' && err.message === 'cannot remove container "/beta": container is running: stop the container before removing or force remove');
    await e.containers.remove('beta', { force: true });
    await e.containers.remove(g.Id, {});
    assert.equal((await e.containers.list({ all: true })).length, 0);
  });
});

describe('engine: restart, wait conditions, binds and tmpfs', { skip }, () => {
  const w = new World();
  before(async () => {
    await w.open();
    await w.loadBusybox();
  });
  after(() => w.cleanup());

  it('restart gives a new process; wait next-exit on a created container waits for start and exit', async () => {
    const e = w.engine;
    const id = await run(e, ['sleep', '100'], { StopTimeout: 1 });
    const pid1 = (await e.containers.inspect(id)).State.Pid;
    await e.containers.restart(id, { timeout: 0 });
    const i = await e.containers.inspect(id);
    assert.equal(i.State.Running, true);
    assert.notEqual(i.State.Pid, pid1);
    await e.containers.remove(id, { force: true });

    const { Id: c } = await e.containers.create({ Image: BUSYBOX, Cmd: ['sh', '-c', 'exit 9'] }, {});
    assert.deepEqual(await e.containers.wait(c, 'not-running'), { StatusCode: 0 });
    const next = e.containers.wait(c, 'next-exit');
    await e.containers.start(c);
    assert.deepEqual(await next, { StatusCode: 9 });
    const ac = new AbortController();
    const pending = e.containers.wait(c, 'next-exit', ac.signal);
    ac.abort();
    await assert.rejects(pending, (err: Error) => errorCode(err) === 'cancelled');
    await e.containers.remove(c, {});
  });

  it('a bind mount, a tmpfs mount, StopSignal from the config, a missing command', async () => {
    const e = w.engine;
    const id = await run(e, ['sh', '-c', 'cat /host/etc/hostname >/dev/null && echo bound; grep -q " /scratch tmpfs" /proc/mounts && echo tmpfs'], {
      HostConfig: { Binds: ['/etc:/host/etc:ro'], Mounts: [{ Type: 'tmpfs', Target: '/scratch', TmpfsOptions: { SizeBytes: 1 << 20 } }] },
    });
    assert.equal((await e.containers.wait(id, 'not-running')).StatusCode, 0);
    assert.equal((await logText(e, id)).out, 'bound\ntmpfs\n');
    const i = await e.containers.inspect(id);
    assert.deepEqual(i.Mounts.map((m) => [m.Type, m.Destination, m.RW]), [['bind', '/host/etc', false], ['tmpfs', '/scratch', true]]);
    await e.containers.remove(id, {});
    const s = await run(e, ['sh', '-c', 'trap "exit 12" USR2; echo ready; while true; do sleep 0.1; done'], { StopSignal: 'SIGUSR2' });
    // The trap is set before `ready`: a signal sooner would be ignored (PID 1 without a handler).
    await until('ready', async () => (await logText(e, s)).out.includes('ready'));
    await e.containers.stop(s, { timeout: 5 });
    assert.equal((await e.containers.inspect(s)).State.ExitCode, 12);
    await e.containers.remove(s, {});
    const bad = (await e.containers.create({ Image: BUSYBOX, Cmd: ['/no/such/binary'] }, {})).Id;
    await assert.rejects(e.containers.start(bad));
    const b = await e.containers.inspect(bad);
    assert.equal(b.State.Running, false);
    assert.equal(b.State.ExitCode, 127);
    assert.notEqual(b.State.Error, '');
    assert.deepEqual(await import('./helpers.js').then((h) => h.mountsUnder(w.execRoot)), []);
    await e.containers.remove(bad, {});
  });
});
