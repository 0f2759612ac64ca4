// The strongest check of run/create flag handling: the docker CLI and berth, pointed at the same fake daemon
// (testing/fake-daemon.ts, a TEST FAKE that records requests), must send the same POST /containers/create body.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startFakeDaemon, type FakeDaemon, type Recorded } from './testing/fake-daemon.js';
import { DOCKER, TEST_CONFIG_DIR, dockerVersion, runBerth, runDocker } from './testing/run-cli.js';

const ID = 'f'.repeat(64);
const skip = dockerVersion() ? false : 'the docker CLI is not installed (/usr/bin/docker)';

const ENV_FILE = join(TEST_CONFIG_DIR, 'env.list');
writeFileSync(ENV_FILE, 'X=1\n# comment\n\nUNSET_VAR\n  Z=  2 \nHOME_COPY\n');
/** A seccomp profile file, indented: both CLIs send it compacted, inline in SecurityOpt. */
const SECCOMP_FILE = join(TEST_CONFIG_DIR, 'seccomp.json');
writeFileSync(SECCOMP_FILE, JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64'], syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }] }, null, 2) + '\n');

/** Flag combinations; each runs as `run -d <combo> busybox [cmd]` on both CLIs. */
const CASES: string[][] = [
  ['busybox'],
  ['-it', 'busybox', 'sh'],
  ['-i', 'busybox'],
  ['--name=x', '-e', 'A=b', '-e', 'C', 'busybox', 'echo', 'hi'],
  ['--name', 'web', '--env-file', ENV_FILE, '-e', 'W=3', 'busybox'],
  ['-p', '8080:80/tcp', '-p', '9000', '-p', '127.0.0.1:53:53/udp', '-p', '[::1]:5000:5000', '--expose', '7000', 'busybox'],
  ['-p', '8000-8001:80-81/udp', 'busybox'],
  ['--memory', '512m', '--memory-swap', '1g', '--cpus', '1.5', '--cpu-shares', '512', '--pids-limit', '100', 'busybox'],
  ['-m', '1g', '--memory-swap', '-1', '--pids-limit', '-1', '--memory-reservation', '100m', '--shm-size', '64m', 'busybox'],
  ['--ulimit', 'nofile=1024:2048', '--ulimit', 'nproc=10', 'busybox'],
  ['-v', '/a:/b:ro', '-v', '/c', '-v', 'vol:/data', 'busybox'],
  ['--mount', 'type=bind,src=/a,dst=/b,readonly', '--mount', 'type=tmpfs,dst=/t,tmpfs-size=1m', '--mount', 'type=volume,source=v,target=/v,volume-nocopy', 'busybox'],
  ['--cap-add', 'NET_ADMIN', '--cap-add', 'sys_admin', '--cap-drop', 'ALL', '--privileged', '--read-only', 'busybox'],
  ['--security-opt', 'no-new-privileges', '--security-opt', 'seccomp=unconfined', '--init', 'busybox'],
  ['--security-opt', `seccomp=${SECCOMP_FILE}`, 'busybox'],
  ['--security-opt', `seccomp:${SECCOMP_FILE}`, '--security-opt', 'apparmor=unconfined', 'busybox'],
  ['--init=false', 'busybox'],
  ['--restart', 'on-failure:3', 'busybox'],
  ['--restart', 'always', 'busybox'],
  ['--rm', 'busybox'],
  ['--tmpfs', '/run:size=64m', '--tmpfs', '/x', 'busybox'],
  ['-l', 'a=b', '--label', 'c', '-h', 'myhost', '-w', '/tmp', '-u', '1000:1000', 'busybox'],
  ['--entrypoint', '/bin/sh', 'busybox', '-c', 'echo hi'],
  ['--entrypoint', '', 'busybox'],
  ['--network', 'host', '--stop-signal', 'SIGKILL', '--stop-timeout', '5', 'busybox'],
  ['--network', 'none', 'busybox'],
  ['--log-driver', 'json-file', '--log-opt', 'max-size=1m', '--log-opt', 'max-file=3', 'busybox'],
  ['--device', '/dev/fuse', '--device', '/dev/a:/dev/b:r', '--sysctl', 'net.ipv4.ip_forward=1', 'busybox'],
  ['--platform', 'linux/amd64', '--pull', 'never', 'busybox'],
  ['--dns', '1.1.1.1', '--dns-search', 'example.com', '--add-host', 'h:1.2.3.4', '--group-add', '10', 'busybox'],
  ['--ipc', 'host', '--pid', 'host', '--uts', 'host', '--cgroupns', 'private', '--oom-score-adj', '100', '--cpuset-cpus', '0-1', 'busybox'],
  ['--health-cmd', 'true', '--health-retries', '3', 'busybox'],
  ['--health-cmd', 'true', 'busybox'],
  ['--health-cmd', 'curl -f x', '--health-interval', '1m30s', '--health-timeout', '500ms', '--health-start-period', '2.5s', '--health-start-interval', '100ms', '--health-retries', '2', 'busybox'],
  ['--health-interval', '1h1us', 'busybox'],
  ['--health-start-period', '0', '--health-timeout', '10s', 'busybox'],
  ['--no-healthcheck', 'busybox'],
  ['busybox', 'ls', '-l', '--color'],
  // Networking: user networks with --ip/--network-alias, docker's csv --network syntax, several networks.
  ['--network', 'mynet', '--ip', '10.1.0.5', '--network-alias', 'web', '--network-alias', 'www', 'busybox'],
  ['--network', 'mynet', '--ip', '10.1.0.5', '--ip6', 'fd00::5', '--link-local-ip', '169.254.1.1', '--link-local-ip', '169.254.1.2', 'busybox'],
  ['--network', 'mynet', 'busybox'],
  ['--network', 'name=MyNet', 'busybox'],
  ['--network', 'mynet', '--link', 'a:b', '--mac-address', '92:d0:c6:0a:29:33', 'busybox'],
  ['--link', 'a:b', '--mac-address', '92:d0:c6:0a:29:33', 'busybox'],
  ['--network', 'name=front,alias=x,ip=10.0.0.2,driver-opt=A=B,gw-priority=3', '--network', 'back', 'busybox'],
  ['--net', 'mynet', '--net-alias', 'z', 'busybox'],
  ['--network', 'bridge', '--ip', '172.17.0.9', 'busybox'],
  ['--ip', '172.17.0.9', 'busybox'],
  ['--network', 'container:abc', 'busybox'],
  ['--network', 'host', '--mac-address', '92:d0:c6:0a:29:33', 'busybox'],
];

/** docker 28 builds Env and HostConfig.Binds from Go maps (random order between runs): compare them as sets. */
function sortMapOrdered(body: { Env?: string[] | null; HostConfig?: { Binds?: string[] | null } }): unknown {
  if (body.Env) body.Env = [...body.Env].sort();
  if (body.HostConfig?.Binds) body.HostConfig.Binds = [...body.HostConfig.Binds].sort();
  return body;
}

describe('run -d: same create body as the docker CLI', { skip }, () => {
  let fake: FakeDaemon;
  before(async () => {
    fake = await startFakeDaemon((r) => {
      if (r.path === '/containers/create') return { status: 201, json: { Id: ID, Warnings: [] } };
      if (r.path.endsWith('/start')) return { status: 204, text: '' };
      if (r.path.endsWith('/wait')) return { json: { StatusCode: 0, Error: null } };
      return undefined;
    });
  });
  after(() => fake?.close());

  const creates = (from: number): Recorded[] => fake.requests.slice(from).filter((r) => r.path === '/containers/create');

  for (const combo of CASES) {
    it(combo.join(' '), async () => {
      const env = { HOME_COPY: 'h', C: 'from-env' };
      let n = fake.requests.length;
      const d = await runDocker(['-H', fake.host, 'run', '-d', ...combo], { env });
      const dc = creates(n);
      assert.equal(dc.length, 1, `docker did not create: ${d.stderr}`);
      n = fake.requests.length;
      const b = await runBerth(['-H', fake.host, 'run', '-d', ...combo], { env });
      const bc = creates(n);
      assert.equal(bc.length, 1, `berth did not create: ${b.stderr}`);
      assert.deepEqual(sortMapOrdered(JSON.parse(bc[0]!.body)), sortMapOrdered(JSON.parse(dc[0]!.body)));
      assert.equal(bc[0]!.query.get('name'), dc[0]!.query.get('name'));
      assert.equal(bc[0]!.query.get('platform'), dc[0]!.query.get('platform'));
      assert.equal(b.code, 0, b.stderr);
      assert.equal(b.stdout, `${ID}\n`);
    });
  }

  it('create (no -d) attaches stdout/stderr like docker create', async () => {
    for (const combo of [['busybox'], ['-i', 'busybox'], ['-a', 'stdout', 'busybox'], ['-t', '-a', 'stderr', 'busybox']]) {
      let n = fake.requests.length;
      await runDocker(['-H', fake.host, 'create', ...combo]);
      const dc = creates(n);
      n = fake.requests.length;
      const b = await runBerth(['-H', fake.host, 'create', ...combo]);
      const bc = creates(n);
      assert.equal(bc.length, 1, b.stderr);
      assert.deepEqual(JSON.parse(bc[0]!.body), JSON.parse(dc[0]!.body), combo.join(' '));
    }
  });

  it('option errors: same message and status as docker', async () => {
    const cases = [
      ['run', '--memory', '5x', 'busybox'],
      ['run', '--ulimit', 'nofile', 'busybox'],
      ['run', '--cpus', '1.23456789999', 'busybox'],
      ['run', '--mount', 'type=bind', 'busybox'],
      ['run', '--bogus', 'busybox'],
      ['run', '-x', 'busybox'],
      ['run', '-e'],
      ['run'],
      ['run', '-d', '-a', 'stdout', 'busybox'],
      ['run', '--rm', '--restart', 'always', 'busybox'],
      ['run', '-d', '-p', '99999', 'busybox'],
      ['run', '--network-alias', 'x', 'busybox'],
      ['run', '--network', 'host', '--network-alias', 'x', 'busybox'],
      ['run', '--network', 'mynet', '--network', 'mynet', 'busybox'],
      ['run', '--network', 'mynet', '--network', 'host', 'busybox'],
      ['run', '--network', 'name=mynet,alias=x', '--network-alias', 'y', 'busybox'],
      ['run', '--network', 'name=x,foo=1', 'busybox'],
      ['run', '--network', 'name=x,gw-priority=a', 'busybox'],
      ['run', '--network', 'name=x,alias', 'busybox'],
      ['run', '--network', 'alias=x', 'busybox'],
      ['run', '--network', 'name=n1,mac-address=zz', 'busybox'],
      ['run', '--network', '  ', 'busybox'],
      ['run', '--mac-address', 'zz', 'busybox'],
      ['run', '--link', 'a:b:c', 'busybox'],
      ['run', '--health-interval', '5x', 'busybox'],
      ['run', '--health-timeout', '5', 'busybox'],
      ['run', '--health-start-period', 'soon', 'busybox'],
      ['run', '--health-start-interval', '-1s', 'busybox'],
      ['run', '--health-interval', '-2ms', '--health-cmd', 'true', 'busybox'],
      ['run', '--no-healthcheck', '--health-retries', '1', 'busybox'],
      ['ps', '-n', 'abc'],
      ['ps', '--all=x'],
      ['ps', 'extra'],
      ['stop'],
      ['rename', 'a'],
    ];
    for (const c of cases) {
      const d = await runDocker(['-H', fake.host, ...c]);
      const b = await runBerth(['-H', fake.host, ...c]);
      assert.equal(b.code, d.code, `${c.join(' ')}: ${b.stderr} vs docker ${d.stderr}`);
      const norm = (s: string) => s.replace(/docker/g, 'berth').replace(/^time=.*\n/gm, '');
      assert.equal(b.stderr, norm(d.stderr), c.join(' '));
    }
  });
});

void DOCKER;
