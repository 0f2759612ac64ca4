import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_POOLS, allocateSubnet, contains, firstHost, formatCidr, formatIpv4, overlaps, parseCidr, parseIpv4, size } from './ipnet.js';

const cidr = (s: string) => parseCidr(s);

test('ipnet: addresses parse and print; bad ones are refused', () => {
  assert.equal(parseIpv4('10.1.2.3'), 0x0a010203);
  assert.equal(parseIpv4('255.255.255.255'), 0xffffffff);
  assert.equal(formatIpv4(parseIpv4('192.168.0.254')), '192.168.0.254');
  for (const bad of ['10.1.2', '10.1.2.256', '10.1.2.3.4', 'a.b.c.d', '', '::1']) assert.throws(() => parseIpv4(bad), /invalid IPv4 address/, bad);
});

test('ipnet: prefixes: host bits are refused with dockerd\'s text unless allowed', () => {
  assert.deepEqual(cidr('10.1.0.0/16'), { base: 0x0a010000, bits: 16 });
  assert.equal(formatCidr(cidr('0.0.0.0/0')), '0.0.0.0/0');
  assert.equal(size(cidr('10.0.0.0/24')), 256);
  assert.throws(() => cidr('10.1.0.1/16'), { message: 'invalid subnet 10.1.0.1/16: it should be 10.1.0.0/16' });
  assert.deepEqual(parseCidr('10.1.0.1/16', { allowHostBits: true }), { base: 0x0a010000, bits: 16 });
  for (const bad of ['10.1.0.0/33', '10.1.0.0', '10.1.0.0/', 'x/8']) assert.throws(() => cidr(bad), /invalid CIDR address|invalid IPv4 address/, bad);
});

test('ipnet: contains, overlaps (either way round), firstHost', () => {
  assert.ok(contains(cidr('10.1.0.0/16'), parseIpv4('10.1.255.255')));
  assert.ok(!contains(cidr('10.1.0.0/16'), parseIpv4('10.2.0.0')));
  assert.ok(overlaps(cidr('10.0.0.0/8'), cidr('10.9.9.0/24')));
  assert.ok(overlaps(cidr('10.9.9.0/24'), cidr('10.0.0.0/8')));
  assert.ok(!overlaps(cidr('10.1.0.0/24'), cidr('10.1.1.0/24')));
  assert.ok(overlaps(cidr('0.0.0.0/0'), cidr('192.168.1.0/24')));
  assert.equal(firstHost(cidr('172.18.0.0/16')), '172.18.0.1');
  assert.equal(firstHost(cidr('10.0.0.4/31')), '10.0.0.4');
  assert.equal(firstHost(cidr('10.0.0.4/32')), '10.0.0.4');
});

test('ipnet: allocateSubnet takes the first pool subnet nothing overlaps, pool after pool', () => {
  const pools = [{ base: '10.10.0.0/22', size: 24 }, { base: '10.20.0.0/16', size: 20 }];
  assert.equal(formatCidr(allocateSubnet(pools, [])!), '10.10.0.0/24');
  // a taken /24 and a wider route inside the pool are stepped over
  assert.equal(formatCidr(allocateSubnet(pools, [cidr('10.10.0.0/24'), cidr('10.10.1.128/25')])!), '10.10.2.0/24');
  // a route covering the whole first pool: the second pool
  assert.equal(formatCidr(allocateSubnet(pools, [cidr('10.10.0.0/16')])!), '10.20.0.0/20');
  // every subnet of every pool taken
  assert.equal(allocateSubnet(pools, [cidr('10.0.0.0/8')]), undefined);
  // dockerd's defaults: 172.17.0.0/16 first, 192.168.0.0/20 once 172.16/12 is used up
  assert.equal(formatCidr(allocateSubnet(DEFAULT_POOLS, [])!), '172.17.0.0/16');
  assert.equal(formatCidr(allocateSubnet(DEFAULT_POOLS, [cidr('172.16.0.0/12')])!), '192.168.0.0/20');
});

test('ipnet: a pool whose size does not fit its base is refused', () => {
  assert.throws(() => allocateSubnet([{ base: '10.10.0.0/16', size: 8 }], []), /invalid address pool 10\.10\.0\.0\/16 with size 8/);
  assert.throws(() => allocateSubnet([{ base: '10.10.0.0/16', size: 31 }], []), /invalid address pool/);
  assert.throws(() => allocateSubnet([{ base: '10.10.0.1/16', size: 24 }], []), /invalid subnet/);
});
