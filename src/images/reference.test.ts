// Unit tests for reference parsing and normalization.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { familiarString, normalize, parseReference, repoTagReference } from './reference.js';
import { isInvalid } from '../common/errors.js';

const D = 'sha256:' + 'a'.repeat(64);

test('normalize: Docker Hub short names', () => {
  assert.equal(normalize('busybox'), 'docker.io/library/busybox:latest');
  assert.equal(normalize('busybox:1.36'), 'docker.io/library/busybox:1.36');
  assert.equal(normalize('user/app'), 'docker.io/user/app:latest');
  assert.equal(normalize('docker.io/busybox'), 'docker.io/library/busybox:latest');
  assert.equal(normalize('index.docker.io/library/busybox'), 'docker.io/library/busybox:latest');
});

test('normalize: hosts with ports, localhost, digests', () => {
  assert.equal(normalize('localhost:5000/app'), 'localhost:5000/app:latest');
  assert.equal(normalize('localhost/app:v1'), 'localhost/app:v1');
  assert.equal(normalize('registry.example.com:443/a/b/c:t'), 'registry.example.com:443/a/b/c:t');
  assert.equal(normalize(`busybox@${D}`), `docker.io/library/busybox@${D}`);
  assert.equal(normalize(`busybox:1@${D}`), `docker.io/library/busybox:1@${D}`);
  assert.deepEqual(parseReference('127.0.0.1:5000/x'), { domain: '127.0.0.1:5000', path: 'x' });
});

test('familiarString shortens Hub names only', () => {
  assert.equal(familiarString('docker.io/library/busybox:latest'), 'busybox:latest');
  assert.equal(familiarString('docker.io/user/app:1'), 'user/app:1');
  assert.equal(familiarString('quay.io/library/x:1'), 'quay.io/library/x:1');
  assert.equal(familiarString(`docker.io/library/busybox@${D}`), `busybox@${D}`);
});

test('invalid references are refused with a reason', () => {
  for (const bad of ['', 'Busybox', 'busybox:', 'busybox@sha256:abc', 'a//b', ':tag', 'busybox:-x', 'x/Y']) {
    assert.throws(() => parseReference(bad), (e: unknown) => isInvalid(e), bad);
  }
});

test("repoTagReference: dockerd's repo + tag parameters and its error texts", () => {
  assert.equal(repoTagReference('', 'x'), undefined);
  assert.equal(repoTagReference('img', ''), 'docker.io/library/img:latest');
  assert.equal(repoTagReference('img:1', undefined), 'docker.io/library/img:1');
  assert.equal(repoTagReference('localhost:5000/a', '2'), 'localhost:5000/a:2');
  const msg = (repo: string, tag?: string) => {
    try {
      repoTagReference(repo, tag);
    } catch (e) {
      assert.ok(isInvalid(e));
      return (e as Error).message;
    }
    return assert.fail(`${repo} ${tag}: accepted`);
  };
  assert.equal(msg('BAD'), 'invalid reference format: repository name (library/BAD) must be lowercase');
  assert.equal(msg('me/Bad:1'), 'invalid reference format: repository name (me/Bad) must be lowercase');
  assert.equal(msg('a@@b'), 'invalid reference format');
  assert.equal(msg('img', 'bad tag'), 'invalid tag format');
  assert.equal(msg(`img@${D}`), 'cannot import digest reference');
});
