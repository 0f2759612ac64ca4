// Volumes in containers on the real engine: copy-up at create, references, rm -v and AutoRemove, a tmpfs-backed volume mounted only while used, bind dirs.
import assert from 'node:assert/strict';
import { existsSync, lstatSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { errorCode } from '../../../src/common/errors.js';
import { isMountPoint } from '../../../src/images/snapshots/mount.js';
import { BUSYBOX, World, logText, run, skip } from '../engine/helpers.js';
import { waitFor } from '../../fixtures/process.js';

describe('volumes in containers', { skip }, () => {
  const w = new World();
  before(async () => {
    await w.open();
    await w.loadBusybox();
  });
  after(() => w.cleanup());

  it('copy-up at create: an image path under an anonymous (Config.Volumes) or a new named volume; nocopy and non-empty volumes untouched', async () => {
    const e = w.engine;
    const { Id } = await e.containers.create({
      Image: BUSYBOX, Cmd: ['sh', '-c', 'ls /etc/passwd && ls /bin/sh && ls -A /nc'],
      Volumes: { '/etc': {} },
      HostConfig: { Binds: ['bins:/bin:ro'], Mounts: [{ Type: 'volume', Source: 'nocopy', Target: '/usr', VolumeOptions: { NoCopy: true } }] },
    } as never, {});
    const i = await e.containers.inspect(Id);
    const etc = i.Mounts.find((m) => m.Destination === '/etc')!;
    assert.equal(etc.Type, 'volume');
    assert.match(etc.Name!, /^[0-9a-f]{64}$/);
    assert.equal(etc.Source, join(w.dataRoot, 'volumes', etc.Name!, '_data'));
    assert.deepEqual([etc.Driver, etc.Mode, etc.RW, etc.Propagation], ['local', '', true, '']);
    assert.ok(existsSync(join(etc.Source, 'passwd')), 'the image /etc copied into the anonymous volume');
    const bins = i.Mounts.find((m) => m.Destination === '/bin')!;
    assert.deepEqual([bins.Name, bins.Mode, bins.RW], ['bins', 'ro', false]);
    assert.ok(existsSync(join(bins.Source, 'sh')) || lstatSync(join(bins.Source, 'busybox')).isFile());
    assert.deepEqual(readdirSync(e.volumes.store.dataPath('nocopy')), [], 'nocopy: the volume stays empty');
    assert.equal(i.Mounts.find((m) => m.Destination === '/usr')!.Mode, 'z');
    assert.deepEqual(e.volumes.inspect(etc.Name!).Labels, { 'com.docker.volume.anonymous': '' });
    // A second container on the (now filled) named volume: nothing is copied again.
    rmSync(join(bins.Source, 'sh'), { force: true });
    const again = (await e.containers.create({ Image: BUSYBOX, Cmd: ['true'], HostConfig: { Binds: ['bins:/bin'] } } as never, {})).Id;
    assert.equal(existsSync(join(bins.Source, 'sh')), false);
    await e.containers.remove(again, {});
    await e.containers.remove(Id, { volumes: true });
    assert.throws(() => e.volumes.inspect(etc.Name!), (err: Error) => errorCode(err) === 'not-found', 'rm -v removed the anonymous volume');
    assert.ok(e.volumes.inspect('bins') && e.volumes.inspect('nocopy'), 'named volumes stay');
    await e.volumes.remove('bins');
    await e.volumes.remove('nocopy');
  });

  it('a volume used by a container (even a stopped one) cannot be removed; data outlives the container', async () => {
    const e = w.engine;
    const id = await run(e, ['sh', '-c', 'echo kept > /data/f'], { HostConfig: { Binds: ['keep:/data'] } }, 'writer');
    assert.equal((await e.containers.wait(id, 'not-running')).StatusCode, 0);
    await assert.rejects(e.volumes.remove('keep'), (err: Error) => errorCode(err) === 'conflict' && err.message === `remove keep: volume is in use - [${id}]`);
    await e.containers.remove(id, { volumes: true });
    const r = await run(e, ['cat', '/d/f'], { HostConfig: { Binds: ['keep:/d:ro'], AutoRemove: true } });
    await e.containers.wait(r, 'removed');
    assert.equal(readFileSync(join(e.volumes.store.dataPath('keep'), 'f'), 'utf8'), 'kept\n');
    await e.volumes.remove('keep');
  });

  it('--volumes-from shares another container\'s volumes (read-only with :ro); they stay in use by both', async () => {
    const e = w.engine;
    const a = (await e.containers.create({ Image: BUSYBOX, Cmd: ['true'], Volumes: { '/shared': {} }, HostConfig: { Binds: ['vf:/named'] } } as never, { name: 'vf-source' })).Id;
    const anon = (await e.containers.inspect(a)).Mounts.find((m) => m.Destination === '/shared')!.Name!;
    writeFileSync(join(e.volumes.store.dataPath(anon), 'f'), 'from a\n');
    const b = await run(e, ['sh', '-c', 'cat /shared/f; echo x > /named/g'], { HostConfig: { VolumesFrom: ['vf-source:ro'] } });
    assert.equal((await e.containers.wait(b, 'not-running')).StatusCode, 1);
    assert.match((await logText(e, b)).err, /Read-only file system/);
    assert.equal((await logText(e, b)).out, 'from a\n');
    const mb = (await e.containers.inspect(b)).Mounts;
    assert.deepEqual(mb.map((m) => [m.Destination, m.Name, m.RW, m.Mode]), [['/named', 'vf', false, ''], ['/shared', anon, false, '']]);
    await e.containers.remove(a, { volumes: true });
    assert.ok(e.volumes.inspect(anon), 'still used by the other container: rm -v leaves it');
    await assert.rejects(e.volumes.remove(anon), /volume is in use/);
    // dockerd copies the mount's spec: the last `rm -v` of a user removes the anonymous volume
    await e.containers.remove(b, { volumes: true });
    assert.throws(() => e.volumes.inspect(anon), /no such volume/);
    await e.volumes.remove('vf');
    await assert.rejects(e.containers.create({ Image: BUSYBOX, Cmd: ['true'], HostConfig: { VolumesFrom: ['nosuchcontainer'] } } as never, {}),
      (err: Error) => errorCode(err) === 'invalid-argument' && /No such container: nosuchcontainer/.test(err.message));
  });

  it('AutoRemove removes the anonymous volumes; a failed create leaves no volume behind', async () => {
    const e = w.engine;
    const before = e.volumes.list().Volumes.length;
    const id = await run(e, ['true'], { Volumes: { '/scratch': {} }, HostConfig: { AutoRemove: true } });
    await e.containers.wait(id, 'removed');
    assert.equal(e.volumes.list().Volumes.length, before);
    // /etc/passwd is a file in the image: no volume over it (and the anonymous one made first is gone again)
    await assert.rejects(e.containers.create({ Image: BUSYBOX, Cmd: ['true'], Volumes: { '/var': {}, '/etc/passwd': {} } } as never, {}),
      (err: Error) => /cannot mount volume over existing file, file exists .*\/etc\/passwd$/.test(err.message));
    await assert.rejects(e.containers.create({ Image: BUSYBOX, Cmd: ['true'], HostConfig: { Binds: ['fresh:/fresh', 'x:/y:bad'] } } as never, {}), { message: 'invalid mode: bad' });
    assert.equal(e.volumes.list().Volumes.length, before);
  });

  it('a volume with driver options (tmpfs) is mounted while a container uses it, unmounted after', async () => {
    const e = w.engine;
    await e.volumes.create({ Name: 'ram', DriverOpts: { type: 'tmpfs', device: 'tmpfs', o: 'size=2m' } });
    const path = e.volumes.store.dataPath('ram');
    assert.equal(isMountPoint(path), false, 'not mounted at create');
    const id = await run(e, ['sh', '-c', 'grep " /r tmpfs" /proc/mounts >/dev/null && echo ram > /r/f && cat /r/f && sleep 30'], { HostConfig: { Binds: ['ram:/r'] } });
    // The container writes /r/f once it runs: wait for it, then check it landed in the mounted tmpfs.
    const f = join(path, 'f');
    await waitFor(() => existsSync(f) && readFileSync(f, 'utf8') === 'ram\n', 10_000, 'the container to write /r/f');
    assert.equal(isMountPoint(path), true, 'mounted for the running container');
    await e.containers.stop(id, { timeout: 0 });
    assert.equal((await logText(e, id)).out, 'ram\n');
    assert.equal(isMountPoint(path), false, 'unmounted after the last user stopped');
    assert.equal(existsSync(join(path, 'f')), false, 'tmpfs content goes with the mount');
    await e.containers.remove(id, {});
    assert.deepEqual((await e.volumes.usage()).map((v) => v.Name).includes('ram'), false, 'df counts only plain local volumes');
    // two users: mounted until the last one stops, even when both exit at once
    const a = await run(e, ['sleep', '30'], { HostConfig: { Binds: ['ram:/r'] } });
    const b = await run(e, ['sleep', '30'], { HostConfig: { Binds: ['ram:/r'] } });
    await e.containers.stop(a, { timeout: 0 });
    assert.equal(isMountPoint(path), true, 'still mounted for the other user');
    const c = await run(e, ['sleep', '30'], { HostConfig: { Binds: ['ram:/r'] } });
    await Promise.all([e.containers.kill(b, 'KILL'), e.containers.kill(c, 'KILL')]);
    await e.containers.wait(b, 'not-running');
    await e.containers.wait(c, 'not-running');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(isMountPoint(path), false, 'unmounted once both stopped');
    for (const x of [a, b, c]) await e.containers.remove(x, {});
    await e.volumes.remove('ram');
  });

  it('-v with a missing host dir creates it at start; --mount with one is refused', async () => {
    const e = w.engine;
    const host = join(w.root, 'made', 'by', 'start');
    const id = await run(e, ['sh', '-c', 'echo from-container > /m/f'], { HostConfig: { Binds: [`${host}:/m`] } });
    assert.equal((await e.containers.wait(id, 'not-running')).StatusCode, 0);
    assert.equal(readFileSync(join(host, 'f'), 'utf8'), 'from-container\n');
    assert.equal(lstatSync(join(w.root, 'made')).mode & 0o777, 0o755);
    await e.containers.remove(id, {});
    await assert.rejects(e.containers.create({ Image: BUSYBOX, Cmd: ['true'], HostConfig: { Mounts: [{ Type: 'bind', Source: '/no/such/x', Target: '/x' }] } } as never, {}),
      (err: Error) => errorCode(err) === 'invalid-argument' && err.message === 'invalid mount config for type "bind": bind source path does not exist: /no/such/x');
  });
});
