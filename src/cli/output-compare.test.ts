// ps/images/stats/version/inspect output checked against the docker CLI on the same recorded data. Both CLIs talk to
// testing/fake-daemon.ts, a TEST FAKE on a temp unix socket that serves fixed JSON (it is not an engine).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { encodeFrame } from '../common/stdcopy.js';
import { startFakeDaemon, type FakeDaemon } from './testing/fake-daemon.js';
import { dockerVersion, runBerth, runDocker } from './testing/run-cli.js';

const skip = dockerVersion() ? false : 'the docker CLI is not installed';
const T2020 = 1577836800; // 2020-01-01

const CONTAINERS = [
  {
    Id: 'a1b2c3d4e5f6a7b8c9d0a1b2c3d4e5f6a7b8c9d0a1b2c3d4e5f6a7b8c9d0a1b2', Names: ['/web'], Image: 'nginx:latest', ImageID: 'sha256:' + '1'.repeat(64),
    Command: '/docker-entrypoint.sh nginx -g \'daemon off;\'', Created: T2020, State: 'running', Status: 'Up 2 hours',
    Ports: [{ IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' }, { IP: '::', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' }, { PrivatePort: 443, Type: 'tcp' }],
    Labels: { 'com.example.b': '2', 'com.example.a': '1' }, SizeRw: 1234, SizeRootFs: 187000000,
    HostConfig: { NetworkMode: 'bridge' }, NetworkSettings: { Networks: { bridge: {} } },
    Mounts: [{ Type: 'volume', Name: 'averyveryverylongvolumename', Source: '/var/lib/x', Destination: '/data', Driver: 'local', Mode: '', RW: true, Propagation: '' }],
  },
  {
    Id: 'ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100', Names: ['/db', '/web/db'], Image: 'sha256:' + '2'.repeat(64), ImageID: 'sha256:' + '2'.repeat(64),
    Command: 'docker-entrypoint.sh postgres', Created: T2020 - 86400 * 30, State: 'exited', Status: 'Exited (0) 3 days ago',
    Ports: [{ PrivatePort: 5432, Type: 'tcp' }, { PrivatePort: 5433, Type: 'tcp' }, { PrivatePort: 5434, Type: 'tcp' }, { PrivatePort: 53, Type: 'udp' }],
    Labels: {}, SizeRw: 0, SizeRootFs: 0, HostConfig: { NetworkMode: 'default' }, NetworkSettings: { Networks: {} }, Mounts: [],
  },
  {
    Id: '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef', Names: ['/日本語'], Image: 'docker.io/library/busybox@sha256:' + '3'.repeat(64), ImageID: 'sha256:' + '4'.repeat(64),
    Command: 'sh', Created: T2020 - 86400 * 400, State: 'created', Status: 'Created', Ports: [], Labels: null,
    HostConfig: { NetworkMode: 'none' }, NetworkSettings: { Networks: { none: {} } }, Mounts: [],
  },
];

const IMAGES = [
  { Id: 'sha256:' + '1'.repeat(64), ParentId: '', RepoTags: ['nginx:latest'], RepoDigests: ['nginx@sha256:' + '9'.repeat(64)], Created: T2020, Size: 187654321, SharedSize: -1, Labels: null, Containers: -1 },
  { Id: 'sha256:' + '2'.repeat(64), ParentId: '', RepoTags: ['registry.example.com:5000/team/app:v1.2'], RepoDigests: [], Created: T2020 - 86400 * 3, Size: 4261234, SharedSize: -1, Labels: {}, Containers: 2 },
  { Id: 'sha256:' + '3'.repeat(64), ParentId: '', RepoTags: [], RepoDigests: ['busybox@sha256:' + '8'.repeat(64)], Created: T2020 - 86400 * 700, Size: 999999, SharedSize: -1, Labels: null, Containers: -1 },
  { Id: 'sha256:' + '4'.repeat(64), ParentId: '', RepoTags: null, RepoDigests: null, Created: T2020 - 3600, Size: 0, SharedSize: -1, Labels: null, Containers: -1 },
];

