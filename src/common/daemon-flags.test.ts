// The daemon's node flags: one list, the same in bin/berthd.js's first line, and accepted by this node.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BERTHD_ENV, BERTHD_NODE_FLAGS } from './daemon-flags.js';

function repoRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(d, 'package.json'))) d = dirname(d);
  return d;
}

test("bin/berthd.js's shebang passes exactly BERTHD_ENV and BERTHD_NODE_FLAGS", () => {
  const first = readFileSync(join(repoRoot(), 'bin', 'berthd.js'), 'utf8').split('\n')[0]!;
  const env = Object.entries(BERTHD_ENV).map(([k, v]) => `${k}=${v}`).join(' ');
  assert.equal(first, `#!/usr/bin/env -S ${env} node ${BERTHD_NODE_FLAGS.join(' ')}`);
});

test('berthd runs directly through that shebang', () => {
  const r = spawnSync(join(repoRoot(), 'bin', 'berthd.js'), ['--version'], { encoding: 'utf8', env: { PATH: process.env.PATH } });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^Berth version /);
});

test('node accepts the flags and WebAssembly still works (undici needs it for pulls)', () => {
  const r = spawnSync(process.execPath, [...BERTHD_NODE_FLAGS, '-e', 'new WebAssembly.Module(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0])); console.log("ok")'], { encoding: 'utf8' });
  assert.equal(r.stderr, '');
  assert.equal(r.stdout.trim(), 'ok');
});
