// network and port commands checked against the docker 28 CLI: both CLIs talk to testing/fake-daemon.ts (a TEST FAKE
// on a temp unix socket serving Docker-shaped canned answers), and must send the same requests and print the same.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { startFakeDaemon, type FakeDaemon, type Recorded } from './testing/fake-daemon.js';
import { dockerVersion, runBerth, runDocker, type CliResult } from './testing/run-cli.js';

const skip = dockerVersion() ? false : 'the docker CLI is not installed';
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

const ipam = (config: object[], options: object | null = null) => ({ Driver: 'default', Options: options, Config: config });
const NETWORKS = [
  {
    Name: 'net10', Id: '1'.repeat(64), Created: '2025-03-01T10:00:00.123456789Z', Scope: 'local', Driver: 'bridge', EnableIPv4: true, EnableIPv6: false,
    IPAM: ipam([{ Subnet: '10.10.0.0/16', Gateway: '10.10.0.1' }]), Internal: false, Attachable: false, Ingress: false, ConfigFrom: { Network: '' }, ConfigOnly: false,
    Containers: { ['c'.repeat(64)]: { Name: 'web', EndpointID: 'e'.repeat(64), MacAddress: '02:42:0a:0a:00:02', IPv4Address: '10.10.0.2/16', IPv6Address: '' } },
    Options: {}, Labels: { 'com.example.team': 'web' },
  },
  {
    Name: 'bridge', Id: '2'.repeat(64), Created: '2025-01-01T00:00:00Z', Scope: 'local', Driver: 'bridge', EnableIPv4: true, EnableIPv6: false,
    IPAM: ipam([{ Subnet: '172.17.0.0/16', Gateway: '172.17.0.1' }]), Internal: false, Attachable: false, Ingress: false, ConfigFrom: { Network: '' }, ConfigOnly: false,
    Containers: {}, Options: { 'com.docker.network.bridge.default_bridge': 'true', 'com.docker.network.bridge.name': 'berth0' }, Labels: {},
  },
  {
    Name: 'net2', Id: '3'.repeat(64), Created: '2025-02-01T10:00:00.5+02:00', Scope: 'local', Driver: 'bridge', EnableIPv4: true, EnableIPv6: true,
    IPAM: ipam([], {}), Internal: true, Attachable: true, Ingress: false, ConfigFrom: { Network: '' }, ConfigOnly: false, Containers: {}, Options: {}, Labels: null,
  },
  {
    Name: 'host', Id: '4'.repeat(64), Created: '0001-01-01T00:00:00Z', Scope: 'local', Driver: 'host', EnableIPv4: false, EnableIPv6: false,
    IPAM: ipam([]), Internal: false, Attachable: false, Ingress: false, ConfigFrom: { Network: '' }, ConfigOnly: false, Containers: {}, Options: {}, Labels: {},
  },
  {
    Name: 'none', Id: '5'.repeat(64), Created: '0001-01-01T00:00:00Z', Scope: 'local', Driver: 'null', EnableIPv4: false, EnableIPv6: false,
    IPAM: ipam([]), Internal: false, Attachable: false, Ingress: false, ConfigFrom: { Network: '' }, ConfigOnly: false, Containers: {}, Options: {}, Labels: {},
  },
];

const WEB = {
  Id: 'c'.repeat(64), Name: '/web',
  NetworkSettings: {
    Ports: {
      '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }, { HostIp: '::', HostPort: '8080' }],
      '443/tcp': null,
      '53/udp': [{ HostIp: '127.0.0.1', HostPort: '5353' }],
      '9000/tcp': [{ HostIp: '0.0.0.0', HostPort: '32768' }],
    },
  },
};

function route(r: Recorded) {
  if (r.path === '/containers/web/json') return { json: WEB };
  if (r.path === '/containers/bare/json') return { json: { Id: 'd'.repeat(64), Name: '/bare', NetworkSettings: { Ports: {} } } };
  const c = /^\/containers\/([^/]+)\/json$/.exec(r.path);
  if (c) return { status: 404, json: { message: `No such container: ${c[1]}` } };
  if (r.path === '/networks') return { json: NETWORKS };
  if (r.path === '/networks/create') {
    if ((JSON.parse(r.body) as { Name: string }).Name === 'bridge') return { status: 409, json: { message: 'network with name bridge already exists' } };
    return { status: 201, json: { Id: 'a'.repeat(64), Warning: '' } };
  }
  if (r.path === '/networks/prune') return { json: { NetworksDeleted: ['old1', 'old2'] } };
  if (r.path === '/networks/ghost/connect') return { status: 404, json: { message: 'network ghost not found' } };
  if (/^\/networks\/[^/]+\/(dis)?connect$/.test(r.path)) return { status: 200, text: '' };
  const n = /^\/networks\/([^/]+)$/.exec(r.path);
  if (n) {
    const found = NETWORKS.find((x) => x.Name === n[1] || x.Id.startsWith(n[1]!));
    if (!found) return { status: 404, json: { message: `network ${n[1]} not found` } };
    if (r.method === 'DELETE') {
      return found.Name === 'bridge' ? { status: 403, json: { message: 'bridge is a pre-defined network and cannot be removed' } } : { status: 204, text: '' };
    }
    return { json: found };
  }
  return undefined;
}