function stats(id: string, name: string, v2: boolean) {
  return {
    read: '2025-01-01T00:00:01Z', preread: '2025-01-01T00:00:00Z', id, name,
    pids_stats: { current: 7, limit: 1000 }, num_procs: 0, storage_stats: {},
    blkio_stats: { io_service_bytes_recursive: [{ major: 8, minor: 0, op: 'read', value: 4096000 }, { major: 8, minor: 0, op: 'write', value: 123456 }] },
    cpu_stats: { cpu_usage: { total_usage: 2_500_000_000, usage_in_kernelmode: 0, usage_in_usermode: 0 }, system_cpu_usage: 100_000_000_000, online_cpus: 4, throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 } },
    precpu_stats: { cpu_usage: { total_usage: 2_000_000_000, usage_in_kernelmode: 0, usage_in_usermode: 0 }, system_cpu_usage: 96_000_000_000, online_cpus: 4, throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 } },
    memory_stats: v2
      ? { usage: 50_000_000, limit: 2_000_000_000, stats: { inactive_file: 10_000_000, anon: 1 } }
      : { usage: 80_000_000, limit: 1_000_000_000, stats: { total_inactive_file: 30_000_000, cache: 40_000_000 } },
    networks: { eth0: { rx_bytes: 1500, rx_packets: 1, rx_errors: 0, rx_dropped: 0, tx_bytes: 2_600_000, tx_packets: 1, tx_errors: 0, tx_dropped: 0 } },
  };
}

