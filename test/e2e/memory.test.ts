// berthd's memory settings as a user's berthd gets them: its node flags and malloc environment, and
// the full collection once it has gone idle after a request (common/idle-gc.ts, docs/engine.md).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BERTHD_NODE_FLAGS, JEMALLOC, berthdEnv } from '../../src/common/daemon-flags.js';
import { berthdSkipReason, startBerthd, type Berthd } from '../fixtures/berthd.js';
import { buildDockerSaveTar } from '../fixtures/image.js';

const skip = berthdSkipReason();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let d: Berthd;

before(async () => {
  if (skip) return;
  d = await startBerthd({ prefix: 'berthd-mem-' });
  const tmp = mkdtempSync(join(tmpdir(), 'berth-mem-img-'));
  try {
    assert.equal(d.docker(['load', '-i', buildDockerSaveTar(tmp, 'busybox:latest')]).status, 0);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
after(async () => { await d?.stop(); });

test('berthd runs with the daemon flags on its allocator; the processes it starts do not inherit the allocator settings', { skip }, () => {
  const argv = readFileSync(`/proc/${d.pid}/cmdline`, 'utf8').split('\0');
  for (const f of BERTHD_NODE_FLAGS) assert.ok(argv.includes(f), `node flag ${f}: ${argv.join(' ')}`);
  const want = berthdEnv();
  const maps = readFileSync(`/proc/${d.pid}/maps`, 'utf8');
  if (want.LD_PRELOAD) assert.ok(maps.includes(JEMALLOC), 'jemalloc is loaded');
  else assert.ok(readFileSync(`/proc/${d.pid}/environ`, 'utf8').split('\0').includes(`MALLOC_MMAP_THRESHOLD_=${want.MALLOC_MMAP_THRESHOLD_}`));
  // A container makes berthd start berth-helper and a shim: neither preloads jemalloc.
  const id = d.docker(['run', '-d', '--network', 'none', 'busybox', 'sleep', '30']);
  assert.equal(id.status, 0, id.stderr);
  try {
    const kids = readFileSync(`/proc/${d.pid}/task/${d.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    assert.ok(kids.length > 0, 'berthd has started a child (berth-helper)');
    for (const k of kids) assert.ok(!readFileSync(`/proc/${k}/maps`, 'utf8').includes(JEMALLOC), `child ${k} runs on its own allocator`);
    for (const k of kids) assert.ok(!readFileSync(`/proc/${k}/environ`, 'utf8').includes('MALLOC_'), `child ${k}: no MALLOC_ settings`);
  } finally {
    d.docker(['rm', '-f', id.stdout.trim()]);
  }
});

test('a second after the last request berthd collects its garbage once, and not while requests keep coming', { skip }, async () => {
  const collections = () => readFileSync(d.log, 'utf8').split('\n').filter((l) => l.includes('"idle collection"')).length;
  await sleep(1500); // the start-up's own collection
  const before = collections();
  for (let i = 0; i < 4; i++) {
    assert.equal(d.docker(['version']).status, 0);
    await sleep(100);
  }
  assert.equal(collections(), before, 'none while requests keep coming');
  await sleep(1500);
  assert.equal(collections(), before + 1, 'one after they stopped');
  const last = JSON.parse(readFileSync(d.log, 'utf8').split('\n').filter((l) => l.includes('"idle collection"')).at(-1)!) as { ms: number; rssAfter: number };
  assert.ok(last.ms >= 0 && last.rssAfter > 0);
});
