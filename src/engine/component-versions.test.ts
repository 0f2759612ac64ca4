import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseVersionText } from './component-versions.js';

test('parseVersionText reads runc\'s, tini\'s and our own --version as dockerd does', () => {
  assert.deepEqual(parseVersionText('runc version 1.1.5+ds1\ncommit: 1.1.5+ds1-1+deb12u1\nspec: 1.0.2-dev\ngo: go1.19.8\nlibseccomp: 2.5.4\n'),
    { name: 'runc', version: '1.1.5+ds1', commit: '1.1.5+ds1-1+deb12u1' });
  assert.deepEqual(parseVersionText('berth-shim version 0.1.0\ncommit: 90e3aa968ccd-dirty\n'), { name: 'berth-shim', version: '0.1.0', commit: '90e3aa968ccd-dirty' });
  assert.deepEqual(parseVersionText('crun version 1.8.1\ncommit: f8a096be060b22ccd3d5f3ebe44108517fbf6c30\nrundir: /run/crun\n+SYSTEMD +SELINUX\n'),
    { name: 'crun', version: '1.8.1', commit: 'f8a096be060b22ccd3d5f3ebe44108517fbf6c30' });
  assert.equal(parseVersionText('Usage: x [OPTIONS]\n'), undefined);
});
