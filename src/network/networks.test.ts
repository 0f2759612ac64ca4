import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { NetworkManager, parsePortBindings } from './networks.js';

describe('parsePortBindings', () => {
  test('tcp by default, /udp kept, HostIp and HostPort as given; no HostIp is both families, :: and ::1 IPv6 only', () => {
    assert.deepEqual(parsePortBindings({
      '80': [{ HostPort: '8080' }],
      '53/udp': [{ HostIp: '127.0.0.1', HostPort: '5353' }],
      '443/tcp': [{ HostIp: '::', HostPort: '' }, { HostIp: '10.0.0.1' }, { HostIp: '::1', HostPort: '8443' }],
    }, []), [
      { proto: 'tcp', hostIp: '', hostPortLow: 8080, hostPortHigh: 8080, containerPort: 80 },
      { proto: 'udp', hostIp: '127.0.0.1', hostPortLow: 5353, hostPortHigh: 5353, containerPort: 53 },
      { proto: 'tcp', hostIp: '::', hostPortLow: 0, hostPortHigh: 0, containerPort: 443 },
      { proto: 'tcp', hostIp: '10.0.0.1', hostPortLow: 0, hostPortHigh: 0, containerPort: 443 },
      { proto: 'tcp', hostIp: '::1', hostPortLow: 8443, hostPortHigh: 8443, containerPort: 443 },
    ]);
  });

  test('a host port range is kept as a range to pick from; no bindings (null, []) is one ephemeral port', () => {
    assert.deepEqual(parsePortBindings({ '80/tcp': [{ HostPort: '8000-8010' }], '81/tcp': null, '82/udp': [] }, []), [
      { proto: 'tcp', hostIp: '', hostPortLow: 8000, hostPortHigh: 8010, containerPort: 80 },
      { proto: 'tcp', hostIp: '', hostPortLow: 0, hostPortHigh: 0, containerPort: 81 },
      { proto: 'udp', hostIp: '', hostPortLow: 0, hostPortHigh: 0, containerPort: 82 },
    ]);
  });

  test('-P adds every exposed port not bound already (same port, other protocol counts as unbound)', () => {
    assert.deepEqual(parsePortBindings({ '80/tcp': [{ HostPort: '8080' }] }, ['80/tcp', '80/udp', '9000/tcp']), [
      { proto: 'tcp', hostIp: '', hostPortLow: 8080, hostPortHigh: 8080, containerPort: 80 },
      { proto: 'udp', hostIp: '', hostPortLow: 0, hostPortHigh: 0, containerPort: 80 },
      { proto: 'tcp', hostIp: '', hostPortLow: 0, hostPortHigh: 0, containerPort: 9000 },
    ]);
  });

  test('bad specs: dockerd\'s "invalid port specification" naming the bad part', () => {
    const bad: Array<[Parameters<typeof parsePortBindings>[0], string]> = [
      [{ 'abc/tcp': [] }, 'invalid port specification: "abc"'],
      [{ '0/tcp': [] }, 'invalid port specification: "0"'],
      [{ '65536/udp': [] }, 'invalid port specification: "65536"'],
      [{ '80/tcp': [{ HostPort: 'x' }] }, 'invalid port specification: "x"'],
      [{ '80/tcp': [{ HostPort: '70000' }] }, 'invalid port specification: "70000"'],
      [{ '80/tcp': [{ HostPort: '8010-8000' }] }, 'invalid port specification: "8010-8000"'],
      [{ '80/icmp': [] }, 'invalid port specification: "80/icmp"'],
      [{ '80/tcp': [{ HostIp: 'localhost' }] }, 'invalid host IP address: localhost'],
      [{ '80/tcp': [{ HostIp: '[::1]' }] }, 'invalid host IP address: [::1]'],
      [{ '80/sctp': [] }, 'sctp ports are not supported by Berth'],
    ];
    for (const [b, msg] of bad) assert.throws(() => parsePortBindings(b, []), { message: msg }, JSON.stringify(b));
    assert.throws(() => parsePortBindings({}, ['x/tcp']), { message: 'invalid port specification: "x"' });
  });
});

