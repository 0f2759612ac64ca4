// contrib/systemd's units as systemd reads them (`systemd-analyze verify`), where systemd-analyze exists.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../fixtures/rootfs.js';

const ANALYZE = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].find(existsSync);
const dir = join(repoRoot, 'contrib', 'systemd');

test('berthd.service and berthd.socket: systemd-analyze verify finds nothing to say', { skip: ANALYZE ? undefined : 'no systemd-analyze' }, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'berth-units-'));
  try {
    // verify also checks that ExecStart's program exists: point it at this checkout.
    const service = readFileSync(join(dir, 'berthd.service'), 'utf8');
    assert.match(service, /^ExecStart=\/opt\/berth\/bin\/berthd\.js -H fd:\/\/$/m);
    writeFileSync(join(tmp, 'berthd.service'), service.replace('/opt/berth/', `${repoRoot}/`));
    copyFileSync(join(dir, 'berthd.socket'), join(tmp, 'berthd.socket'));
    const r = spawnSync(ANALYZE!, ['verify', join(tmp, 'berthd.service'), join(tmp, 'berthd.socket')], { encoding: 'utf8', timeout: 60000 });
    assert.equal(r.status, 0, r.stderr);
    // It warns (unknown keys, bad values) on stderr and still exits 0: none may name our units.
    assert.deepEqual(r.stderr.split('\n').filter((l) => l.includes(tmp)), []);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
