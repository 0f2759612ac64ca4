// Tests for the Docker container -> OCI spec translation: the default container against the shape
// dockerd writes (moby daemon/oci_linux.go + oci/defaults.go), and a table of HostConfig cases.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CAPABILITIES } from '../runtime/caps.js';
import { dockerDefaultSeccomp } from '../runtime/seccomp.js';
import { DOCKER_DEFAULT_CAPS, DOCKER_MASKED_PATHS, DOCKER_READONLY_PATHS } from '../runtime/spec/defaults.js';
import type { Mount, Spec } from '../runtime/spec/types.js';
import { validateSpec } from '../runtime/spec/validate.js';
import { schemasMissing, schemaValidator } from '../../test/fixtures/schemas.js';
import {
  buildContainerSpec, containerEnv, mergeTmpfsOptions, parseSecurityOpts, tweakCapabilities, type SpecHost, type SpecInput,
} from './spec-builder.js';
import { buildRlimits, devNumbers, parseDeviceCgroupRule } from './spec-resources.js';
import type { ContainerConfig, HostConfig } from './types.js';

const ID = '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef';
const HOST: SpecHost = {
  cgroup2: false,
  swapLimit: true,
  numCpus: 4,
  cpus: '0-3',
  mems: '0',
  allCaps: [...CAPABILITIES],
  timeNamespace: true,
  sysctlExists: () => true,
  thermalThrottlePaths: [],
  hostname: 'dockerhost',
  arch: 'amd64',
  kernelRelease: '6.1.0',
  hostDevices: () => [{ type: 'c', path: '/dev/kmsg', major: 1, minor: 11, fileMode: 0o644, uid: 0, gid: 0 }],
};
const noSchemas = schemasMissing('oci-runtime-spec-schema');

