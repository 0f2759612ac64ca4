// Snapshot mounts through berth-helper (mount(2)/umount2(2) without a fork of Node): what lands in the mount table, errors, and the helper's own life.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { helperBinaryPath } from '../../../src/common/host-helper.js';
import { mountAll, PAGE_SIZE, unmount } from '../../../src/images/snapshots/mount.js';
import { rootSkipReason, tempDir } from '../../fixtures/rootfs.js';

const skip = rootSkipReason() ?? (helperBinaryPath() ? undefined : 'berth-helper is not built (make -C native)');

/** mountinfo entries (mount point, fs type, per-mount options) at or under `dir`. */
function mounts(dir: string): Array<{ at: string; type: string; opts: string }> {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter(Boolean).map((l) => {
    const f = l.split(' ');
    const dash = f.indexOf('-');
    return { at: f[4]!, type: f[dash + 1]!, opts: f[5]! };
  }).filter((m) => m.at === dir || m.at.startsWith(`${dir}/`));
}

function scratch(t: { after: (fn: () => void) => void }): string {
  const tmp = tempDir('berth-mount-');
  t.after(() => {
    for (const m of mounts(tmp.path).reverse()) spawnSync('umount', ['-l', m.at]);
    tmp.cleanup();
  });
  return tmp.path;
}

test('a read-only bind: mounted ro, its files visible, unmounted again', { skip }, async (t) => {
  const dir = scratch(t);
  const src = join(dir, 'src');
  const target = join(dir, 'target');
  mkdirSync(src);
  mkdirSync(target);
  writeFileSync(join(src, 'f'), 'hello');
  await mountAll([{ type: 'bind', source: src, options: ['rbind', 'ro'] }], target);
  assert.deepEqual(mounts(dir).map((m) => [m.at, m.opts.split(',')[0]]), [[target, 'ro']]);
  assert.equal(readFileSync(join(target, 'f'), 'utf8'), 'hello');
  assert.throws(() => writeFileSync(join(target, 'g'), 'x'), { code: 'EROFS' });
  await unmount(target);
  assert.deepEqual(mounts(dir), []);
});

test('an overlay whose options exceed a page is mounted from the layers\' common dir', { skip }, async (t) => {
  const dir = scratch(t);
  const layers: string[] = [];
  // Long names, so the absolute lowerdir list is over 4096 bytes but the relative one is not.
  for (let i = 0; i < 55; i++) {
    const l = join(dir, 'layers', `${'l'.repeat(60)}-${i}`);
    mkdirSync(l, { recursive: true });
    writeFileSync(join(l, `file-${i}`), String(i));
    layers.push(l);
  }
  const upper = join(dir, 'layers', 'upper');
  const work = join(dir, 'layers', 'work');
  const target = join(dir, 'merged');
  for (const d of [upper, work, target]) mkdirSync(d);
  const options = [`workdir=${work}`, `upperdir=${upper}`, `lowerdir=${layers.join(':')}`, 'index=off'];
  assert.ok(options.join(',').length > PAGE_SIZE);
  await mountAll([{ type: 'overlay', source: 'overlay', options }], target);
  assert.deepEqual(mounts(dir).map((m) => m.type), ['overlay']);
  assert.equal(readFileSync(join(target, 'file-0'), 'utf8'), '0');
  assert.equal(readFileSync(join(target, 'file-54'), 'utf8'), '54');
  writeFileSync(join(target, 'new'), 'x');
  assert.equal(readFileSync(join(upper, 'new'), 'utf8'), 'x');
  await unmount(target);
  assert.deepEqual(mounts(dir), []);
});

test('unmount takes the submounts and the top mount of a stacked point, as umount -R', { skip }, async (t) => {
  const dir = scratch(t);
  const target = join(dir, 'target');
  mkdirSync(target);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'lower', target]);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'upper', target]);
  mkdirSync(join(target, 'sub'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'sub', join(target, 'sub')]);
  await unmount(target);
  assert.deepEqual(mounts(dir).map((m) => m.at), [target], 'the lower mount is left');
  await unmount(target);
  assert.deepEqual(mounts(dir), []);
  await assert.rejects(unmount(target), /unmount ".*target": not mounted/);
});

test('errors name the mount and the kernel\'s reason; nothing is left mounted', { skip }, async (t) => {
  const dir = scratch(t);
  await assert.rejects(mountAll([{ type: 'bind', source: join(dir, 'missing'), options: ['rbind'] }], join(dir, 'nowhere')),
    (e: Error) => /^mount bind on ".*nowhere": mount `.*nowhere`: No such file or directory$/.test(e.message));
  mkdirSync(join(dir, 'target'));
  await assert.rejects(mountAll([{ type: 'overlay', source: 'overlay', options: [`lowerdir=${join(dir, 'missing')}`] }], join(dir, 'target')),
    (e: Error) => /^mount overlay on ".*target": mount `.*target`: No such file or directory$/.test(e.message));
  assert.deepEqual(mounts(dir), []);
});
