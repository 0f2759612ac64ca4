// Images end to end on the real kernel: load/save/import/unpack/GC with our fixture and with skopeo and umoci as independent tools.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, truncateSync, writeFileSync, copyFileSync, statSync,
} from 'node:fs';
import { join } from 'node:path';
import { errorCode, isNotFound } from '../../../src/common/errors.js';
import { loadArchive } from '../../../src/images/archive/load.js';
import { saveImages } from '../../../src/images/archive/save.js';
import { importRootfs } from '../../../src/images/archive/import.js';
import { ensureBuiltinImages, builtinImages } from '../../../src/images/builtin.js';
import { LocalContentStore } from '../../../src/images/content/local-store.js';
import { GarbageCollector } from '../../../src/images/gc.js';
import { ImageService } from '../../../src/images/images.js';
import { SqliteImageStore } from '../../../src/images/image-store.js';
import { OverlaySnapshotter } from '../../../src/images/snapshots/overlay.js';
import { mountAll, unmount } from '../../../src/images/snapshots/mount.js';
import { buildDockerSaveTar, buildOciImageTar } from '../../fixtures/image.js';
import { haveCommand, makeBusyboxRootfs, rootSkipReason, tempDir } from '../../fixtures/rootfs.js';

const skip = rootSkipReason();
const REF = 'docker.io/library/busybox:berth-test';

interface Env {
  root: string;
  db: Database.Database;
  service: ImageService;
  gc: GarbageCollector;
  content: LocalContentStore;
  snapshots: OverlaySnapshotter;
  close(): void;
}

async function makeEnv(root: string, inUse: Set<string> = new Set()): Promise<Env> {
  mkdirSync(root, { recursive: true });
  const db = new Database(join(root, 'metadata.db'));
  const content = await new LocalContentStore(join(root, 'content')).init();
  const snapshots = await new OverlaySnapshotter(db, join(root, 'snapshots')).init();
  const store = new SqliteImageStore(db);
  const gc = new GarbageCollector({ content, snapshotter: snapshots, images: store, graceMs: 0 });
  const service = new ImageService({ content, snapshotter: snapshots, store, gc, isInUse: (id) => inUse.has(id) });
  return { root, db, service, gc, content, snapshots, close: () => db.close() };
}

/** path -> type/mode/owner/content digest or link target, for every entry under `dir` (mtimes left out). */
function tree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string) => {
    const p = join(dir, rel);
    const st = lstatSync(p);
    let what = '';
    if (st.isSymbolicLink()) what = `link:${readlinkSync(p)}`;
    else if (st.isFile()) what = `file:${createHash('sha256').update(readFileSync(p)).digest('hex')}`;
    else if (st.isDirectory()) what = 'dir';
    else what = `other:${st.rdev}`;
    if (rel) out.set(rel, `${what} mode=${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}`);
    if (st.isDirectory()) for (const n of readdirSync(p).sort()) walk(rel ? `${rel}/${n}` : n);
  };
  walk('');
  return out;
}

function assertSameTree(actual: string, expected: string): void {
  assert.deepEqual(Object.fromEntries(tree(actual)), Object.fromEntries(tree(expected)));
}

