// berthd's memory settings as a user's berthd gets them: its node flags and malloc environment, and
// the full collection once it has gone idle after a request (common/idle-gc.ts, docs/engine.md).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BERTHD_NODE_FLAGS, JEMALLOC, berthdEnv } from '../../src/common/daemon-flags.js';
import { berthdSkipReason, startBerthd, type Berthd } from '../fixtures/berthd.js';
import { buildDockerSaveTar } from '../fixtures/image.js';
import { waitFor } from '../fixtures/process.js';

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
  interface Line { time: number; msg: string; ms?: number; rssAfter?: number }
  // Whole lines only (berthd may be writing the last one).
  const lines = () => readFileSync(d.log, 'utf8').split('\n').filter((l) => l.startsWith('{') && l.endsWith('}')).map((l) => JSON.parse(l) as Line);
  const isRequest = (l: Line) => l.msg === 'request done' || l.msg === 'request failed';
  // Requests from this process at a steady 100 ms for 2 s, twice the idle delay, straight over the socket.
  for (const end = Date.now() + 2000; Date.now() < end;) {
    await ping(d.socket);
    await sleep(100);
  }
  const lastRequest = Math.max(...lines().filter(isRequest).map((l) => l.time));
  const after = () => lines().filter((l) => l.msg === 'idle collection' && l.time > lastRequest);
  await waitFor(() => after().length > 0, 5000, 'the idle collection');
  await sleep(1500); // a second one would come by now
  assert.equal(after().length, 1, 'one after they stopped');
  // None while requests keep coming, in berthd's own log: each collection (the start-up's too) came
  // a whole second after the request before it, whatever the gaps a busy machine put between ours.
  let prev: number | undefined;
  for (const l of lines()) {
    if (isRequest(l)) prev = l.time;
    else if (l.msg === 'idle collection' && prev !== undefined) assert.ok(l.time - prev >= 950, `a collection ${l.time - prev} ms after a request`);
  }
  const last = after()[0]!;
  assert.ok(last.ms! >= 0 && last.rssAfter! > 0);
});

/** GET /_ping over the unix socket. */
function ping(socketPath: string): Promise<void> {
  return new Promise((resolve, reject) => {
    request({ socketPath, path: '/_ping' }, (res) => {
      res.resume().on('error', reject).on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`/_ping: ${res.statusCode}`))));
    }).on('error', reject).end();
  });
}
