// The daemon's node flags: one list, the same in bin/berthd.js's first line, and accepted by this node.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BERTHD_NODE_FLAGS, JEMALLOC, JEMALLOC_CONF, berthdEnv, takeAllocatorEnv } from './daemon-flags.js';

function repoRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(d, 'package.json'))) d = dirname(d);
  return d;
}

test("bin/berthd.js's shebang preloads jemalloc with its settings and passes exactly BERTHD_NODE_FLAGS", () => {
  const first = readFileSync(join(repoRoot(), 'bin', 'berthd.js'), 'utf8').split('\n')[0]!;
  assert.equal(first, `#!/usr/bin/env -S LD_PRELOAD=${JEMALLOC} MALLOC_CONF=${JEMALLOC_CONF} node ${BERTHD_NODE_FLAGS.join(' ')}`);
  assert.ok(first.length < 256, 'the kernel reads 255 bytes of a #! line');
});

test('berthdEnv: jemalloc where installed, else glibc settings; takeAllocatorEnv drops only those', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-jemalloc-'));
  try {
    assert.deepEqual(Object.keys(berthdEnv([dir])).sort(), ['MALLOC_MMAP_THRESHOLD_', 'MALLOC_TOP_PAD_', 'MALLOC_TRIM_THRESHOLD_']);
    writeFileSync(join(dir, JEMALLOC), '');
    assert.deepEqual(berthdEnv([dir]), { LD_PRELOAD: join(dir, JEMALLOC), MALLOC_CONF: JEMALLOC_CONF });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const env: NodeJS.ProcessEnv = { ...berthdEnv(['/nonexistent']), LD_PRELOAD: JEMALLOC, MALLOC_CONF: JEMALLOC_CONF, PATH: '/bin' };
  takeAllocatorEnv(env);
  assert.deepEqual(env, { PATH: '/bin' });
  const theirs: NodeJS.ProcessEnv = { LD_PRELOAD: '/opt/x/libtrace.so', MALLOC_CONF: 'narenas:4', MALLOC_TOP_PAD_: '1' };
  takeAllocatorEnv(theirs);
  assert.deepEqual(theirs, { LD_PRELOAD: '/opt/x/libtrace.so', MALLOC_CONF: 'narenas:4', MALLOC_TOP_PAD_: '1' }, "a user's own settings stay");
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