describe('images (integration)', { skip }, () => {
  const tmp = tempDir('berth-images-');
  let rootfs: string;
  let dockerTar: string;
  let ociTar: string;
  const mounted: string[] = [];
  let mounts = 0;

  before(() => {
    rootfs = makeBusyboxRootfs(join(tmp.path, 'rootfs'));
    dockerTar = buildDockerSaveTar(tmp.path, REF);
    ociTar = buildOciImageTar(tmp.path, REF);
  });
  after(async () => {
    for (const m of mounted) await unmount(m).catch(() => undefined);
    tmp.cleanup();
  });

  /** Mount `key` on a fresh dir; the dir is unmounted by the test or, on failure, by after(). */
  async function mountKey(env: Env, key: string): Promise<string> {
    const target = join(tmp.path, `mnt-${mounts++}`);
    mkdirSync(target);
    await mountAll(await env.snapshots.mounts(key), target);
    mounted.push(target);
    return target;
  }
  async function umountKey(target: string): Promise<void> {
    await unmount(target);
    mounted.splice(mounted.indexOf(target), 1);
  }

  test('load a docker save tar: records, unpacked tree equals the rootfs, inspect and history shapes', async () => {
    const env = await makeEnv(join(tmp.path, 'd1'));
    try {
      const r = await loadArchive(env.service, dockerTar);
      assert.deepEqual(r.messages, ['Loaded image: busybox:berth-test']);
      const img = await env.service.get('busybox:berth-test');
      assert.equal(img.chainIds.length, 1);
      assertSameTree(env.snapshots.dir(img.chainIds[0]), rootfs);
      const insp = await env.service.inspect('busybox:berth-test');
      assert.equal(insp.Id, img.id);
      assert.deepEqual(insp.RepoTags, ['busybox:berth-test']);
      assert.deepEqual((insp.RootFS as { Layers: string[] }).Layers, img.config.rootfs.diff_ids);
      assert.equal(insp.Os, 'linux');
      assert.deepEqual((insp.Config as { Cmd: string[] }).Cmd, ['sh']);
      assert.equal((insp.GraphDriver as { Name: string }).Name, 'overlayfs');
      assert.ok((insp.Size as number) > 1000);
      const h = await env.service.history(img.id.slice(7, 19));
      assert.equal(h.length, 1);
      assert.equal(h[0].Id, img.id);
      assert.deepEqual(h[0].Tags, ['busybox:berth-test']);
      const list = await env.service.list();
      assert.equal(list.length, 1);
      assert.deepEqual(list[0].RepoTags, ['busybox:berth-test']);
      assert.deepEqual((await env.gc.check()).problems, []);
    } finally {
      env.close();
    }
  });

  test('load an OCI layout tar gives the same image; skopeo-made archives load too', async () => {
    const env = await makeEnv(join(tmp.path, 'd2'));
    try {
      await loadArchive(env.service, ociTar);
      const img = await env.service.get(REF);
      assertSameTree(env.snapshots.dir(img.chainIds[0]), rootfs);
      if (!haveCommand('skopeo')) return;
      const sk1 = join(tmp.path, 'skopeo-docker.tar');
      const sk2 = join(tmp.path, 'skopeo-oci.tar');
      execFileSync('skopeo', ['copy', '-q', `oci-archive:${ociTar}`, `docker-archive:${sk1}:example.com/sk/docker:v1`]);
      execFileSync('skopeo', ['copy', '-q', `docker-archive:${sk1}`, `oci-archive:${sk2}:example.com/sk/oci:v2`]);
      await loadArchive(env.service, sk1);
      await loadArchive(env.service, sk2);
      for (const ref of ['example.com/sk/docker:v1', 'example.com/sk/oci:v2']) {
        const i = await env.service.get(ref);
        assert.deepEqual(i.config.rootfs.diff_ids, img.config.rootfs.diff_ids, ref);
        assertSameTree(env.snapshots.dir(i.chainIds[0]), rootfs);
      }
      assert.deepEqual((await env.gc.check()).problems, []);
    } finally {
      env.close();
    }
  });

  test('save (docker and oci) and load back: same image id; umoci unpacks our layout to the same tree', async () => {
    const env = await makeEnv(join(tmp.path, 'd3'));
    try {
      await loadArchive(env.service, dockerTar);
      const img = await env.service.get(REF);
      for (const format of ['docker', 'oci'] as const) {
        const out = join(tmp.path, `saved-${format}.tar`);
        await saveImages(env.service, [REF], out, { format });
        const env2 = await makeEnv(join(tmp.path, `d3-${format}`));
        try {
          const r = await loadArchive(env2.service, out);
          assert.deepEqual(r.images.map((i) => i.id), [img.id]);
          const back = await env2.service.get(REF);
          assert.equal(back.manifestDesc.digest, img.manifestDesc.digest);
          assertSameTree(env2.snapshots.dir(back.chainIds[0]), rootfs);
        } finally {
          env2.close();
        }
      }
      if (!haveCommand('umoci')) return;
      const layout = join(tmp.path, 'layout');
      mkdirSync(layout);
      execFileSync('tar', ['-xf', join(tmp.path, 'saved-oci.tar'), '-C', layout]);
      const bundle = join(tmp.path, 'umoci-bundle');
      execFileSync('umoci', ['unpack', '--image', `${layout}:berth-test`, bundle], { stdio: 'pipe' });
      assertSameTree(join(bundle, 'rootfs'), rootfs);
    } finally {
      env.close();
    }
  });

  test('import a rootfs tar with changes; tag, untag and remove with in-use protection; GC keeps the tagged image', async () => {
    const inUse = new Set<string>();
    const env = await makeEnv(join(tmp.path, 'd4'), inUse);
    try {
      await loadArchive(env.service, dockerTar);
      const kept = await env.service.get(REF);
      const extra = join(tmp.path, 'extra-rootfs');
      mkdirSync(join(extra, 'etc'), { recursive: true });
      writeFileSync(join(extra, 'etc', 'motd'), 'imported\n');
      copyFileSync('/bin/busybox', join(extra, 'busybox'));
      const rootTar = join(tmp.path, 'extra.tar.gz');
      execFileSync('tar', ['--numeric-owner', '-czf', rootTar, '-C', extra, '.']);
      const r = await importRootfs(env.service, rootTar, { ref: 'imported:1', changes: ['CMD ["/busybox", "cat", "/etc/motd"]', 'ENV A=b'], message: 'from a test' });
      const imp = await env.service.get('imported:1');
      assert.equal(imp.id, r.id);
      assert.deepEqual(imp.config.config?.Cmd, ['/busybox', 'cat', '/etc/motd']);
      assert.deepEqual(imp.config.config?.Env, ['A=b']);
      assert.equal(imp.manifest.layers[0].mediaType, 'application/vnd.oci.image.layer.v1.tar+gzip');
      assertSameTree(env.snapshots.dir(imp.chainIds[0]), extra);
      assert.equal((await env.service.history('imported:1'))[0].Comment, 'from a test');

      await env.service.tag('imported:1', 'localhost:5000/imported:2');
      assert.deepEqual(await env.service.remove('imported:1'), [{ Untagged: 'imported:1' }]);
      inUse.add(imp.id);
      await assert.rejects(env.service.remove('localhost:5000/imported:2'), (e: unknown) => errorCode(e) === 'conflict');
      inUse.clear();
      const impBlobs = [imp.manifestDesc.digest, imp.id, imp.manifest.layers[0].digest];
      assert.deepEqual(await env.service.remove('localhost:5000/imported:2'), [{ Untagged: 'localhost:5000/imported:2' }, { Deleted: imp.id }]);
      for (const d of impBlobs) assert.equal(await env.content.has(d), false, d);
      await assert.rejects(env.snapshots.stat(imp.chainIds[0]), isNotFound);
      // The tagged image survived the collection.
      for (const d of [kept.manifestDesc.digest, kept.id, kept.manifest.layers[0].digest]) assert.equal(await env.content.has(d), true);
      assert.equal((await env.snapshots.stat(kept.chainIds[0])).kind, 'committed');
      assert.deepEqual((await env.gc.check()).problems, []);
    } finally {
      env.close();
    }
  });

  test('broken archives fail clearly and leave nothing after GC', async () => {
    const env = await makeEnv(join(tmp.path, 'd5'));
    try {
      const blobsBefore = (await env.content.list()).length;
      // 1. truncated tar
      const cut = join(tmp.path, 'truncated.tar');
      copyFileSync(dockerTar, cut);
      truncateSync(cut, Math.floor(statSync(dockerTar).size / 2));
      await assert.rejects(loadArchive(env.service, cut), (e: unknown) => errorCode(e) === 'invalid-argument' && /load/.test((e as Error).message));
      // 2-5. OCI layouts with a wrong digest, a lying size, an unknown media type, a missing blob
      const base = join(tmp.path, 'oci-src');
      mkdirSync(base);
      execFileSync('tar', ['-xf', ociTar, '-C', base]);
      const index = JSON.parse(readFileSync(join(base, 'index.json'), 'utf8'));
      const mdig = index.manifests[0].digest.slice(7);
      const manifest = JSON.parse(readFileSync(join(base, 'blobs/sha256', mdig), 'utf8'));
      const variants: Array<[string, (dir: string) => void, RegExp]> = [
        ['wrong-digest', (d) => writeFileSync(join(d, 'blobs/sha256', manifest.config.digest.slice(7)), '{"tampered":true}'), /digest/],
        ['lying-size', (d) => {
          index.manifests[0].size += 1;
          writeFileSync(join(d, 'index.json'), JSON.stringify(index));
          index.manifests[0].size -= 1;
        }, /says \d+ bytes/],
        ['unknown-type', (d) => {
          const m = { ...manifest, layers: [{ ...manifest.layers[0], mediaType: 'application/x-unknown' }] };
          const b = Buffer.from(JSON.stringify(m));
          const dg = createHash('sha256').update(b).digest('hex');
          writeFileSync(join(d, 'blobs/sha256', dg), b);
          writeFileSync(join(d, 'index.json'), JSON.stringify({ ...index, manifests: [{ ...index.manifests[0], digest: `sha256:${dg}`, size: b.length }] }));
        }, /unknown layer media type/],
        ['missing-blob', (d) => rmSync(join(d, 'blobs/sha256', manifest.layers[0].digest.slice(7))), /missing/],
      ];
      for (const [name, mutate, re] of variants) {
        const dir = join(tmp.path, `oci-${name}`);
        execFileSync('cp', ['-a', base, dir]);
        mutate(dir);
        const t = join(tmp.path, `${name}.tar`);
        execFileSync('tar', ['-cf', t, '-C', dir, '.']);
        await assert.rejects(loadArchive(env.service, t), (e: unknown) => re.test((e as Error).message), name);
      }
      assert.deepEqual(await env.service.store.list(), []);
      const res = await env.gc.collect({ graceMs: 0 });
      assert.ok(res.blobs.length > 0);
      assert.equal((await env.content.list()).length, blobsBefore);
      assert.deepEqual(await env.snapshots.list(), []);
      assert.deepEqual(await env.content.listIngests(), []);
      const check = await env.gc.check();
      assert.deepEqual(check.problems, []);
    } finally {
      env.close();
    }
  });

  test('overlay mounts of an unpacked image show its files; a container layer on top; 150 layers still mount', async () => {
    const env = await makeEnv(join(tmp.path, 'd6-with-a-rather-long-directory-name-to-make-lowerdir-strings-longer'));
    try {
      await loadArchive(env.service, dockerTar);
      const img = await env.service.get(REF);
      await env.snapshots.prepare('ctr-1', img.chainIds[0]);
      const m = await mountKey(env, 'ctr-1');
      assert.deepEqual(readFileSync(join(m, 'bin', 'busybox')), readFileSync('/bin/busybox'));
      assert.match(readFileSync(join(m, 'etc', 'passwd'), 'utf8'), /^root:x:0:0/);
      writeFileSync(join(m, 'tmp', 'written'), 'by the container');
      await umountKey(m);
      assert.equal(readFileSync(join(env.snapshots.dir('ctr-1'), 'tmp', 'written'), 'utf8'), 'by the container');
      // A container snapshot is a GC root when labelled so.
      await env.snapshots.setLabels('ctr-1', { 'berth.io/gc.root': 'true' });
      await env.service.remove(REF);
      assert.equal((await env.snapshots.stat(img.chainIds[0])).kind, 'committed');
      await env.snapshots.remove('ctr-1');
      await env.gc.collect();
      assert.deepEqual(await env.snapshots.list(), []);

      let parent: string | undefined;
      for (let i = 0; i < 150; i++) {
        await env.snapshots.prepare(`k${i}`, parent);
        writeFileSync(join(env.snapshots.dir(`k${i}`), `f${i}`), String(i));
        await env.snapshots.commit(`layer-${i}`, `k${i}`);
        parent = `layer-${i}`;
      }
      await env.snapshots.prepare('deep', parent);
      const opt = (await env.snapshots.mounts('deep'))[0].options.join(',');
      assert.ok(opt.length > 4096, `option string only ${opt.length} bytes`);
      const d = await mountKey(env, 'deep');
      assert.equal(readFileSync(join(d, 'f0'), 'utf8'), '0');
      assert.equal(readFileSync(join(d, 'f149'), 'utf8'), '149');
      assert.equal(readdirSync(d).length, 150);
      await umountKey(d);
    } finally {
      env.close();
    }
  });

  test('built-in images: created once, deterministic across data roots, binaries in place', async () => {
    const avail = builtinImages().filter((b) => existsSync(b.binary));
    if (avail.length === 0) return;
    const ids: string[][] = [];
    for (const n of ['b1', 'b2']) {
      const env = await makeEnv(join(tmp.path, n));
      try {
        const r = await ensureBuiltinImages(env.service);
        assert.equal(r.created.length, avail.length);
        assert.deepEqual((await ensureBuiltinImages(env.service)).created, []);
        const got: string[] = [];
        for (const b of avail) {
          const img = await env.service.get(b.name);
          got.push(img.manifestDesc.digest);
          assert.deepEqual(img.config.config?.Cmd, b.cmd);
          assert.deepEqual(readFileSync(join(env.snapshots.dir(img.chainIds[0]), b.path)), readFileSync(b.binary));
          assert.equal(lstatSync(join(env.snapshots.dir(img.chainIds[0]), b.path)).mode & 0o777, 0o755);
        }
        ids.push(got);
      } finally {
        env.close();
      }
    }
    assert.deepEqual(ids[0], ids[1]);
  });
});
