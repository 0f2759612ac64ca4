import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Trash } from './trash.js';

function tree(at: string, files = 20): string {
  mkdirSync(join(at, 'fs', 'etc'), { recursive: true });
  for (let i = 0; i < files; i++) writeFileSync(join(at, 'fs', 'etc', `f${i}`), 'x'.repeat(5000));
  return at;
}

test('discard frees the path at once, the tree goes in the background, drain waits for it', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'berth-trash-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const trash = new Trash(join(root, 'trash')).init();
  const a = tree(join(root, '12'));
  await trash.discard(a);
  assert.ok(!existsSync(a), 'gone from its place when discard returns');
  mkdirSync(a); // the id can be used again at once
  await trash.discard(join(root, 'missing'));
  await trash.drain();
  assert.equal(trash.size, 0);
  assert.deepEqual(readdirSync(join(root, 'trash')), []);
  assert.ok(existsSync(a), 'the new dir under the same name is untouched');
});

test('what a previous run left in the trash is deleted at init', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'berth-trash-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  tree(join(root, 'trash', '7.1234.1'));
  const trash = new Trash(join(root, 'trash')).init();
  await trash.drain();
  assert.deepEqual(readdirSync(join(root, 'trash')), []);
});

test('a tree on another filesystem (no rename across them) is deleted before discard returns', async (t) => {
  if (!existsSync('/dev/shm')) return t.skip('no /dev/shm');
  const root = mkdtempSync(join(tmpdir(), 'berth-trash-'));
  const other = mkdtempSync('/dev/shm/berth-trash-');
  t.after(() => { rmSync(root, { recursive: true, force: true }); rmSync(other, { recursive: true, force: true }); });
  const trash = new Trash(join(root, 'trash')).init();
  const a = tree(join(other, 'x'));
  await trash.discard(a);
  assert.ok(!existsSync(a));
  assert.equal(trash.size, 0, 'nothing left to do in the background');
});