/** A request as both CLIs must send it: filters and bodies compared as JSON, IPAM pools as a set (docker orders them by Go map). */
function shape(r: Recorded): unknown {
  const query: Record<string, unknown> = {};
  for (const [k, v] of r.query) query[k] = k === 'filters' ? JSON.parse(v) : v;
  let body: unknown = r.body;
  if (r.body) {
    const b = JSON.parse(r.body) as { IPAM?: { Config?: Array<{ Subnet?: string }> } };
    b.IPAM?.Config?.sort((x, y) => ((x.Subnet ?? '') < (y.Subnet ?? '') ? -1 : 1));
    body = b;
  }
  return { method: r.method, path: r.path, query, body };
}

describe('network and port commands: same requests and output as the docker CLI', { skip }, () => {
  let fake: FakeDaemon;
  before(async () => {
    fake = await startFakeDaemon(route);
  });
  after(() => fake?.close());

  const requestsOf = async (run: () => Promise<CliResult>) => {
    const n = fake.requests.length;
    const res = await run();
    return { res, reqs: fake.requests.slice(n).filter((r) => r.path !== '/_ping' && r.path !== '/version').map(shape) };
  };
  const norm = (s: string) => s.replace(/^time=.*\n/gm, '').replace(/(?<!docs\.)docker/g, 'berth').replace(/Docker/g, 'Berth');

  const same = async (args: string[], opts: { input?: string } = {}) => {
    const d = await requestsOf(() => runDocker(['-H', fake.host, ...args], opts));
    const b = await requestsOf(() => runBerth(['-H', fake.host, ...args], opts));
    const what = `${args.join(' ')}\n--- berth stderr: ${b.res.stderr}\n--- docker stderr: ${d.res.stderr}`;
    assert.deepEqual(b.reqs, d.reqs, what);
    // Help texts name the program; other output (JSON with com.docker.* options) is compared as is.
    const help = args.includes('--help') || args.length === 1;
    assert.equal(b.res.stdout, help ? norm(d.res.stdout) : d.res.stdout, what);
    assert.equal(b.res.stderr, norm(d.res.stderr), what);
    assert.equal(b.res.code, d.res.code, what);
  };

  const cases: string[][] = [
    // ls: table, ids, json, templates, filters (sorted by name in natural order: net2 before net10).
    ['network', 'ls'], ['network', 'list', '--no-trunc'], ['network', 'ls', '-q'], ['network', 'ls', '--format', 'json'],
    ['network', 'ls', '--format', 'table'], ['network', 'ls', '-q', '--format', 'table'], ['network', 'ls', '--format', 'raw'],
    ['network', 'ls', '--format', 'table {{.Name}}\t{{.IPv4}}\t{{.IPv6}}\t{{.Internal}}\t{{.Labels}}\t{{.CreatedAt}}'],
    ['network', 'ls', '--format', '{{.Name}} {{.Label "com.example.team"}}'],
    ['network', 'ls', '-f', 'driver=bridge', '--filter', 'name=net', '-f', 'Label=a=b'],
    ['network', 'ls', '-f', 'bogus'], ['network', 'ls', 'extra'],
    // inspect: the daemon's JSON indented, --format, json, missing networks.
    ['network', 'inspect', 'net10'], ['network', 'inspect', 'net10', 'nope', 'bridge'], ['network', 'inspect', '-v', 'net2'],
    ['network', 'inspect', '-f', '{{.Name}} {{json .IPAM}} {{range $k, $v := .Containers}}{{$v.Name}}{{end}}', 'net10', 'bridge'],
    ['network', 'inspect', '--format', 'json', 'net2', 'net10'], ['network', 'inspect', '--format', 'json', 'nope'], ['network', 'inspect'],
    ['inspect', 'net10'], ['inspect', '--type', 'network', 'bridge'], ['inspect', '--type', 'network', 'nope'], ['inspect', '-f', '{{.Name}} {{.Driver}}', 'net2'],
    // create: body and printed id; docker's IPAM checks.
    ['network', 'create', 'n1'],
    ['network', 'create', '-d', 'bridge', '--subnet', '10.1.0.0/16', '--gateway', '10.1.0.1', '--ip-range', '10.1.1.0/24', '--internal', '--attachable',
      '--label', 'a=b', '--label', 'c', '-o', 'com.docker.network.bridge.name=br1', '--ipv6', 'n2'],
    ['network', 'create', '--ipv4=false', '--ipv6=false', '--ipam-driver', 'x', '--ipam-opt', 'k=v', '--aux-address', 'h=10.1.0.9', '--aux-address', 'g=10.1.0.8', '--subnet', '10.1.0.0/16', 'n3'],
    ['network', 'create', '--subnet', '10.1.0.0/16,10.2.0.0/16', '--gateway', '10.2.0.1', '--gateway', '10.1.0.1', '--subnet', 'fd00::/64', 'n4'],
    ['network', 'create', '--scope', 'local', '--config-only', '--config-from', 'base', '--ingress', '-o', 'a', '-o', 'b=1', '-o', 'a=2', 'n5'],
    ['network', 'create', '--gateway', '10.1.0.1', 'n'], ['network', 'create', '--subnet', '10.1.0.0/16', '--subnet', '10.1.2.0/24', 'n'],
    ['network', 'create', '--subnet', '10.1.0.0/16', '--gateway', '10.2.0.1', 'n'], ['network', 'create', '--subnet', '10.1.0.0/16', '--ip-range', '10.2.0.0/24', 'n'],
    ['network', 'create', '--subnet', '10.1.0.0/16', '--ip-range', 'bogus', 'n'], ['network', 'create', '--subnet', 'bogus', 'n'],
    ['network', 'create', '--subnet', '10.1.0.0/16', '--ip-range', '10.1.0.0/24', '--ip-range', '10.1.1.0/24', 'n'],
    ['network', 'create', '--subnet', '10.1.0.0/16', '--aux-address', 'a=10.9.0.1', 'n'], ['network', 'create', '--subnet', '10.1.0.0/16', '--gateway', '::1', 'n'],
    ['network', 'create', '--subnet', 'a"b', 'n'], ['network', 'create', '--label', ' =x', 'n'], ['network', 'create', '--ipv4=maybe', 'n'],
    ['network', 'create'], ['network', 'create', 'a', 'b'], ['network', 'create', 'bridge'],
    // rm: names printed, errors on stderr and `exit status 1`, -f for missing ones.
    ['network', 'rm', 'net10', 'nope', 'bridge', 'net2'], ['network', 'remove', '-f', 'net10', 'nope'], ['network', 'rm'],
    // prune
    ['network', 'prune', '-f'], ['network', 'prune', '--force', '--filter', 'until=1h', '--filter', 'label=b', '--filter', 'label=a'],
    // connect / disconnect
    ['network', 'connect', '--alias', 'a', '--alias', 'b,c', '--ip', '10.1.0.5', 'net10', 'web'], ['network', 'connect', 'net10', 'web'],
    ['network', 'connect', '--ip6', 'fd00::1', '--link', 'x:y', '--link-local-ip', '169.254.0.1', '--driver-opt', 'A=b', '--gw-priority', '5', 'net10', 'web'],
    ['network', 'connect', '--driver-opt', 'x', 'net10', 'web'], ['network', 'connect', 'ghost', 'web'], ['network', 'connect', 'a'],
    ['network', 'disconnect', 'net10', 'web'], ['network', 'disconnect', '-f', 'net10', 'web'],
    // port
    ['port', 'web'], ['port', 'web', '80'], ['port', 'web', '80/tcp'], ['port', 'web', '53/udp'], ['port', 'web', '443'], ['port', 'web', '81/tcp'],
    ['port', 'web', 'abc'], ['port', 'web', '99999'], ['container', 'port', 'bare'], ['container', 'port', 'web', '9000'], ['port', 'nope'], ['port'], ['port', 'a', 'b', 'c'],
    // the group and its help texts
    ['network'], ['network', '--help'], ['network', 'bogus'],
    ...['create', 'ls', 'inspect', 'rm', 'prune', 'connect', 'disconnect'].map((v) => ['network', v, '--help']),
    ['port', '--help'], ['container', 'port', '--help'],
  ];
  for (const args of cases) it(args.join(' '), () => same(args));

  it('prune asks first: yes prunes, anything else ends quietly before any request', async () => {
    await same(['network', 'prune'], { input: 'y\n' });
    await same(['network', 'prune'], { input: 'n\n' });
    await same(['network', 'prune'], { input: '' });
    await same(['network', 'prune', '--filter', 'label=x'], { input: ' Y \n' });
  });

  it('the berth process ends after the answer though its stdin stays open (a terminal)', { skip: existsSync(`${ROOT}dist/berth.cjs`) ? false : 'the berth bundle is not built' }, async () => {
    const child = spawn(process.execPath, [`${ROOT}bin/berth.cjs`, '-H', fake.host, 'network', 'prune'], { stdio: ['pipe', 'pipe', 'pipe'], env: { PATH: process.env['PATH'], BERTH_NO_AUTOSTART: '1' } });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stdin.write('y\n');
    // A hang is the failure; the kill only ends it.
    const killer = setTimeout(() => child.kill('SIGKILL'), 20000);
    const code = await new Promise((r) => child.once('close', r));
    clearTimeout(killer);
    assert.equal(code, 0, out);
    assert.match(out, /\[y\/N\] Deleted Networks:\nold1\nold2\n\n$/);
  });
});