describe('NetworkManager.create', () => {
  // 198.18.0.0/15 (RFC 2544 benchmarking): no host here routes it; create() checks the host's routes too.
  const dir = mkdtempSync(join(tmpdir(), 'berth-nets-'));
  const db = new Database(':memory:');
  const nets = new NetworkManager({ dataRoot: dir, execRoot: dir, db, pools: [{ base: '198.18.0.0/22', size: 24 }] });
  after(() => { db.close(); rmSync(dir, { recursive: true, force: true }); });

  test('without --subnet: subnets of the configured pool, one after the other, the gateway its first host', () => {
    const a = nets.create({ Name: 'pa' });
    const b = nets.create({ Name: 'pb' });
    assert.deepEqual([a.subnet, a.gateway, b.subnet, b.gateway], ['198.18.0.0/24', '198.18.0.1', '198.18.1.0/24', '198.18.1.1']);
    assert.equal(a.userSubnet, false);
  });

  test('--subnet, --gateway and --ip-range are kept; the range becomes host-local\'s rangeStart..rangeEnd', () => {
    const n = nets.create({ Name: 'ranged', IPAM: { Config: [{ Subnet: '198.19.0.0/24', Gateway: '198.19.0.254', IPRange: '198.19.0.16/28' }] } });
    assert.deepEqual([n.subnet, n.gateway, n.ipRange, n.userSubnet], ['198.19.0.0/24', '198.19.0.254', '198.19.0.16/28', true]);
    const ipam = nets.conflist(n).plugins[0]!.ipam as { ranges: Array<Array<Record<string, string>>> };
    assert.deepEqual(ipam.ranges, [[{ subnet: '198.19.0.0/24', gateway: '198.19.0.254', rangeStart: '198.19.0.16', rangeEnd: '198.19.0.31' }]]);
    // a --ip address may be anywhere in the subnet (as Docker's): its ADD has no range bounds
    const stat = nets.conflist(n, true).plugins[0]!.ipam as typeof ipam;
    assert.deepEqual(stat.ranges, [[{ subnet: '198.19.0.0/24', gateway: '198.19.0.254' }]]);
    // a range at the ends of the subnet stops short of its network and broadcast addresses
    const whole = nets.create({ Name: 'whole', IPAM: { Config: [{ Subnet: '198.19.1.0/24', IPRange: '198.19.1.0/24' }] } });
    const w = (nets.conflist(whole).plugins[0]!.ipam as typeof ipam).ranges[0]![0]!;
    assert.deepEqual([w.rangeStart, w.rangeEnd], ['198.19.1.1', '198.19.1.254']);
  });

  test('conflist: bridge masquerades by default (dockerd --ip-masq), not for --internal, the network option or a daemon with --ip-masq=false; firewall isolates every bridge', () => {
    const bridge = (n: Parameters<typeof nets.conflist>[0], m = nets) => m.conflist(n).plugins.find((p) => p.type === 'bridge')!;
    const sub = (i: number) => ({ IPAM: { Config: [{ Subnet: `198.19.${10 + i}.0/24` }] } });
    assert.equal(bridge(nets.create({ Name: 'masq', ...sub(0) })).ipMasq, true);
    assert.equal(bridge(nets.create({ Name: 'masqi', Internal: true, ...sub(1) })).ipMasq, false);
    assert.equal(bridge(nets.create({ Name: 'masqo', Options: { 'com.docker.network.bridge.enable_ip_masquerade': 'false' }, ...sub(2) })).ipMasq, false);
    const db2 = new Database(':memory:');
    const off = new NetworkManager({ dataRoot: dir, execRoot: dir, db: db2, ipMasq: false, pools: [{ base: '198.18.0.0/22', size: 24 }] }).init();
    try {
      assert.equal(bridge(off.resolve('bridge'), off).ipMasq, false);
      assert.equal(bridge(off.create({ Name: 'm' }), off).ipMasq, false);
      assert.deepEqual(off.conflist(off.resolve('bridge')).plugins.map((p) => p.type), ['bridge', 'firewall']);
      assert.equal(off.conflist(off.resolve('m')).plugins[1]!.ingressPolicy, 'same-bridge');
    } finally { db2.close(); }
  });

  test('bad IPAM config: dockerd\'s texts', () => {
    const mk = (Subnet: string, more: { Gateway?: string; IPRange?: string } = {}) => () => nets.create({ Name: 'bad', IPAM: { Config: [{ Subnet, ...more }] } });
    assert.throws(mk('198.19.2.0/24', { Gateway: '198.19.3.1' }), { message: 'invalid gateway 198.19.3.1: parent subnet 198.19.2.0/24 doesn\'t contain this address' });
    assert.throws(mk('198.19.2.0/24', { IPRange: '198.19.3.0/28' }), { message: 'invalid ip-range 198.19.3.0/28: parent subnet 198.19.2.0/24 doesn\'t contain ip-range' });
    assert.throws(mk('198.19.2.0/24', { IPRange: '198.19.0.0/16' }), { message: 'invalid ip-range 198.19.0.0/16: CIDR block is bigger than its parent subnet 198.19.2.0/24' });
    assert.throws(mk('198.19.2.0/24', { IPRange: '198.19.2.5/28' }), { message: 'invalid ip-range 198.19.2.5/28: it should be 198.19.2.0/28' });
    assert.throws(mk('198.19.2.1/24'), { message: 'invalid subnet 198.19.2.1/24: it should be 198.19.2.0/24' });
    assert.throws(mk('198.19.0.128/25'), { message: 'invalid pool request: Pool overlaps with other one on this address space' });
    assert.throws(mk('fd00::/64'), /IPv6 networks are not supported/);
    assert.throws(() => nets.create({ Name: 'pa' }), { message: 'network with name pa already exists' });
    assert.throws(() => nets.create({ Name: 'x y' }), /invalid network name "x y"/);
    assert.throws(() => nets.create({ Name: 'h', Driver: 'host' }), { message: 'only one instance of "host" network is allowed' });
    assert.throws(() => nets.create({ Name: 'o', Driver: 'overlay' }), { message: 'plugin "overlay" not found' });
    assert.equal(nets.store.list().some((n) => n.name === 'bad'), false);
  });

  test('the pool used up: dockerd\'s text', () => {
    nets.create({ Name: 'pc' });
    nets.create({ Name: 'pd' });
    assert.throws(() => nets.create({ Name: 'pe' }), { message: 'all predefined address pools have been fully subnetted' });
  });
});
