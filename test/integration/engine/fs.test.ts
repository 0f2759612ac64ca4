// Engine: changes, export, archive stat/get/put (path safety), update, close and reopen (live-restore).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { errorCode } from '../../../src/common/errors.js';
import { openEngine } from '../../../src/engine/engine.js';
import { readTar } from '../../../src/images/tar/reader.js';
import { tarBuffer, type TarWriteEntry } from '../../../src/images/tar/writer.js';
import { World, logText, mountsUnder, run, skip, until } from './helpers.js';

/** The entries of a tar stream: name -> body text (files) or type. */
async function entries(stream: Readable): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const { entry, body } of readTar(stream)) {
    const chunks: Buffer[] = [];
    for await (const c of body) chunks.push(c as Buffer);
    out.set(entry.name.replace(/\/$/, ''), entry.type === 'file' ? Buffer.concat(chunks).toString() : entry.type);
  }
  return out;
}

function makeTar(files: Array<{ name: string; body?: string; type?: 'file' | 'dir' | 'symlink'; linkname?: string }>): Promise<Buffer> {
  return tarBuffer(files.map((f): [TarWriteEntry, Buffer?] =>
    f.type === 'dir' ? [{ name: f.name, type: 'dir', mode: 0o755 }]
      : f.type === 'symlink' ? [{ name: f.name, type: 'symlink', mode: 0o777, linkname: f.linkname! }]
        : [{ name: f.name, type: 'file', mode: 0o644 }, Buffer.from(f.body ?? '')]));
}

