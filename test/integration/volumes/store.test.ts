// The volume store and service on a real data root: crash safety (journaled create/remove, a killed writer), references, copy-up.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync, chownSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { errorCode } from '../../../src/common/errors.js';
import { copyUp } from '../../../src/volumes/copy-up.js';
import { VolumeService, type ContainerUse } from '../../../src/volumes/service.js';
import type { MountPointRecord } from '../../../src/volumes/types.js';
import { repoRoot } from '../../fixtures/rootfs.js';

const root = mkdtempSync(join(tmpdir(), 'berth-vol-'));
after(() => rmSync(root, { recursive: true, force: true }));

function world(name: string, containers: ContainerUse[] = []) {
  const dataRoot = join(root, name);
  mkdirSync(dataRoot, { recursive: true });
  const events: string[] = [];
  const open = async () => {
    const db = new Database(join(dataRoot, 'metadata.db'));
    db.pragma('journal_mode = WAL');
    const svc = new VolumeService({ db, dataRoot, events: { publish: (e) => events.push(`${e.Action} ${e.Actor.ID}`) }, containers: () => containers });
    await svc.open();
    return { db, svc };
  };
  return { dataRoot, events, containers, open };
}

const volMount = (name: string, anonymous = false): MountPointRecord => ({ type: 'volume', name, destination: '/d', source: '', mode: 'z', rw: true, propagation: '', ...(anonymous ? { anonymous } : {}) });

describe('volume store: crash safety', () => {
  it('a create or remove interrupted at any step is finished or undone at open; foreign volume dirs are adopted', async () => {
    const w = world('journal');
    let { db, svc } = await w.open();
    await svc.create({ Name: 'keep', Labels: { a: 'b' }, DriverOpts: {} });
    writeFileSync(join(svc.store.dataPath('keep'), 'f'), 'data');
    await svc.create({ Name: 'gone' });
    writeFileSync(join(svc.store.dataPath('gone'), 'f'), 'data');
    // A create killed after its row and first directory, a remove killed after its journal entry.
    db.prepare("INSERT INTO volumes (name, driver, labels, options, created, state) VALUES ('half', 'local', 'null', 'null', ?, 'creating')").run(new Date().toISOString());
    mkdirSync(join(w.dataRoot, 'volumes', 'half'));
    svc.store.beginRemove('gone');
    assert.throws(() => svc.inspect('gone'), { message: 'get gone: no such volume' });
    // A volume directory copied in by hand (dockerd lists those too).
    mkdirSync(join(w.dataRoot, 'volumes', 'copied', '_data'), { recursive: true });
    mkdirSync(join(w.dataRoot, 'volumes', 'not-a-volume'));
    db.close();

    ({ db, svc } = await w.open());
    assert.deepEqual(svc.list().Volumes.map((v) => v.Name), ['copied', 'keep']);
    assert.deepEqual(svc.inspect('keep').Labels, { a: 'b' });
    assert.deepEqual(svc.inspect('keep').Options, {});
    assert.equal(readFileSync(join(svc.store.dataPath('keep'), 'f'), 'utf8'), 'data');
    assert.equal(existsSync(join(w.dataRoot, 'volumes', 'half')), false);
    assert.equal(existsSync(join(w.dataRoot, 'volumes', 'gone')), false);
    assert.equal(svc.inspect('copied').Labels, null);
    assert.equal((db.prepare('SELECT COUNT(*) AS n FROM volumes').get() as { n: number }).n, 2);
    db.close();
  });

  it('a writer killed with SIGKILL in the middle of creates and removes leaves only whole volumes', async (t) => {
    const w = world('killed');
    // A child creating and removing volumes as fast as it can; killed at a few points in time.
    const script = join(root, 'writer.mjs');
    writeFileSync(script, `
      import { createRequire } from 'node:module';
      import { writeFileSync } from 'node:fs';
      import { join } from 'node:path';
      const Database = createRequire(${JSON.stringify(join(repoRoot, 'package.json'))})('better-sqlite3');
      const { VolumeService } = await import(${JSON.stringify(join(repoRoot, 'dist/src/volumes/service.js'))});
      const db = new Database(join(process.argv[2], 'metadata.db'));
      db.pragma('journal_mode = WAL');
      const svc = new VolumeService({ db, dataRoot: process.argv[2], events: { publish() {} }, containers: () => [] });
      await svc.open();
      process.stdout.write('ready\\n');
      for (let i = 0; ; i++) {
        const v = await svc.create({ Name: 'v' + i, Labels: { n: String(i) } });
        writeFileSync(join(v.Mountpoint, 'f'), 'x'.repeat(1000));
        if (i % 3 === 0) await svc.remove('v' + (i - 1)).catch(() => {});
      }
    `);
    for (const ms of [20, 80, 150]) {
      const child = spawn(process.execPath, [script, w.dataRoot], { stdio: ['ignore', 'pipe', 'inherit'], cwd: repoRoot });
      await new Promise<void>((resolve, reject) => {
        child.stdout.once('data', () => resolve());
        child.once('exit', (code) => reject(new Error(`writer exited early (${code})`)));
      });
      await new Promise((r) => setTimeout(r, ms));
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      const raw = new Database(join(w.dataRoot, 'metadata.db'));
      const caught = raw.prepare("SELECT name, state FROM volumes WHERE state != 'ready'").all();
      raw.close();
      t.diagnostic(`killed after ${ms} ms: interrupted operations ${JSON.stringify(caught)}`);
      const { db, svc } = await w.open();
      const listed = svc.list().Volumes;
      assert.ok(listed.length > 0);
      for (const v of listed) {
        assert.ok(lstatSync(v.Mountpoint).isDirectory(), `${v.Name}: its _data`);
        assert.equal(svc.inspect(v.Name).Labels?.n, v.Name.slice(1), `${v.Name}: its labels`);
      }
      const dirs = readdirSync(join(w.dataRoot, 'volumes'));
      assert.deepEqual(dirs.sort(), listed.map((v) => v.Name).sort(), 'no directory without its volume');
      assert.equal((db.prepare("SELECT COUNT(*) AS n FROM volumes WHERE state != 'ready'").get() as { n: number }).n, 0);
      db.close();
    }
  });
});