describe('output matches the docker CLI on the same data', { skip }, () => {
  let fake: FakeDaemon;
  before(async () => {
    fake = await startFakeDaemon((r) => {
      if (r.path === '/containers/json') return { json: CONTAINERS };
      if (r.path === '/images/json') return { json: IMAGES };
      const m = /^\/containers\/([^/]+)\/stats$/.exec(r.path);
      if (m) {
        const c = CONTAINERS.find((x) => x.Id.startsWith(m[1]!) || x.Names[0] === `/${m[1]}`)!;
        return { json: stats(c.Id, c.Names[0]!, c.Names[0] === '/web') };
      }
      const j = /^\/containers\/([^/]+)\/json$/.exec(r.path);
      if (j) {
        const c = CONTAINERS.find((x) => x.Id.startsWith(j[1]!) || x.Names[0] === `/${j[1]}`);
        if (!c) return { status: 404, json: { message: `No such container: ${j[1]}` } };
        return { text: JSON.stringify({ Id: c.Id, Name: c.Names[0], State: { Status: c.State, Running: c.State === 'running', ExitCode: 0 }, Config: { Tty: false, Labels: { 'a<b': 'x&y' }, Env: [] }, HostConfig: { Memory: 0 }, Mounts: [] }), headers: { 'Content-Type': 'application/json' } };
      }
      if (r.path === '/containers/web/top') return { json: { Titles: ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD'], Processes: [['root', '1234', '1200', '0', '10:00', '?', '00:00:00', 'nginx: master process nginx -g daemon off;']] } };
      if (r.path === '/containers/web/logs') return { text: encodeFrame(1, 'out line\n').toString('latin1') + encodeFrame(2, 'err line\n').toString('latin1'), headers: { 'Content-Type': 'application/vnd.docker.multiplexed-stream' } };
      if (r.path === '/system/df') {
        return { json: { LayersSize: 192000000, Images: IMAGES.map((i, n) => ({ ...i, SharedSize: 0, Containers: n === 0 ? 1 : 0 })), Containers: CONTAINERS.map((c) => ({ ...c, SizeRw: c.SizeRw ?? 0 })), Volumes: [{ Name: 'v', UsageData: { Size: 5000, RefCount: 1 } }, { Name: 'w', UsageData: { Size: 7000, RefCount: 0 } }], BuildCache: [] } };
      }
      if (r.path === '/events') {
        return { lines: [
          { Type: 'container', Action: 'create', Actor: { ID: CONTAINERS[0]!.Id, Attributes: { name: 'web', image: 'nginx' } }, scope: 'local', time: T2020, timeNano: T2020 * 1e9 + 123456789 },
          { Type: 'image', Action: 'pull', Actor: { ID: 'busybox:latest', Attributes: {} }, scope: 'local', time: T2020, timeNano: T2020 * 1e9 },
        ] };
      }
      return undefined;
    });
  });
  after(() => fake?.close());

  const same = async (args: string[], opts: { stderr?: boolean } = {}) => {
    const d = await runDocker(['-H', fake.host, ...args]);
    const b = await runBerth(['-H', fake.host, ...args]);
    assert.equal(b.stdout, d.stdout, `${args.join(' ')}\n--- berth stderr: ${b.stderr}\n--- docker stderr: ${d.stderr}`);
    if (opts.stderr) assert.equal(b.stderr, d.stderr);
    assert.equal(b.code, d.code, b.stderr);
  };

  const psCases = [
    ['ps'], ['ps', '-a'], ['ps', '--no-trunc'], ['ps', '-q'], ['ps', '-s'], ['ps', '--format', 'json'],
    ['ps', '--format', 'table {{.Names}}\t{{.Labels}}\t{{.Mounts}}\t{{.Networks}}\t{{.LocalVolumes}}\t{{.State}}'],
    ['ps', '--format', '{{.ID}} {{.Label "com.example.a"}} {{.CreatedAt}}'],
    ['ps', '--format', 'table {{.ID}}\t{{.Label "com.example.a"}}'],
  ];
  for (const args of psCases) it(args.join(' '), () => same(args));

  const imageCases = [
    ['images'], ['images', '-a'], ['images', '--digests'], ['images', '--no-trunc'], ['images', '-q'], ['images', '--format', 'json'],
    ['image', 'ls', '--format', 'table {{.Repository}}:{{.Tag}}\t{{.ID}}\t{{.Size}}\t{{.Containers}}\t{{.CreatedAt}}'],
  ];
  for (const args of imageCases) it(args.join(' '), () => same(args));

  const statsCases = [
    ['stats', '--no-stream', 'web', 'db'],
    ['stats', '--no-stream', '--no-trunc', 'web'],
    ['stats', '--no-stream', '--format', 'json', 'web', 'db'],
    ['stats', '--no-stream', '--format', 'table {{.Container}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemPerc}}', 'web', 'db'],
  ];
  for (const args of statsCases) it(args.join(' '), () => same(args));

  it('top', () => same(['top', 'web']));
  it('logs (demultiplexed to stdout and stderr)', () => same(['logs', 'web'], { stderr: true }));
  it('inspect (indented, raw JSON kept)', () => same(['inspect', 'web']));
  it('inspect --format', () => same(['inspect', '--format', '{{.Name}} {{json .Config.Labels}}', 'web', 'db']));
  it('inspect of a missing container', () => same(['container', 'inspect', 'web', 'nope']));
  it('system df', () => same(['system', 'df']));
  it('events', () => same(['events', '--until', '1']));
  it('events --format', () => same(['events', '--until', '1', '--format', '{{.Type}} {{.Action}} {{.Actor.Attributes.name}}']));
  it('version (server part)', async () => {
    const d = await runDocker(['-H', fake.host, 'version']);
    const b = await runBerth(['-H', fake.host, 'version']);
    assert.equal(b.code, 0, b.stderr);
    const server = (s: string) => s.slice(s.indexOf('\nServer:'));
    assert.equal(server(b.stdout), server(d.stdout));
    const labels = (s: string) => s.split('\n').slice(0, 8).map((l) => l.split(':')[0]);
    assert.deepEqual(labels(b.stdout), labels(d.stdout));
  });
});
