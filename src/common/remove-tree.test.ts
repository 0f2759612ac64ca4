import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeTree } from './remove-tree.js';

test('small and big trees, a file, a dangling link and a missing path all go', async () => {
  const root = mkdtempSync(join(tmpdir(), 'berth-rmtree-'));
  const small = join(root, 'small');
  mkdirSync(join(small, 'upper', 'etc'), { recursive: true });
  mkdirSync(join(small, 'work', 'work'), { recursive: true });
  writeFileSync(join(small, 'upper', 'etc', 'x'), 'x');
  symlinkSync('/nonexistent', join(small, 'upper', 'dangling'));
  const big = join(root, 'big');
  for (let d = 0; d < 10; d++) {
    mkdirSync(join(big, `d${d}`), { recursive: true });
    for (let f = 0; f < 20; f++) writeFileSync(join(big, `d${d}`, `f${f}`), 'y');
  }
  // A link to a dir outside: removed as a link, the target stays.
  const outside = join(root, 'outside');
  mkdirSync(outside);
  writeFileSync(join(outside, 'keep'), 'k');
  symlinkSync(outside, join(small, 'upper', 'out'));
  writeFileSync(join(root, 'file'), 'f');
  await removeTree(small);
  await removeTree(big, 64);
  await removeTree(join(root, 'file'));
  await removeTree(join(root, 'missing'));
  for (const p of [small, big, join(root, 'file')]) assert.ok(!existsSync(p), p);
  assert.ok(existsSync(join(outside, 'keep')), 'a link is not followed');
  await removeTree(root);
  assert.ok(!existsSync(root));
});
