import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkApiVersion, compareApiVersions, splitVersionPrefix, systemVersion, goArch } from './version.js';

test('version: numeric comparison', () => {
  assert.equal(compareApiVersions('1.9', '1.41'), -1);
  assert.equal(compareApiVersions('1.41', '1.41'), 0);
  assert.equal(compareApiVersions('1.50', '1.5'), 1);
  assert.equal(compareApiVersions('2', '1.50'), 1);
  assert.equal(compareApiVersions('1.24.0', '1.24'), 0);
});

test('version: prefix split', () => {
  assert.deepEqual(splitVersionPrefix('/v1.41/containers/json'), { version: '1.41', rest: '/containers/json' });
  assert.deepEqual(splitVersionPrefix('/containers/json'), { version: undefined, rest: '/containers/json' });
  assert.deepEqual(splitVersionPrefix('/v1.41'), { version: '1.41', rest: '/' });
  assert.deepEqual(splitVersionPrefix('/volumes/x'), { version: undefined, rest: '/volumes/x' });
  assert.deepEqual(splitVersionPrefix('/vx/y'), { version: undefined, rest: '/vx/y' });
});

test('version: range check with dockerd wording', () => {
  assert.equal(checkApiVersion('1.41'), undefined);
  assert.equal(checkApiVersion('1.24'), undefined);
  assert.equal(checkApiVersion('1.50'), undefined);
  assert.equal(checkApiVersion('1.51'), 'client version 1.51 is too new. Maximum supported API version is 1.50');
  assert.match(checkApiVersion('1.23')!, /^client version 1\.23 is too old\. Minimum supported API version is 1\.24/);
});

test('version: SystemVersion shape with the Engine component first', () => {
  const v = systemVersion(undefined, [{ Name: 'berth-shim', Version: '0.1.0', Details: null }]);
  assert.equal(v.ApiVersion, '1.50');
  assert.equal(v.MinAPIVersion, '1.24');
  assert.equal(v.Os, 'linux');
  assert.equal(v.Arch, goArch());
  assert.match(v.GoVersion, /^n\/a \(Node\.js v\d+/);
  assert.deepEqual(v.Components.map((c) => c.Name), ['Engine', 'berth-shim']);
  assert.equal(v.Components[0]!.Details!['ApiVersion'], '1.50');
  assert.equal(goArch('x64'), 'amd64');
});
