// Tests for the Go net address helpers the docker CLI's network checks rely on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { joinHostPort, netContains, parseCIDR, parseIP } from './ip.js';

test('parseIP: IPv4, IPv6 (compressed, with a dotted tail), IPv4-mapped as 4 bytes', () => {
  assert.deepEqual(parseIP('10.1.2.3'), [10, 1, 2, 3]);
  assert.deepEqual(parseIP('::ffff:10.1.2.3'), [10, 1, 2, 3]);
  assert.deepEqual(parseIP('fd00::1'), [0xfd, 0, ...Array(13).fill(0), 1]);
  assert.deepEqual(parseIP('1:2:3:4:5:6:7:8')?.length, 16);
  assert.deepEqual(parseIP('::'), Array(16).fill(0));
  for (const bad of ['010.1.1.1', '256.1.1.1', '1.2.3', 'bogus', '1::2::3', '1:2:3:4:5:6:7:8:9', '12345::', '']) assert.equal(parseIP(bad), undefined, bad);
});

test('parseCIDR: the network is masked, errors as Go words them', () => {
  assert.deepEqual(parseCIDR('10.1.0.5/16').net, { ip: [10, 1, 0, 0], bits: 16 });
  assert.deepEqual(parseCIDR('10.1.0.5/16').ip, [10, 1, 0, 5]);
  assert.throws(() => parseCIDR('10.1.0.0/33'), /^Error: invalid CIDR address: 10.1.0.0\/33$/);
  assert.throws(() => parseCIDR('10.1.0.0'), /invalid CIDR address: 10.1.0.0$/);
  assert.throws(() => parseCIDR('fd00::/129'), /invalid CIDR address/);
});

test('netContains: same family only, IPv4-mapped networks hold IPv4 addresses', () => {
  const v4 = parseCIDR('10.1.0.0/16').net;
  assert.equal(netContains(v4, parseIP('10.1.255.254')), true);
  assert.equal(netContains(v4, parseIP('10.2.0.1')), false);
  assert.equal(netContains(v4, parseIP('::1')), false);
  assert.equal(netContains(v4, undefined), false);
  assert.equal(netContains(parseCIDR('fd00::/64').net, parseIP('fd00::1:2:3')), true);
  assert.equal(netContains(parseCIDR('fd00::/64').net, parseIP('fd01::1')), false);
  assert.equal(netContains(parseCIDR('::ffff:10.1.0.0/112').net, parseIP('10.1.0.1')), true);
  assert.equal(netContains(parseCIDR('0.0.0.0/0').net, parseIP('1.2.3.4')), true);
});

test('joinHostPort brackets IPv6 hosts', () => {
  assert.equal(joinHostPort('0.0.0.0', '80'), '0.0.0.0:80');
  assert.equal(joinHostPort('::', '80'), '[::]:80');
  assert.equal(joinHostPort('', '80'), ':80');
});
