// The daemon's node flags: one list, the same in bin/berthd.js's first line, and accepted by this node.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BERTHD_NODE_FLAGS } from './daemon-flags.js';

function repoRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(d, 'package.json'))) d = dirname(d);
  return d;
}

test("bin/berthd.js's shebang passes exactly BERTHD_NODE_FLAGS", () => {
  const first = readFileSync(join(repoRoot(), 'bin', 'berthd.js'), 'utf8').split('\n')[0]!;
  assert.equal(first, `#!/usr/bin/env -S node ${BERTHD_NODE_FLAGS.join(' ')}`);
});

test('node accepts the flags and WebAssembly still works (undici needs it for pulls)', () => {
  const r = spawnSync(process.execPath, [...BERTHD_NODE_FLAGS, '-e', 'new WebAssembly.Module(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0])); console.log("ok")'], { encoding: 'utf8' });
  assert.equal(r.stderr, '');
  assert.equal(r.stdout.trim(), 'ok');
});
