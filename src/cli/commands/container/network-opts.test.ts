// Tests for run/create networking flags: docker's --network csv syntax and the endpoints it implies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlagSet } from '../../flags.js';
import { addContainerFlags } from './opts.js';
import { buildEndpoints, isUserDefined, isValidMac, parseNetworkFlag, validateExtraHost } from './network-opts.js';

function endpoints(args: string[]) {
  const fs = new FlagSet();
  addContainerFlags(fs);
  return buildEndpoints(fs.parse(args).flags);
}

test('parseNetworkFlag: a plain mode, or the csv syntax lower-cased as docker does', () => {
  assert.equal(parseNetworkFlag('my-net').target, 'my-net');
  const a = parseNetworkFlag('name=Front,alias=Web,alias=www,ip=10.0.0.2,ip6=fd00::2,link-local-ip=169.254.0.9,driver-opt=K=V,gw-priority=-2');
  assert.deepEqual(a, { target: 'front', aliases: ['web', 'www'], links: [], ipv4: '10.0.0.2', ipv6: 'fd00::2', linkLocalIPs: ['169.254.0.9'], mac: '', gwPriority: -2, driverOpts: { k: 'v' } });
  assert.throws(() => parseNetworkFlag('name=x,foo=1'), { message: 'invalid field key foo' });
  assert.throws(() => parseNetworkFlag('alias=x'), { message: 'network name/id is not specified' });
  assert.throws(() => parseNetworkFlag('name=x,gw-priority=a'), { message: 'invalid gw-priority (a): invalid syntax' });
});

test('endpoints: default always sent, a lone bare network left out, old flags on the first network', () => {
  assert.deepEqual(Object.keys(endpoints([]).endpoints), ['default']);
  assert.deepEqual(endpoints(['--network', 'mynet']), { networkMode: 'mynet', endpoints: {} });
  const e = endpoints(['--network', 'a', '--network', 'b', '--ip', '10.0.0.5', '--network-alias', 'x']).endpoints;
  assert.deepEqual(e['a']!.IPAMConfig, { IPv4Address: '10.0.0.5' });
  assert.deepEqual(e['a']!.Aliases, ['x']);
  assert.equal(e['b']!.IPAMConfig, null);
  assert.equal(e['b']!.Aliases, null);
});

test('endpoints: docker conflicts', () => {
  assert.throws(() => endpoints(['--network-alias', 'x']), /network-scoped aliases are only supported for user-defined networks/);
  assert.throws(() => endpoints(['--network', 'a', '--network', 'a']), /network "a" is specified multiple times/);
  assert.throws(() => endpoints(['--network', 'a', '--network', 'host']), /cannot attach both user-defined and non-user-defined/);
  assert.throws(() => endpoints(['--network', 'name=a,ip=10.0.0.1', '--ip', '10.0.0.2']), /cannot specify both --ip and per-network IPv4 address/);
});

test('isUserDefined and MAC forms', () => {
  for (const m of ['default', 'bridge', 'host', 'none', 'container:x']) assert.equal(isUserDefined(m), false, m);
  assert.equal(isUserDefined('mynet'), true);
  for (const ok of ['92:d0:c6:0a:29:33', '92-D0-C6-0A-29-33', '92d0.c60a.2933', '00:00:00:00:fe:80:00:00']) assert.equal(isValidMac(ok), true, ok);
  for (const bad of ['zz', '92:d0:c6:0a:29', '92:d0:c6:0a:29:3']) assert.equal(isValidMac(bad), false, bad);
});

test('--add-host as the docker CLI takes it: name:ip, name=ip, [v6] and host-gateway, sent as name:ip; its error texts', () => {
  assert.equal(validateExtraHost('db:10.0.0.2'), 'db:10.0.0.2');
  assert.equal(validateExtraHost('db=10.0.0.2'), 'db:10.0.0.2');
  assert.equal(validateExtraHost('v6=[::1]'), 'v6:::1');
  assert.equal(validateExtraHost('v6:::1'), 'v6:::1');
  assert.equal(validateExtraHost('gw:host-gateway'), 'gw:host-gateway');
  assert.throws(() => validateExtraHost('db:nope'), /^Error: invalid IP address in add-host: "nope"$/);
  assert.throws(() => validateExtraHost('noaddress'), /^Error: bad format for add-host: "noaddress"$/);
  assert.throws(() => validateExtraHost(':1.2.3.4'), /^Error: bad format for add-host: ":1.2.3.4"$/);
});
