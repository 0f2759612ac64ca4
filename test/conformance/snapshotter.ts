// The snapshotter conformance suite: one case list every Snapshotter implementation runs (containerd's SnapshotterSuite).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { errorCode, isNotFound } from '../../src/common/errors.js';
import type { Snapshotter } from '../../src/images/types.js';
import { mountAll, unmount } from '../../src/images/snapshots/mount.js';

/** Makes a fresh snapshotter in `root`; `whiteout` deletes a lower path in an active snapshot's dir the way the mechanism does. */
export type SnapshotterFactory = (root: string) => Promise<{ snapshotter: Snapshotter; whiteout: (dir: string, name: string) => void; close: () => void }>;

/** Run the suite on `factory` under the name `name`; mount cases skip when not root. */
export function snapshotterSuite(name: string, factory: SnapshotterFactory, opts: { skip?: string } = {}): void {
  const root = process.getuid?.() === 0;
  const withSn = (fn: (s: Snapshotter, ctx: { dir: string; whiteout: (dir: string, name: string) => void }) => Promise<void>) => async () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-sn-'));
    const f = await factory(dir);
    try {
      await fn(f.snapshotter, { dir, whiteout: f.whiteout });
    } finally {
      f.close();
      rmSync(dir, { recursive: true, force: true });
    }
  };
  /** Mount `key`'s mounts on a temp dir, run fn on it, always unmount. */
  async function withMount<T>(s: Snapshotter, key: string, base: string, fn: (target: string) => T): Promise<T> {
    const target = join(base, `mnt-${Math.random().toString(36).slice(2)}`);
    mkdirSync(target);
    await mountAll(await s.mounts(key), target);
    try {
      return fn(target);
    } finally {
      await unmount(target);
    }
  }
  const t = (title: string, fn: () => Promise<void>, needsRoot = false) =>
    test(`${name}: ${title}`, { skip: opts.skip ?? (needsRoot && !root ? 'needs root (mounts)' : undefined) }, fn);

  t('prepare, write, commit, stat, list', withSn(async (s) => {
    await s.prepare('a-active', undefined, { l: '1' });
    const info = await s.stat('a-active');
    assert.equal(info.kind, 'active');
    assert.deepEqual(info.labels, { l: '1' });
    writeFileSync(join(s.dir('a-active'), 'hello'), 'a');
    await s.commit('a', 'a-active');
    await assert.rejects(s.stat('a-active'), isNotFound);
    const a = await s.stat('a');
    assert.equal(a.kind, 'committed');
    assert.equal(a.parent, undefined);
    assert.equal(readFileSync(join(s.dir('a'), 'hello'), 'utf8'), 'a');
    await s.prepare('b-active', 'a');
    assert.equal((await s.stat('b-active')).parent, 'a');
    assert.deepEqual((await s.list()).map((x) => `${x.name}:${x.kind}`).sort(), ['a:committed', 'b-active:active']);
  }));

  t('errors: duplicate key, missing or uncommitted parent, commit of a non-active, mounts of a committed', withSn(async (s) => {
    await s.prepare('k');
    await assert.rejects(s.prepare('k'), (e: unknown) => errorCode(e) === 'already-exists');
    await assert.rejects(s.prepare('x', 'nope'), isNotFound);
    await assert.rejects(s.prepare('x', 'k'), (e: unknown) => errorCode(e) === 'failed-precondition');
    await s.commit('c', 'k');
    await assert.rejects(s.commit('c2', 'c'), (e: unknown) => errorCode(e) === 'failed-precondition');
    await assert.rejects(s.mounts('c'), (e: unknown) => errorCode(e) === 'failed-precondition');
    await s.view('v', 'c');
    await assert.rejects(s.commit('c3', 'v'), (e: unknown) => errorCode(e) === 'failed-precondition');
    await s.prepare('k2', 'c');
    await assert.rejects(s.commit('c', 'k2'), (e: unknown) => errorCode(e) === 'already-exists');
    await assert.rejects(s.stat('missing'), isNotFound);
  }));

  t('remove: refused with children, then bottom-up; the dir goes', withSn(async (s) => {
    await s.prepare('p');
    await s.commit('base', 'p');
    await s.prepare('child', 'base');
    await assert.rejects(s.remove('base'), (e: unknown) => errorCode(e) === 'failed-precondition');
    const dir = s.dir('child');
    await s.remove('child');
    assert.equal(existsSync(dir), false);
    await s.remove('base');
    assert.deepEqual(await s.list(), []);
    await assert.rejects(s.remove('base'), isNotFound);
  }));

  t('usage counts the layer own files', withSn(async (s) => {
    await s.prepare('u');
    writeFileSync(join(s.dir('u'), 'f'), Buffer.alloc(1000));
    mkdirSync(join(s.dir('u'), 'd'));
    const u = await s.usage('u');
    assert.equal(u.size, 1000);
    assert.equal(u.inodes, 3);
  }));

  t('layers stack in mounts: files of parents visible, writes land in the active layer, deletions hide', withSn(async (s, { dir, whiteout }) => {
    await s.prepare('l1');
    writeFileSync(join(s.dir('l1'), 'one'), '1');
    writeFileSync(join(s.dir('l1'), 'gone'), 'x');
    await s.commit('c1', 'l1');
    await s.prepare('l2', 'c1');
    writeFileSync(join(s.dir('l2'), 'two'), '2');
    whiteout(s.dir('l2'), 'gone');
    await s.commit('c2', 'l2');
    await s.prepare('rw', 'c2');
    await withMount(s, 'rw', dir, (m) => {
      assert.deepEqual(readdirSync(m).sort(), ['one', 'two']);
      writeFileSync(join(m, 'three'), '3');
    });
    assert.equal(readFileSync(join(s.dir('rw'), 'three'), 'utf8'), '3');
    assert.equal(existsSync(join(s.dir('c2'), 'three')), false);
    await s.view('ro', 'c2');
    await withMount(s, 'ro', dir, (m) => {
      assert.deepEqual(readdirSync(m).sort(), ['one', 'two']);
      assert.throws(() => writeFileSync(join(m, 'x'), 'x'), /EROFS/);
    });
  }), true);
}