describe('volume service', () => {
  it('names, anonymous volumes, idempotent create, option checks with dockerd texts; events', async () => {
    const w = world('svc');
    const { db, svc } = await w.open();
    const v = await svc.create({ Name: 'data' });
    assert.deepEqual(Object.keys(v), ['CreatedAt', 'Driver', 'Labels', 'Mountpoint', 'Name', 'Options', 'Scope']);
    assert.match(v.CreatedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(v.Mountpoint, join(w.dataRoot, 'volumes', 'data', '_data'));
    assert.equal(lstatSync(join(w.dataRoot, 'volumes')).mode & 0o777, 0o701);
    assert.equal(lstatSync(join(w.dataRoot, 'volumes', 'data')).mode & 0o777, 0o701);
    assert.equal(lstatSync(v.Mountpoint).mode & 0o777, 0o755);
    assert.deepEqual(await svc.create({ Name: 'data', Labels: { ignored: '1' } }), v);
    const anon = await svc.create({});
    assert.match(anon.Name, /^[0-9a-f]{64}$/);
    assert.deepEqual(anon.Labels, { 'com.docker.volume.anonymous': '' });
    await assert.rejects(svc.create({ Name: 'x' }), { message: 'create x: volume name is too short, names should be at least two alphanumeric characters' });
    await assert.rejects(svc.create({ Name: 'a/../../b' }), (e: Error) => errorCode(e) === 'invalid-argument' && e.message.startsWith('create a/../../b: "a/../../b" includes invalid characters'));
    await assert.rejects(svc.create({ Name: 'o1', DriverOpts: { foo: 'bar' } }), { message: 'create o1: invalid option: "foo"' });
    await assert.rejects(svc.create({ Name: 'o2', DriverOpts: { type: 'tmpfs' } }), { message: 'create o2: missing required option: "device"' });
    await assert.rejects(svc.create({ Name: 'o3', DriverOpts: { o: 'size=1m', device: 'tmpfs' } }), { message: 'create o3: missing required option: "type"' });
    await assert.rejects(svc.create({ Name: 'p1', Driver: 'nfs' }), (e: Error) => errorCode(e) === 'not-found' && e.message === 'create p1: error looking up volume plugin nfs: plugin "nfs" not found');
    assert.equal(existsSync(join(w.dataRoot, 'volumes', 'o1')), false);
    await svc.remove('data');
    await assert.rejects(svc.remove('data'), (e: Error) => errorCode(e) === 'not-found' && e.message === 'get data: no such volume');
    await svc.remove('data', { force: true });
    assert.deepEqual(w.events, ['create data', `create ${anon.Name}`, 'destroy data']);
    db.close();
  });

  it('references: a volume any container names is in use (409 with their ids), not dangling, not pruned', async () => {
    const w = world('refs');
    const { db, svc } = await w.open();
    for (const n of ['used', 'free', 'labelled']) await svc.create({ Name: n, ...(n === 'labelled' ? { Labels: { keep: 'no' } } : {}) });
    const anonUsed = await svc.create({});
    const anonFree = await svc.create({});
    writeFileSync(join(anonFree.Mountpoint, 'f'), '12345');
    w.containers.push({ id: 'c1'.repeat(32), running: false, mountPoints: [volMount('used'), volMount(anonUsed.Name, true)] });
    w.containers.push({ id: 'c2'.repeat(32), running: true, mountPoints: [volMount('used')] });
    await assert.rejects(svc.remove('used'), (e: Error) => errorCode(e) === 'conflict' && e.message === `remove used: volume is in use - [${'c1'.repeat(32)}, ${'c2'.repeat(32)}]`);
    await assert.rejects(svc.remove('used', { force: true }), /volume is in use/);
    assert.deepEqual(svc.list({ dangling: ['true'] }).Volumes.map((v) => v.Name).sort(), [anonFree.Name, 'free', 'labelled'].sort());
    assert.deepEqual(svc.list({ dangling: ['false'] }).Volumes.map((v) => v.Name).sort(), [anonUsed.Name, 'used'].sort());
    assert.deepEqual(svc.list({ label: ['keep=no'] }).Volumes.map((v) => v.Name), ['labelled']);
    assert.throws(() => svc.list({ until: ['1h'] }), { message: "invalid filter 'until'" });
    // API 1.42+: only anonymous volumes, unless all=true
    assert.deepEqual(await svc.prune({}), { VolumesDeleted: [anonFree.Name], SpaceReclaimed: 5 });
    assert.deepEqual(await svc.prune({ all: ['true'], 'label!': ['keep=no'] }), { VolumesDeleted: ['free'], SpaceReclaimed: 0 });
    assert.deepEqual(svc.list().Volumes.map((v) => v.Name).sort(), [anonUsed.Name, 'labelled', 'used'].sort());
    const df = await svc.usage();
    assert.deepEqual(df.map((v) => [v.Name, v.UsageData]).sort(), [[anonUsed.Name, { RefCount: 1, Size: 0 }], ['labelled', { RefCount: 0, Size: 0 }], ['used', { RefCount: 2, Size: 0 }]].sort());
    // a container being created holds its volumes before its record exists
    await svc.create({ Name: 'pending' }, 'c3'.repeat(32));
    await assert.rejects(svc.remove('pending'), /volume is in use - \[(c3){32}\]/);
    svc.settle('c3'.repeat(32));
    await svc.remove('pending');
    db.close();
  });
});

describe('copy-up', { skip: process.getuid?.() !== 0 ? 'needs root (chown)' : false }, () => {
  it('copies an image directory into an empty volume with owners, modes, times, links and xattrs; never into a non-empty one', async () => {
    const src = join(root, 'img-dir');
    const dst = join(root, 'vol-data');
    mkdirSync(join(src, 'sub'), { recursive: true });
    mkdirSync(dst);
    writeFileSync(join(src, 'sub', 'f'), 'hello');
    chownSync(join(src, 'sub', 'f'), 1234, 5678);
    chmodSync(join(src, 'sub', 'f'), 0o640);
    linkSync(join(src, 'sub', 'f'), join(src, 'hard'));
    symlinkSync('sub/f', join(src, 'link'));
    chownSync(src, 999, 998);
    chmodSync(src, 0o1777);
    const haveAttr = spawnSync('setfattr', ['-n', 'user.berth', '-v', 'yes', join(src, 'sub', 'f')]).status === 0;
    assert.equal(await copyUp(src, dst), true);
    const f = lstatSync(join(dst, 'sub', 'f'));
    assert.deepEqual([f.uid, f.gid, f.mode & 0o7777], [1234, 5678, 0o640]);
    assert.equal(f.mtimeMs, lstatSync(join(src, 'sub', 'f')).mtimeMs);
    assert.equal(lstatSync(join(dst, 'hard')).ino, f.ino, 'hard links kept');
    assert.equal(readlinkSync(join(dst, 'link')), 'sub/f');
    const r = lstatSync(dst);
    assert.deepEqual([r.uid, r.gid, r.mode & 0o7777], [999, 998, 0o1777], 'the volume root takes the directory\'s owner and mode');
    if (haveAttr) assert.match(spawnSync('getfattr', ['-n', 'user.berth', '--only-values', join(dst, 'sub', 'f')], { encoding: 'utf8' }).stdout, /^yes/);
    // not again, not over content, not from a file
    writeFileSync(join(src, 'new'), 'x');
    assert.equal(await copyUp(src, dst), false);
    assert.equal(existsSync(join(dst, 'new')), false);
    assert.equal(await copyUp(join(src, 'sub', 'f'), join(root, 'vol-data')), false);
    assert.equal(await copyUp(join(src, 'missing'), dst), false);
  });
});