describe('buildContainerSpec', () => {
  let dir: string;
  let rootfs: string;
  let containerDir: string;
  let schema: ReturnType<typeof schemaValidator> | undefined;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'berth-spec-unit-'));
    rootfs = join(dir, 'rootfs');
    containerDir = join(dir, 'ctr');
    mkdirSync(join(rootfs, 'etc'), { recursive: true });
    mkdirSync(containerDir);
    writeFileSync(join(rootfs, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\nweb:x:1000:1000::/home/web:/bin/sh\n');
    writeFileSync(join(rootfs, 'etc', 'group'), 'root:x:0:\nwheel:x:10:web\nweb:x:1000:\nnogroup:x:65534:\n');
    for (const f of ['hostname', 'hosts', 'resolv.conf']) writeFileSync(join(containerDir, f), '');
    if (!noSchemas) schema = schemaValidator('oci-runtime-spec-schema', 'config-schema.json');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  function input(hc: HostConfig = {}, cfg: ContainerConfig = {}, extra: Partial<SpecInput> = {}): SpecInput {
    return {
      id: ID,
      config: { Cmd: ['sh'], ...cfg },
      hostConfig: hc,
      rootfs,
      containerDir,
      cgroupsPath: `/docker/${ID}`,
      namespaces: {},
      host: HOST,
      ...extra,
    };
  }

  /** Builds, and checks the result passes our validator and the OCI schema. */
  function build(hc: HostConfig = {}, cfg: ContainerConfig = {}, extra: Partial<SpecInput> = {}): { spec: Spec; warnings: string[] } {
    const r = buildContainerSpec(input(hc, cfg, extra));
    const json = JSON.parse(JSON.stringify(r.spec));
    validateSpec(json, { isHostNamespace: () => false });
    if (schema) assert.ok(schema(json), JSON.stringify(schema.errors, null, 1));
    return r;
  }

  const mount = (s: Spec, dest: string): Mount | undefined => s.mounts?.find((m) => m.destination === dest);

  it("the default container is dockerd's spec", () => {
    const { spec, warnings } = build();
    assert.deepEqual(warnings, []);
    const caps = [...DOCKER_DEFAULT_CAPS];
    const devRules = [
      { allow: false, access: 'rwm' },
      { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm' },
      { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
      { allow: true, type: 'c', major: 1, minor: 9, access: 'rwm' },
      { allow: true, type: 'c', major: 1, minor: 8, access: 'rwm' },
      { allow: true, type: 'c', major: 5, minor: 0, access: 'rwm' },
      { allow: true, type: 'c', major: 5, minor: 1, access: 'rwm' },
      { allow: false, type: 'c', major: 10, minor: 229, access: 'rwm' },
    ];
    const expected: Spec = {
      ociVersion: '1.2.0',
      process: {
        terminal: false,
        user: { uid: 0, gid: 0, additionalGids: [0] },
        args: ['sh'],
        env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOSTNAME=0123456789ab', 'HOME=/root'],
        cwd: '/',
        capabilities: { bounding: caps, effective: caps, permitted: caps },
        oomScoreAdj: 0,
      },
      root: { path: rootfs },
      hostname: '0123456789ab',
      mounts: [
        { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
        { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
        { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
        { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
        { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['ro', 'nosuid', 'noexec', 'nodev'] },
        { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
        { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=67108864'] },
        { destination: '/etc/resolv.conf', type: 'bind', source: join(containerDir, 'resolv.conf'), options: ['rbind', 'rprivate'] },
        { destination: '/etc/hostname', type: 'bind', source: join(containerDir, 'hostname'), options: ['rbind', 'rprivate'] },
        { destination: '/etc/hosts', type: 'bind', source: join(containerDir, 'hosts'), options: ['rbind', 'rprivate'] },
      ],
      linux: {
        sysctl: { 'net.ipv4.ping_group_range': '0 2147483647', 'net.ipv4.ip_unprivileged_port_start': '0' },
        resources: { devices: [...devRules, ...devRules], memory: { disableOOMKiller: false }, blockIO: {} },
        cgroupsPath: `/docker/${ID}`,
        namespaces: [{ type: 'mount' }, { type: 'network' }, { type: 'time' }, { type: 'uts' }, { type: 'pid' }, { type: 'ipc' }],
        maskedPaths: [...DOCKER_MASKED_PATHS],
        readonlyPaths: [...DOCKER_READONLY_PATHS],
        devices: [],
        seccomp: dockerDefaultSeccomp({ capabilities: caps, arch: 'amd64', kernelRelease: '6.1.0' }),
      },
    };
    assert.deepEqual(JSON.parse(JSON.stringify(spec)), JSON.parse(JSON.stringify(expected)));
  });

  it('cgroup v2 hosts: a private cgroup namespace, no swappiness or OOM-killer switch', () => {
    const { spec, warnings } = build({ MemorySwappiness: 10, OomKillDisable: true, Memory: 64 << 20 }, {}, { host: { ...HOST, cgroup2: true } });
    assert.deepEqual(spec.linux!.namespaces!.at(-1), { type: 'cgroup' });
    assert.deepEqual(spec.linux!.resources!.memory, { limit: 64 << 20, swap: 128 << 20 });
    assert.equal(warnings.length, 2);
    assert.ok(!build({ CgroupnsMode: 'host' }, {}, { host: { ...HOST, cgroup2: true } }).spec.linux!.namespaces!.some((n) => n.type === 'cgroup'));
    assert.ok(build({ CgroupnsMode: 'private' }).spec.linux!.namespaces!.some((n) => n.type === 'cgroup'));
  });

  it('process: Entrypoint + Cmd, env merging, Tty, WorkingDir, console size, hostname, domainname', () => {
    const { spec } = build({ ConsoleSize: [40, 120] }, {
      Entrypoint: ['/bin/entry', '-x'], Cmd: ['a', 'b'], Tty: true, WorkingDir: '/srv',
      Env: ['PATH=/opt/bin', 'FOO=bar', 'HOSTNAME', 'HOME='], Hostname: 'web', Domainname: 'example.org',
    });
    const p = spec.process!;
    assert.deepEqual(p.args, ['/bin/entry', '-x', 'a', 'b']);
    assert.deepEqual(p.env, ['PATH=/opt/bin', 'TERM=xterm', 'FOO=bar', 'HOME=/root']);
    assert.equal(p.terminal, true);
    assert.equal(p.cwd, '/srv');
    assert.deepEqual(p.consoleSize, { height: 40, width: 120 });
    assert.equal(spec.hostname, 'web');
    assert.equal(spec.linux!.sysctl!['kernel.domainname'], 'example.org');
    assert.deepEqual(build({}, { Entrypoint: ['/e'], Cmd: null }).spec.process!.args, ['/e']);
    assert.deepEqual(build({}, { Env: ['HOME=/data'] }).spec.process!.env!.at(-1), 'HOME=/data');
  });

  it('user: name, uid, name:group, GroupAdd and membership groups; HOME from passwd', () => {
    const u = (user: string, groupAdd?: string[]) => build({ GroupAdd: groupAdd ?? null }, { User: user }).spec.process!;
    assert.deepEqual(u('nobody').user, { uid: 65534, gid: 65534, additionalGids: [65534] });
    assert.ok(u('nobody').env!.includes('HOME=/nonexistent'));
    assert.deepEqual(u('web').user, { uid: 1000, gid: 1000, additionalGids: [1000, 10] });
    assert.deepEqual(u('web:nogroup').user, { uid: 1000, gid: 65534, additionalGids: [65534] });
    assert.deepEqual(u('4242:4343').user, { uid: 4242, gid: 4343, additionalGids: [4343] });
    assert.ok(u('4242').env!.includes('HOME=/'));
    assert.deepEqual(u('1000', ['wheel', '77']).user, { uid: 1000, gid: 1000, additionalGids: [1000, 10, 10, 77] });
    assert.throws(() => build({}, { User: 'xyz' }), /unable to find user xyz: no matching entries in passwd file/);
  });

  it("errors with Docker's texts", () => {
    const cases: Array<[HostConfig, ContainerConfig, RegExp]> = [
      [{}, { Cmd: [] }, /^BerthError: no command specified$/],
      [{ Memory: 1024 }, {}, /^BerthError: Minimum memory limit allowed is 6MB$/],
      [{ MemoryReservation: 1024 }, {}, /Minimum memory reservation allowed is 6MB/],
      [{ Memory: 64 << 20, MemorySwap: 32 << 20 }, {}, /Minimum memoryswap limit should be larger than memory limit, see usage/],
      [{ MemorySwap: 32 << 20 }, {}, /You should always set the Memory limit when using Memoryswap limit, see usage/],
      [{ Memory: 8 << 20, MemoryReservation: 16 << 20 }, {}, /Minimum memory limit can not be less than memory reservation limit, see usage/],
      [{ MemorySwappiness: 101 }, {}, /Invalid value: 101, valid memory swappiness range is 0-100/],
      [{ NanoCpus: 1e9, CpuPeriod: 50000 }, {}, /^BerthError: Conflicting options: Nano CPUs and CPU Period cannot both be set$/],
      [{ NanoCpus: 1e9, CpuQuota: 50000 }, {}, /Conflicting options: Nano CPUs and CPU Quota cannot both be set/],
      [{ NanoCpus: 5e9 }, {}, /range of CPUs is from 0.01 to 4.00, as there are only 4 CPUs available/],
      [{ CpuPeriod: 500 }, {}, /CPU cfs period can not be less than 1ms \(i.e. 1000\) or larger than 1s \(i.e. 1000000\)/],
      [{ CpuQuota: 500 }, {}, /CPU cfs quota can not be less than 1ms \(i.e. 1000\)/],
      [{ CpusetCpus: '0-7' }, {}, /Requested CPUs are not available - requested 0-7, available: 0-3/],
      [{ CpusetCpus: 'x' }, {}, /Invalid value x for cpuset cpus: invalid format: x/],
      [{ BlkioWeight: 5 }, {}, /Range of blkio weight is from 10 to 1000/],
      [{ OomScoreAdj: 1001 }, {}, /Invalid value 1001, range for oom score adj is \[-1000, 1000\]/],
      [{ ShmSize: -1 }, {}, /SHM size can not be less than 0/],
      [{ IpcMode: 'bogus' }, {}, /invalid IPC mode: bogus/],
      [{ PidMode: 'bogus' }, {}, /invalid PID mode: bogus/],
      [{ UTSMode: 'container:x' }, {}, /invalid UTS mode: container:x/],
      [{ CgroupnsMode: 'bogus' as 'host' }, {}, /invalid cgroup namespace mode: bogus/],
      [{ SecurityOpt: ['bogus'] }, {}, /invalid --security-opt 1: "bogus"/],
      [{ SecurityOpt: ['foo=bar'] }, {}, /invalid --security-opt 2: "foo=bar"/],
      [{ SecurityOpt: ['no-new-privileges=maybe'] }, {}, /invalid --security-opt 2: "no-new-privileges=maybe"/],
      [{ SecurityOpt: ['seccomp={not json'] }, {}, /Decoding seccomp profile failed/],
      [{ CapAdd: ['BOGUS'] }, {}, /invalid CapAdd: unknown capability: "CAP_BOGUS"/],
      [{ CapDrop: ['cap_nope'] }, {}, /invalid CapDrop: unknown capability: "CAP_NOPE"/],
      [{ Tmpfs: { '/': '' } }, {}, /invalid specification: destination can't be '\/'/],
      [{ Tmpfs: { 'rel': '' } }, {}, /invalid mount path: 'rel' mount path must be absolute/],
      [{ Tmpfs: { '/x': 'bogus=1' } }, {}, /invalid tmpfs option "bogus"/],
      [{ Devices: [{ PathOnHost: '/dev/nope-nope', PathInContainer: '/dev/x', CgroupPermissions: 'rwm' }] }, {},
        /error gathering device information while adding custom device "\/dev\/nope-nope"/],
      [{ DeviceCgroupRules: ['c 1:3 xyz'] }, {}, /invalid device cgroup rule format: 'c 1:3 xyz'/],
      [{ BlkioDeviceReadBps: [{ Path: '/dev/nope-nope', Rate: 1 }] }, {}, /stat \/dev\/nope-nope: no such file or directory/],
      [{ Ulimits: [{ Name: 'nofile', Soft: 10, Hard: 5 }] }, {}, /ulimit soft limit must be less than or equal to hard limit: 10 > 5/],
      [{ Ulimits: [{ Name: 'bogus', Soft: 1, Hard: 1 }] }, {}, /invalid ulimit type: bogus/],
      [{ Annotations: { '': 'x' } }, {}, /invalid Annotations: the empty string is not permitted as an annotation key/],
      [{}, { WorkingDir: 'rel' }, /the working directory 'rel' is invalid, it needs to be an absolute path/],
      [{}, { Hostname: 'h'.repeat(65) }, /is too long \(maximum 64 bytes\)/],
      [{ Init: true }, {}, /--init: no init binary/],
    ];
    for (const [hc, cfg, re] of cases) assert.throws(() => build(hc, cfg), re, JSON.stringify(hc) + JSON.stringify(cfg));
  });

  it('HostConfig -> spec fragments', () => {
    type Case = [string, HostConfig, (s: Spec, w: string[]) => void, Partial<SpecInput>?];
    const cases: Case[] = [
      ['Memory, swap default 2x, reservation, swappiness, OomKillDisable', { Memory: 64 << 20, MemoryReservation: 32 << 20, MemorySwappiness: 0, OomKillDisable: true },
        (s) => assert.deepEqual(s.linux!.resources!.memory, { limit: 64 << 20, reservation: 32 << 20, swap: 128 << 20, swappiness: 0, disableOOMKiller: true })],
      ['MemorySwap -1 is unlimited (no swap field)', { Memory: 64 << 20, MemorySwap: -1 },
        (s) => assert.deepEqual(s.linux!.resources!.memory, { limit: 64 << 20, disableOOMKiller: false })],
      ['no swap accounting: warning, swap dropped', { Memory: 64 << 20 }, (s, w) => {
        assert.equal(s.linux!.resources!.memory!.swap, undefined);
        assert.match(w[0]!, /does not support swap limit capabilities/);
      }, { host: { ...HOST, swapLimit: false } }],
      ['OomKillDisable without memory warns', { OomKillDisable: true }, (_s, w) => assert.match(w[0]!, /OOM killer is disabled for the container, but no memory limit is set/)],
      ['NanoCpus -> 100ms period and quota', { NanoCpus: 1.5e9 }, (s) => assert.deepEqual(s.linux!.resources!.cpu, { period: 100000, quota: 150000 })],
      ['CpuShares, CpuQuota, CpuPeriod, cpuset', { CpuShares: 512, CpuQuota: 20000, CpuPeriod: 50000, CpusetCpus: '0-1', CpusetMems: '0' },
        (s) => assert.deepEqual(s.linux!.resources!.cpu, { shares: 512, cpus: '0-1', mems: '0', period: 50000, quota: 20000 })],
      ['PidsLimit 0 and -1 are unlimited, null is unset', { PidsLimit: 0 }, (s) => assert.deepEqual(s.linux!.resources!.pids, { limit: -1 })],
      ['PidsLimit 100', { PidsLimit: 100 }, (s) => assert.deepEqual(s.linux!.resources!.pids, { limit: 100 })],
      ['PidsLimit null', { PidsLimit: null }, (s) => assert.equal(s.linux!.resources!.pids, undefined)],
      ['Blkio weight and device throttles by stat', { BlkioWeight: 300, BlkioWeightDevice: [{ Path: '/dev/null', Weight: 200 }], BlkioDeviceReadBps: [{ Path: '/dev/null', Rate: 1048576 }], BlkioDeviceWriteIOps: [{ Path: '/dev/zero', Rate: 10 }] },
        (s) => assert.deepEqual(s.linux!.resources!.blockIO, {
          weight: 300, weightDevice: [{ major: 1, minor: 3, weight: 200 }],
          throttleReadBpsDevice: [{ major: 1, minor: 3, rate: 1048576 }], throttleWriteIOPSDevice: [{ major: 1, minor: 5, rate: 10 }],
        })],
      ['Ulimits with daemon defaults for the rest', { Ulimits: [{ Name: 'nofile', Soft: 1024, Hard: 2048 }] },
        (s) => assert.deepEqual(s.process!.rlimits, [{ type: 'RLIMIT_NOFILE', soft: 1024, hard: 2048 }, { type: 'RLIMIT_NPROC', soft: 100, hard: 200 }]),
        { defaultUlimits: [{ Name: 'nofile', Soft: 1, Hard: 1 }, { Name: 'nproc', Soft: 100, Hard: 200 }] }],
      ['OomScoreAdj', { OomScoreAdj: 300 }, (s) => assert.equal(s.process!.oomScoreAdj, 300)],
      ['Sysctls override the defaults', { Sysctls: { 'net.ipv4.ip_unprivileged_port_start': '1024', 'kernel.shmmax': '1000' } }, (s) => assert.deepEqual(s.linux!.sysctl, {
        'net.ipv4.ping_group_range': '0 2147483647', 'net.ipv4.ip_unprivileged_port_start': '1024', 'kernel.shmmax': '1000',
      })],
      ['CapAdd/CapDrop, any case, with or without CAP_', { CapAdd: ['sys_admin', 'CAP_NET_ADMIN'], CapDrop: ['mknod', 'Cap_Chown'] }, (s) => {
        const want = [...DOCKER_DEFAULT_CAPS.filter((c) => c !== 'CAP_MKNOD' && c !== 'CAP_CHOWN'), 'CAP_SYS_ADMIN', 'CAP_NET_ADMIN'];
        assert.deepEqual(s.process!.capabilities, { bounding: want, effective: want, permitted: want });
        // The seccomp profile follows the caps: CAP_SYS_ADMIN opens mount & co.
        assert.ok(s.linux!.seccomp!.syscalls!.some((r) => r.names.includes('mount')));
      }],
      ['--cap-drop ALL --cap-add NET_BIND_SERVICE', { CapDrop: ['ALL'], CapAdd: ['NET_BIND_SERVICE'] },
        (s) => assert.deepEqual(s.process!.capabilities!.bounding, ['CAP_NET_BIND_SERVICE'])],
      ['--cap-add ALL --cap-drop kill', { CapAdd: ['all'], CapDrop: ['kill'] },
        (s) => assert.deepEqual(s.process!.capabilities!.bounding, CAPABILITIES.filter((c) => c !== 'CAP_KILL'))],
      ['seccomp=unconfined', { SecurityOpt: ['seccomp=unconfined'] }, (s) => assert.equal(s.linux!.seccomp, undefined)],
      ['seccomp=<profile JSON> (what the docker CLI sends)', { SecurityOpt: [`seccomp=${JSON.stringify({ defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 1, archMap: [{ architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86'] }], syscalls: [{ names: ['read', 'write'], action: 'SCMP_ACT_ALLOW' }, { names: ['ptrace'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_PTRACE'] } }] })}`] },
        (s) => assert.deepEqual(s.linux!.seccomp, { defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 1, architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'], syscalls: [{ names: ['read', 'write'], action: 'SCMP_ACT_ALLOW' }] })],
      ['no-new-privileges, no-new-privileges:true, =false', { SecurityOpt: ['no-new-privileges'] }, (s) => assert.equal(s.process!.noNewPrivileges, true)],
      ['no-new-privileges:true (legacy colon)', { SecurityOpt: ['no-new-privileges:true'] }, (s) => assert.equal(s.process!.noNewPrivileges, true)],
      ['no-new-privileges=false beats the daemon default', { SecurityOpt: ['no-new-privileges=false'] }, (s) => assert.equal(s.process!.noNewPrivileges, undefined), { noNewPrivileges: true }],
      ['apparmor= and label= are ignored with warnings', { SecurityOpt: ['apparmor=unconfined', 'label=disable'] }, (s, w) => {
        assert.equal(w.length, 2);
        assert.equal(s.process!.apparmorProfile, undefined);
      }],
      ['--privileged: all caps, unconfined, all devices, rw /sys and cgroup, no masked paths', { Privileged: true }, (s) => {
        assert.deepEqual(s.process!.capabilities!.bounding, [...CAPABILITIES]);
        assert.equal(s.linux!.seccomp, undefined);
        assert.deepEqual(s.linux!.devices, HOST.hostDevices());
        assert.deepEqual(s.linux!.resources!.devices!.at(-1), { allow: true, access: 'rwm' });
        assert.deepEqual(mount(s, '/sys')!.options, ['nosuid', 'noexec', 'nodev']);
        assert.deepEqual(mount(s, '/sys/fs/cgroup')!.options, ['nosuid', 'noexec', 'nodev']);
        assert.equal(s.linux!.maskedPaths, undefined);
        assert.equal(s.linux!.readonlyPaths, undefined);
        assert.ok(!s.linux!.namespaces!.some((n) => n.type === 'cgroup'), 'privileged on v1: host cgroupns');
      }],
      ['--privileged with an explicit profile keeps it', { Privileged: true, SecurityOpt: [`seccomp=${JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [] })}`] },
        (s) => assert.deepEqual(s.linux!.seccomp, { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [] })],
      ['MaskedPaths/ReadonlyPaths override, even privileged', { Privileged: true, MaskedPaths: ['/proc/kcore'], ReadonlyPaths: [] }, (s) => {
        assert.deepEqual(s.linux!.maskedPaths, ['/proc/kcore']);
        assert.deepEqual(s.linux!.readonlyPaths, []);
      }],
      ['--read-only: root ro, network files ro, default mounts untouched', { ReadonlyRootfs: true }, (s) => {
        assert.deepEqual(s.root, { path: rootfs, readonly: true });
        assert.deepEqual(mount(s, '/etc/hosts')!.options, ['rbind', 'ro', 'rprivate']);
        assert.deepEqual(mount(s, '/dev/shm')!.options, ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=67108864']);
        assert.deepEqual(mount(s, '/proc')!.options, ['nosuid', 'noexec', 'nodev']);
      }],
      ['--tmpfs /x:rw,size=64m and ShmSize', { Tmpfs: { '/run/x': 'rw,size=64m', '/tmp': '' }, ShmSize: 1 << 20 }, (s) => {
        assert.deepEqual(mount(s, '/run/x'), { destination: '/run/x', type: 'tmpfs', source: 'tmpfs', options: ['noexec', 'nosuid', 'nodev', 'rprivate', 'rw', 'size=64m'] });
        assert.deepEqual(mount(s, '/tmp'), { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['noexec', 'nosuid', 'nodev', 'rprivate'] });
        assert.ok(mount(s, '/dev/shm')!.options!.includes('size=1048576'));
        // Sorted by depth after the defaults; equal depths keep dockerd's order (tmpfs, then the network files).
        const dests = s.mounts!.slice(7).map((m) => m.destination);
        assert.deepEqual(dests, ['/tmp', '/run/x', '/etc/resolv.conf', '/etc/hostname', '/etc/hosts']);
      }],
      ['--tmpfs /dev/shm replaces the default one', { Tmpfs: { '/dev/shm': 'size=1m' } }, (s) => {
        assert.equal(s.mounts!.filter((m) => m.destination === '/dev/shm').length, 1);
        assert.equal(mount(s, '/dev/shm')!.source, 'tmpfs');
      }],
      ['volumes: rbind, ro, propagation; rootfs propagation follows', {}, (s) => {
        assert.deepEqual(mount(s, '/data'), { destination: '/data', type: 'bind', source: '/srv/data', options: ['rbind', 'rprivate'] });
        assert.deepEqual(mount(s, '/data/ro'), { destination: '/data/ro', type: 'bind', source: '/srv/ro', options: ['rbind', 'ro'] });
        assert.deepEqual(mount(s, '/mnt'), { destination: '/mnt', type: 'bind', source: '/srv/mnt', options: ['rbind', 'rslave'] });
        assert.equal(s.linux!.rootfsPropagation, undefined, 'rslave is the runtime default; the schema has no rslave');
        assert.equal(mount(s, '/etc/hosts')!.source, '/srv/hosts', 'a user mount replaces the network file');
        const dests = s.mounts!.slice(7).map((m) => m.destination);
        assert.deepEqual(dests, ['/data', '/mnt', '/data/ro', '/etc/hosts', '/etc/resolv.conf', '/etc/hostname']);
      }, { volumeMounts: [
        { source: '/srv/ro', destination: '/data/ro', readOnly: true },
        { source: '/srv/data', destination: '/data', readOnly: false, propagation: 'rprivate' },
        { source: '/srv/mnt', destination: '/mnt', readOnly: false, propagation: 'rslave' },
        { source: '/srv/hosts', destination: '/etc/hosts', readOnly: false },
      ] }],
      ['bind-recursive=disabled: a plain bind', {}, (s) => {
        assert.deepEqual(mount(s, '/flat'), { destination: '/flat', type: 'bind', source: '/srv/flat', options: ['bind', 'ro'] });
      }, { volumeMounts: [{ source: '/srv/flat', destination: '/flat', readOnly: true, nonRecursive: true }] }],
      ['a shared volume makes the rootfs shared', {}, (s) => assert.equal(s.linux!.rootfsPropagation, 'shared'),
        { volumeMounts: [{ source: '/srv/s', destination: '/s', readOnly: false, propagation: 'rshared' }] }],
      ['--init: tini at /sbin/docker-init, read-only, as the entrypoint', { Init: true }, (s) => {
        assert.deepEqual(s.process!.args, ['/sbin/docker-init', '--', 'sh']);
        assert.deepEqual(s.mounts![7], { destination: '/sbin/docker-init', type: 'bind', source: '/usr/bin/tini-static', options: ['bind', 'ro'] });
      }, { initBinary: '/usr/bin/tini-static' }],
      ['--init with --pid host: no init (the host has one)', { Init: true, PidMode: 'host' }, (s) => {
        assert.deepEqual(s.process!.args, ['sh']);
        assert.ok(!s.linux!.namespaces!.some((n) => n.type === 'pid'));
      }, { initBinary: '/usr/bin/tini-static', namespaces: { pid: 'host' } }],
      ['IpcMode none: no /dev/shm', { IpcMode: 'none' }, (s) => assert.equal(mount(s, '/dev/shm'), undefined)],
      ['IpcMode host: the host /dev/shm, no ipc namespace', { IpcMode: 'host' }, (s) => {
        assert.deepEqual(mount(s, '/dev/shm'), { destination: '/dev/shm', type: 'bind', source: '/dev/shm', options: ['rbind', 'rprivate'] });
        assert.ok(!s.linux!.namespaces!.some((n) => n.type === 'ipc'));
      }, { namespaces: { ipc: 'host' } }],
      ['IpcMode shareable with the engine-made shm dir', { IpcMode: 'shareable' }, (s) => {
        assert.deepEqual(mount(s, '/dev/shm'), { destination: '/dev/shm', type: 'bind', source: '/var/lib/x/shm', options: ['rbind', 'rprivate'] });
      }, { shmDir: '/var/lib/x/shm' }],
      ['IpcMode container: joins the ipc namespace and its /dev/shm', { IpcMode: 'container:abc' }, (s) => {
        assert.deepEqual(s.linux!.namespaces!.find((n) => n.type === 'ipc'), { type: 'ipc', path: '/proc/42/ns/ipc' });
        assert.equal(mount(s, '/dev/shm')!.source, '/var/lib/abc/shm');
      }, { shmDir: '/var/lib/abc/shm', namespaces: { ipc: '/proc/42/ns/ipc' } }],
      ['network host: no netns, host hostname, no net sysctls', { NetworkMode: 'host' }, (s) => {
        assert.ok(!s.linux!.namespaces!.some((n) => n.type === 'network'));
        assert.equal(s.hostname, 'dockerhost');
        assert.deepEqual(s.linux!.sysctl, {});
      }, { namespaces: { network: 'host' } }],
      ['a prepared netns is joined by path', {}, (s) => {
        assert.deepEqual(s.linux!.namespaces![1], { type: 'network', path: '/run/berth/netns/x' });
      }, { namespaces: { network: '/run/berth/netns/x' } }],
      ['UTS host: no hostname, no uts namespace', { UTSMode: 'host' }, (s) => {
        assert.equal(s.hostname, undefined);
        assert.ok(!s.linux!.namespaces!.some((n) => n.type === 'uts'));
      }, { namespaces: { uts: 'host' } }],
      ['Devices: host node at a new path, with permissions', { Devices: [{ PathOnHost: '/dev/null', PathInContainer: '/dev/mynull', CgroupPermissions: 'rw' }] }, (s) => {
        assert.equal(s.linux!.devices!.length, 1);
        const d = s.linux!.devices![0]!;
        assert.deepEqual({ type: d.type, path: d.path, major: d.major, minor: d.minor, fileMode: d.fileMode }, { type: 'c', path: '/dev/mynull', major: 1, minor: 3, fileMode: 0o666 });
        assert.deepEqual(s.linux!.resources!.devices!.at(-1), { allow: true, type: 'c', major: 1, minor: 3, access: 'rw' });
      }],
      ['DeviceCgroupRules', { DeviceCgroupRules: ['c 1:3 rwm', 'b *:* m'] }, (s) => {
        assert.deepEqual(s.linux!.resources!.devices!.slice(-2), [
          { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }, { allow: true, type: 'b', major: -1, minor: -1, access: 'm' },
        ]);
      }],
      ['Annotations and Runtime', { Annotations: { 'org.example/a': 'b' }, Runtime: 'runc' }, (s) => assert.deepEqual(s.annotations, { 'org.example/a': 'b' })],
      ['NetworkDisabled keeps a new network namespace', {}, (s) => assert.deepEqual(s.linux!.namespaces![1], { type: 'network' }), { config: { Cmd: ['sh'], NetworkDisabled: true }, namespaces: { network: '/x' } }],
      ['no time namespace on old kernels', {}, (s) => assert.ok(!s.linux!.namespaces!.some((n) => n.type === 'time')), { host: { ...HOST, timeNamespace: false } }],
      ['thermal_throttle paths are masked where they exist', {}, (s) => assert.equal(s.linux!.maskedPaths!.at(-1), '/sys/devices/system/cpu/cpu0/thermal_throttle'),
        { host: { ...HOST, thermalThrottlePaths: ['/sys/devices/system/cpu/cpu0/thermal_throttle'] } }],
    ];
    for (const [name, hc, check, extra] of cases) {
      const hcCopy = JSON.parse(JSON.stringify(hc));
      const r = build(hc, extra?.config ?? {}, extra ?? {});
      try {
        check(r.spec, r.warnings);
      } catch (err) {
        (err as Error).message = `${name}: ${(err as Error).message}`;
        throw err;
      }
      assert.deepEqual(hc, hcCopy, `${name}: HostConfig left untouched`);
    }
  });
});

describe('helpers', () => {
  it('env: replace, append, unset (NAME alone)', () => {
    assert.deepEqual(containerEnv(['A=1', 'PATH=/x', 'HOSTNAME', 'A=2'], 'h', false), ['PATH=/x', 'A=2']);
    assert.deepEqual(containerEnv([], 'h', true), [`PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`, 'HOSTNAME=h', 'TERM=xterm']);
  });

  it('tmpfs options merge as moby/sys/mount does', () => {
    assert.deepEqual(mergeTmpfsOptions(['noexec', 'nosuid', 'nodev', 'rprivate', 'exec', 'size=1m', 'size=2m', 'shared']), ['nosuid', 'nodev', 'exec', 'size=2m', 'shared']);
    assert.deepEqual(mergeTmpfsOptions(['defaults', 'ro', 'rw', 'mode=1777']), ['rw', 'mode=1777']);
  });

  it('caps: privileged is everything the daemon holds; no tweaks keep Docker order', () => {
    assert.deepEqual(tweakCapabilities({}, CAPABILITIES), DOCKER_DEFAULT_CAPS);
    assert.deepEqual(tweakCapabilities({ Privileged: true, CapDrop: ['ALL'] }, ['CAP_KILL']), ['CAP_KILL']);
    assert.throws(() => tweakCapabilities({ CapAdd: ['SYS_ADMIN'] }, ['CAP_KILL']), /capability not supported by your kernel or not available in the current environment: "CAP_SYS_ADMIN"/);
  });

  it('security opts', () => {
    const w: string[] = [];
    assert.deepEqual(parseSecurityOpts(['seccomp:unconfined', 'no-new-privileges=1', 'writable-cgroups'], false, w), { noNewPrivileges: true, seccompProfile: 'unconfined', writableCgroups: true });
    assert.deepEqual(parseSecurityOpts([], true, w), { noNewPrivileges: true, seccompProfile: '' });
  });

  it('rlimits: -1 is unlimited; dev_t split; cgroup rules', () => {
    assert.deepEqual(buildRlimits([{ Name: 'core', Soft: -1, Hard: -1 }]), [{ type: 'RLIMIT_CORE', soft: 2 ** 64 - 1, hard: 2 ** 64 - 1 }]);
    assert.equal(buildRlimits([]), undefined);
    assert.deepEqual(devNumbers(0x100803), { major: 8, minor: 259 });
    assert.deepEqual(devNumbers((259 << 8) | 1), { major: 259, minor: 1 });
    assert.deepEqual(parseDeviceCgroupRule('a *:* rwm'), { allow: true, type: 'a', major: -1, minor: -1, access: 'rwm' });
  });
});
