import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { FilesView } from './archive.js';

test('FilesView: paths under a mount point are its source; links in a volume resolve inside the container', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'berth-files-view-'));
  try {
    const root = join(tmp, 'rootfs');
    const vol = join(tmp, 'vol');
    const file = join(tmp, 'bound-file');
    mkdirSync(join(root, 'etc'), { recursive: true });
    mkdirSync(join(root, 'data'));
    mkdirSync(join(vol, 'sub'), { recursive: true });
    writeFileSync(file, '');
    symlinkSync('/../../../etc', join(vol, 'esc'));
    symlinkSync('../data/sub', join(root, 'etc', 'to-vol'));
    const v = new FilesView(root, [{ destination: '/data', source: vol }, { destination: '/data/sub/f', source: file }]);
    assert.equal(v.host('/data'), vol);
    assert.equal(v.host('/data/sub/x'), join(vol, 'sub', 'x'));
    assert.equal(v.host('/data/sub/f'), file, 'the deepest mount wins');
    assert.equal(v.host('/database'), join(root, 'database'), 'a prefix that is not a path component');
    assert.equal(v.resolve('/data/esc/passwd'), '/etc/passwd');
    assert.equal(v.host(v.resolve('/data/esc/passwd')), join(root, 'etc', 'passwd'));
    assert.equal(v.resolve('/etc/to-vol/x'), '/data/sub/x', 'a link in the rootfs into a volume');
    assert.deepEqual(v.scoped('/data/esc'), { ctr: '/data/esc', host: join(vol, 'esc') }, 'the last component is not followed');
    assert.deepEqual(v.scoped('/data/esc/'), { ctr: '/etc', host: join(root, 'etc') });
    assert.ok(v.isMountPoint('/data') && !v.isMountPoint('/data/sub'));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
