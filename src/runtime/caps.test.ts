// Tests for the capability table and mask helpers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CAPABILITIES, capMask, capName, capNumber, capsOfMask, lastCap, maskHex, parseMask } from './caps.js';

test('the table has the kernel numbers', () => {
  assert.equal(CAPABILITIES.length, 41);
  assert.equal(capNumber('CAP_CHOWN'), 0);
  assert.equal(capNumber('CAP_KILL'), 5);
  assert.equal(capNumber('CAP_NET_BIND_SERVICE'), 10);
  assert.equal(capNumber('CAP_SYS_ADMIN'), 21);
  assert.equal(capNumber('CAP_AUDIT_WRITE'), 29);
  assert.equal(capNumber('CAP_BPF'), 39);
  assert.equal(capNumber('CAP_CHECKPOINT_RESTORE'), 40);
  assert.equal(capName(38), 'CAP_PERFMON');
  assert.equal(capNumber('CAP_FOO'), undefined);
  assert.equal(capNumber('kill'), undefined);
});

test('masks and hex', () => {
  const { mask, dropped } = capMask(['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'], 40);
  assert.equal(mask, (1n << 29n) | (1n << 5n) | (1n << 10n));
  assert.deepEqual(dropped, []);
  assert.equal(maskHex(mask), '0x20000420');
  assert.equal(maskHex(0n), '0x0');
  assert.equal(maskHex(capMask(['CAP_CHECKPOINT_RESTORE'], 40).mask), '0x10000000000');
  assert.equal(parseMask('0x20000420'), mask);
  assert.deepEqual(capsOfMask(mask), ['CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_AUDIT_WRITE']);
  assert.throws(() => capMask(['CAP_NOPE'], 40), /unknown capability/);
});

test('capabilities beyond the kernel are dropped, as runc does', () => {
  const { mask, dropped } = capMask(['CAP_KILL', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE', 'CAP_BPF'], 37);
  assert.equal(mask, 1n << 5n);
  assert.deepEqual(dropped, ['CAP_BPF', 'CAP_CHECKPOINT_RESTORE']);
});

test('lastCap reads the kernel once', () => {
  const n = lastCap();
  assert.ok(Number.isInteger(n) && n >= 30 && n <= 63);
  assert.equal(lastCap(), n);
});