describe('engine: filesystem and restart', { skip }, () => {
  const w = new World();
  before(async () => {
    await w.open();
    await w.loadBusybox();
  });
  after(() => w.cleanup());

  it('changes and export of a stopped container', async () => {
    const e = w.engine;
    const id = await run(e, ['sh', '-c', 'touch /newfile; mkdir -p /d/e; echo x > /d/e/f; rm /etc/group; echo more >> /etc/passwd']);
    await e.containers.wait(id, 'not-running');
    const ch = await e.containers.changes(id);
    const kinds = Object.fromEntries(ch.map((c) => [c.Path, c.Kind]));
    assert.equal(kinds['/newfile'], 1);
    assert.equal(kinds['/d'], 1);
    assert.equal(kinds['/d/e/f'], 1);
    assert.equal(kinds['/etc/group'], 2);
    assert.equal(kinds['/etc/passwd'], 0);
    assert.equal(kinds['/etc'], 0);
    const tar = await entries(await e.containers.export(id));
    assert.equal(tar.get('bin/busybox')?.length ? true : false, true);
    assert.equal(tar.get('bin/sh'), 'symlink');
    assert.equal(tar.get('d/e/f'), 'x\n');
    assert.equal(tar.has('etc/group'), false);
    assert.match(tar.get('etc/passwd')!, /more\n$/);
    assert.deepEqual(mountsUnder(w.execRoot), [], 'export of a stopped container unmounts before its stream ends');
    await e.containers.remove(id, {});
  });

  it('archive: put, stat, get, on a stopped and a running container; traversal refused', async () => {
    const e = w.engine;
    const { Id: id } = await e.containers.create({ Image: 'busybox:berth-test', Cmd: ['sleep', '100'] }, {});
    await e.containers.putArchive(id, '/tmp', Readable.from([await makeTar([{ name: 'hello.txt', body: 'hi there\n' }, { name: 'sub', type: 'dir' }, { name: 'sub/x', body: 'x' }])]), {});
    const st = await e.containers.statPath(id, '/tmp/hello.txt');
    assert.equal(st.name, 'hello.txt');
    assert.equal(st.size, 9);
    assert.equal(st.mode & 0o777, 0o644);
    assert.equal(st.linkTarget, '');
    const dir = await e.containers.statPath(id, '/tmp/sub');
    assert.ok(dir.mode >= 2 ** 31, 'Go ModeDir bit');
    const link = await e.containers.statPath(id, '/bin/sh');
    assert.equal(link.linkTarget, '/bin/busybox');
    await assert.rejects(e.containers.statPath(id, '/nope'), (err: Error) => errorCode(err) === 'not-found');
    const got = await e.containers.getArchive(id, '/tmp/sub');
    assert.equal(got.stat.name, 'sub');
    assert.deepEqual([...(await entries(got.stream))], [['sub', 'dir'], ['sub/x', 'x']]);
    assert.deepEqual(mountsUnder(w.execRoot), [], 'the copy unmounts before its stream ends');
    // traversal: a ".." member is refused; a symlink pointing out resolves inside the rootfs
    await assert.rejects(
      e.containers.putArchive(id, '/tmp', Readable.from([await makeTar([{ name: '../../../../../../tmp/berth-escape', body: 'bad' }])]), {}),
      (err: Error) => errorCode(err) === 'invalid-argument');
    assert.equal(existsSync('/tmp/berth-escape'), false);
    await e.containers.putArchive(id, '/', Readable.from([await makeTar([{ name: 'esc', type: 'symlink', linkname: '../../../../../../' }])]), {});
    const viaLink = await e.containers.statPath(id, '/esc/etc/passwd');
    assert.ok(viaLink.size < 200, 'the container passwd, not the host one');
    await e.containers.putArchive(id, '/esc/tmp', Readable.from([await makeTar([{ name: 'inside', body: 'in' }])]), {});
    assert.equal((await e.containers.statPath(id, '/tmp/inside')).size, 2);
    await assert.rejects(e.containers.putArchive(id, '/tmp/hello.txt', Readable.from([await makeTar([{ name: 'a', body: '' }])]), {}), (err: Error) => errorCode(err) === 'invalid-argument');
    assert.deepEqual(mountsUnder(w.execRoot), []);
    // running: the same view
    await e.containers.start(id);
    assert.equal((await e.containers.statPath(id, '/tmp/hello.txt')).size, 9);
    const { Id: x } = await e.containers.execCreate(id, { Cmd: ['cat', '/tmp/hello.txt'], AttachStdout: true });
    await e.containers.execStart(x, { detach: true });
    await e.containers.putArchive(id, '/', Readable.from([await makeTar([{ name: 'live.txt', body: 'live' }])]), {});
    assert.equal((await e.containers.statPath(id, '/live.txt')).size, 4);
    await e.containers.remove(id, { force: true });
  });

  it('update changes the resources of a running container', async () => {
    const e = w.engine;
    const id = await run(e, ['sleep', '100']);
    await e.containers.update(id, { Memory: 64 * 1024 * 1024, MemorySwap: 128 * 1024 * 1024, PidsLimit: 50 });
    const i = await e.containers.inspect(id);
    assert.equal(i.HostConfig.Memory, 64 * 1024 * 1024);
    assert.equal(i.HostConfig.PidsLimit, 50);
    const s = (await (async () => { for await (const x of e.containers.stats(id, { stream: false, oneShot: true }, new AbortController().signal)) return x; })())!;
    assert.equal(s.memory_stats.limit, 64 * 1024 * 1024);
    assert.equal(s.pids_stats.limit, 50);
    await e.containers.remove(id, { force: true });
  });

  it('close and reopen: running containers keep running, exits while down are applied', async () => {
    let e = w.engine;
    const keep = await run(e, ['sh', '-c', 'echo before; sleep 100'], {}, 'keep');
    const quit = await run(e, ['sh', '-c', 'sleep 1; echo bye; exit 4'], {}, 'quit');
    const pid = (await e.containers.inspect(keep)).State.Pid;
    const quitPid = (await e.containers.inspect(quit)).State.Pid;
    await e.close();
    // `quit` exits while the engine is closed (however slow the machine), and the engine learns it at open.
    await until('quit exits', () => !existsSync(`/proc/${quitPid}`));
    e = w.engine = await openEngine(w.opts());
    const k = await e.containers.inspect('keep');
    assert.equal(k.State.Status, 'running');
    assert.equal(k.State.Pid, pid);
    assert.match((await logText(e, keep)).out, /before/);
    const q = await e.containers.inspect('quit');
    assert.equal(q.State.Status, 'exited');
    assert.equal(q.State.ExitCode, 4);
    assert.equal((await logText(e, quit)).out, 'bye\n');
    assert.deepEqual(mountsUnder(w.execRoot).filter((m) => m.includes(quit)), [], 'the exited one is unmounted');
    const { Id: x } = await e.containers.execCreate(keep, { Cmd: ['true'] });
    await e.containers.execStart(x, { detach: true });
    assert.equal(await e.containers.stop(keep, { timeout: 1 }), true);
    assert.equal((await e.containers.inspect(keep)).State.ExitCode, 137);
    assert.deepEqual(mountsUnder(w.execRoot), []);
    await e.containers.remove(keep, {});
    await e.containers.remove(quit, {});
    assert.equal(existsSync(join(w.dataRoot, 'containers', keep)), false);
  });

  it('info and df', async () => {
    const e = w.engine;
    const id = await run(e, ['true']);
    await e.containers.wait(id, 'not-running');
    const info = await e.info();
    assert.equal(info.Containers, 1);
    assert.equal(info.ContainersStopped, 1);
    assert.equal(info.Driver, 'overlayfs');
    assert.ok((info.Images as number) >= 3);
    const df = await e.df();
    assert.equal(df.Containers!.length, 1);
    assert.ok(df.LayersSize > 0);
    assert.ok(df.Images!.some((i) => i.Containers === 1));
    await e.containers.remove(id, {});
  });
});
