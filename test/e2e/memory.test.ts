// berthd's memory settings as a user's berthd gets them: its node flags and malloc environment, and
// the full collection once it has gone idle after a request (common/idle-gc.ts, docs/engine.md).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { BERTHD_ENV, BERTHD_NODE_FLAGS } from '../../src/common/daemon-flags.js';
import { berthdSkipReason, startBerthd, type Berthd } from '../fixtures/berthd.js';

const skip = berthdSkipReason();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let d: Berthd;

before(async () => { if (!skip) d = await startBerthd({ prefix: 'berthd-mem-' }); });
after(async () => { await d?.stop(); });

test('berthd runs with the daemon flags and malloc environment', { skip }, () => {
  const argv = readFileSync(`/proc/${d.pid}/cmdline`, 'utf8').split('\0');
  for (const f of BERTHD_NODE_FLAGS) assert.ok(argv.includes(f), `node flag ${f}: ${argv.join(' ')}`);
  const env = readFileSync(`/proc/${d.pid}/environ`, 'utf8').split('\0');
  for (const [k, v] of Object.entries(BERTHD_ENV)) assert.ok(env.includes(`${k}=${v}`), `${k}=${v}`);
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
