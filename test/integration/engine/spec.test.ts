// Specs from the engine's spec builder, run with the runtime library on a busybox rootfs: what the
// probe sees from inside must be what it would see in a `docker run` container.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Runtime } from '../../../src/runtime/container/runtime.js';
import { capNumber, lastCap } from '../../../src/runtime/caps.js';
import { DOCKER_DEFAULT_CAPS } from '../../../src/runtime/spec/defaults.js';
import { validateSpec } from '../../../src/runtime/spec/validate.js';
import { buildContainerSpec, type SpecInput } from '../../../src/engine/spec-builder.js';
import type { ContainerConfig, HostConfig } from '../../../src/engine/types.js';
import { removeCgroupTree } from '../../fixtures/cgroup.js';
import { makeBusyboxRootfs, probeBinary, rootSkipReason, tempDir } from '../../fixtures/rootfs.js';
import { collectOutput } from '../../fixtures/process.js';

const TINI = '/usr/bin/tini-static';
const skip = rootSkipReason() ?? (existsSync(probeBinary) ? undefined : `needs the probe (${probeBinary}): make -C native`);

type Facts = Record<string, any>;
const hex = (m: bigint) => m.toString(16).padStart(16, '0');
const maskOf = (names: readonly string[]) => names.reduce((m, n) => m | (1n << BigInt(capNumber(n)!)), 0n);

describe('engine specs seen from inside the container', { skip }, () => {
  let tmp: { path: string; cleanup: () => void };
  let rt: Runtime;
  let n = 0;
  const group = `berth-spec-${process.pid}`;

  before(() => {
    tmp = tempDir('berth-spec-');
    rt = new Runtime({ root: join(tmp.path, 'state') });
  });
  after(async () => {
    for (const c of await rt.list()) await rt.delete(c.id, true).catch(() => {});
    removeCgroupTree(group);
    tmp.cleanup();
  });

  /** Builds the spec for a Docker-style container, writes the bundle, runs it to completion. */
  async function run(cfg: ContainerConfig, hc: HostConfig = {}, extra: Partial<SpecInput> = {}): Promise<{ out: string; err: string; code: number; id: string; warnings: string[] }> {
    const k = ++n;
    const id = `${k.toString(16).padStart(4, '0')}${'ab'.repeat(30)}`;
    const bundle = join(tmp.path, `b${k}`);
    const rootfs = makeBusyboxRootfs(join(bundle, 'rootfs'));
    const containerDir = join(bundle, 'ctr');
    mkdirSync(containerDir);
    writeFileSync(join(containerDir, 'hostname'), `${id.slice(0, 12)}\n`);
    writeFileSync(join(containerDir, 'hosts'), '127.0.0.1\tlocalhost\n');
    writeFileSync(join(containerDir, 'resolv.conf'), 'nameserver 192.0.2.53\n');
    const { spec, warnings } = buildContainerSpec({
      id, config: cfg, hostConfig: hc, rootfs, containerDir, cgroupsPath: `${group}/c${k}`, namespaces: {}, ...extra,
    });
    validateSpec(JSON.parse(JSON.stringify(spec)));
    writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec, null, 2));
    const cid = `spec${k}`;
    const { child, immediate } = await rt.createForRun(cid, bundle, { stdio: ['ignore', 'pipe', 'pipe'] });
    const res = collectOutput(child);
    await rt.startForRun(cid, immediate);
    const r = await res;
    await rt.delete(cid, true);
    return { ...r, id, warnings };
  }

  async function facts(cfg: ContainerConfig = {}, hc: HostConfig = {}, extra: Partial<SpecInput> = {}): Promise<Facts & { _id: string }> {
    const r = await run({ Cmd: ['/probe'], ...cfg }, hc, extra);
    assert.equal(r.code, 0, r.err);
    return { ...JSON.parse(r.out), _id: r.id };
  }

  async function sh(script: string, hc: HostConfig = {}, cfg: ContainerConfig = {}, extra: Partial<SpecInput> = {}) {
    return run({ Cmd: ['/bin/sh', '-c', script], ...cfg }, hc, extra);
  }

  const mountAt = (f: Facts, target: string): Facts => (f.mounts as Facts[]).filter((m) => m.target === target).at(-1) as Facts;

  it("the default container: Docker's 14 caps, seccomp filter, hostname, env, user, mounts", async () => {
    const f = await facts();
    const caps = hex(maskOf(DOCKER_DEFAULT_CAPS));
    assert.equal(f.caps.CapBnd, caps);
    assert.equal(f.caps.CapEff, caps);
    assert.equal(f.caps.CapPrm, caps);
    assert.equal(f.caps.CapInh, '0000000000000000');
    assert.equal(f.caps.CapAmb, '0000000000000000');
    assert.equal(f.seccomp, 2);
    assert.equal(f.noNewPrivs, 0);
    assert.equal(f.hostname, f._id.slice(0, 12));
    assert.deepEqual(f.uid, [0, 0, 0]);
    assert.deepEqual(f.groups, [0]);
    assert.equal(f.pid, 1);
    assert.equal(f.cwd, '/');
    assert.deepEqual([...f.env].sort(), [`HOME=/root`, `HOSTNAME=${f._id.slice(0, 12)}`, 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']);
    // Read-only /sys and /proc/sys, a 64M /dev/shm, the network files bound from the container dir.
    assert.match(mountAt(f, '/sys').options, /(^|,)ro(,|$)/);
    assert.match(mountAt(f, '/proc/sys').options, /(^|,)ro(,|$)/);
    assert.match(mountAt(f, '/sys/fs/cgroup').options, /(^|,)ro(,|$)/);
    const shm = mountAt(f, '/dev/shm');
    assert.equal(shm.fstype, 'tmpfs');
    assert.match(shm.superOptions, /size=65536k/);
    assert.match(shm.options, /nosuid,nodev,noexec/);
    assert.equal(mountAt(f, '/dev/mqueue').fstype, 'mqueue');
    assert.match(mountAt(f, '/dev/pts').superOptions, /gid=5,mode=620,ptmxmode=666/);
    for (const p of ['/etc/hosts', '/etc/hostname', '/etc/resolv.conf']) assert.ok(mountAt(f, p), `${p} is a bind mount`);
    assert.match(mountAt(f, '/etc/hosts').options, /^rw/);
    // New namespaces, time included where the kernel has it.
    assert.notEqual(f.namespaces.net, (await hostNs()).net);
  });

  it('masked paths are covered, and the network files have their content', async () => {
    const r = await run({ Cmd: ['/probe', 'stat', '/proc/kcore', '/proc/keys', '/proc/timer_list'] });
    assert.equal(r.code, 0, r.err);
    for (const s of JSON.parse(r.out) as Facts[]) {
      if (s.errno) continue; // not on this kernel
      assert.equal(s.type, 'char', s.path);
      assert.deepEqual(s.rdev, [1, 3], `${s.path} is /dev/null`);
    }
    const t = await sh('ls /sys/firmware | wc -l; cat /etc/resolv.conf; echo x > /proc/sysrq-trigger && echo writable');
    assert.match(t.out, /^0\nnameserver 192.0.2.53\n/);
    assert.doesNotMatch(t.out, /writable/);
  });

  it('a named user from /etc/passwd (nobody), with its home', async () => {
    const f = await facts({ User: 'nobody' });
    assert.deepEqual(f.uid, [65534, 65534, 65534]);
    assert.deepEqual(f.gid, [65534, 65534, 65534]);
    assert.deepEqual(f.groups, [65534]);
    assert.ok(f.env.includes('HOME=/nonexistent'));
    // A non-root user keeps the bounding set but has no effective caps, as in Docker.
    assert.equal(f.caps.CapEff, '0000000000000000');
    assert.equal(f.caps.CapBnd, hex(maskOf(DOCKER_DEFAULT_CAPS)));
  });

  it('a memory limit lands in the container cgroup; pids limit too', async () => {
    const r = await sh('cat /sys/fs/cgroup/memory/memory.limit_in_bytes; cat /sys/fs/cgroup/pids/pids.max', { Memory: 64 * 1024 * 1024, PidsLimit: 77 });
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(r.out.trim().split('\n'), [String(64 * 1024 * 1024), '77']);
  });

  it('ulimit nofile, and the daemon default for the rest', async () => {
    const f = await facts({}, { Ulimits: [{ Name: 'nofile', Soft: 1234, Hard: 5678 }] }, { defaultUlimits: [{ Name: 'nproc', Soft: 300, Hard: 400 }, { Name: 'nofile', Soft: 1, Hard: 1 }] });
    assert.deepEqual(f.rlimits.NOFILE, [1234, 5678]);
    assert.deepEqual(f.rlimits.NPROC, [300, 400]);
  });

  it('--security-opt no-new-privileges, seccomp=unconfined', async () => {
    const f = await facts({}, { SecurityOpt: ['no-new-privileges', 'seccomp=unconfined'] });
    assert.equal(f.noNewPrivs, 1);
    assert.equal(f.seccomp, 0);
  });

  it('--privileged: all caps, no seccomp, /sys read-write, host devices', async () => {
    const f = await facts({}, { Privileged: true });
    // "All" is what the daemon holds (dockerd: its own CapEff), every cap the kernel has when root.
    const own = /^CapEff:\s*([0-9a-f]+)/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]!;
    const all = hex(BigInt(`0x${own}`));
    assert.ok(BigInt(`0x${all}`) <= (1n << BigInt(lastCap() + 1)) - 1n);
    assert.equal(f.caps.CapBnd, all);
    assert.equal(f.caps.CapEff, all);
    assert.equal(f.seccomp, 0);
    assert.doesNotMatch(mountAt(f, '/sys').options, /(^|,)ro(,|$)/);
    assert.equal(mountAt(f, '/proc/sys'), undefined, 'no read-only /proc/sys');
    const r = await sh('test -c /dev/kmsg && echo kmsg', { Privileged: true });
    assert.match(r.out, /kmsg/);
  });

  it('--read-only: the root is read-only, the tmpfs mounts are not', async () => {
    const r = await sh('touch /x 2>&1; touch /run/t/y && echo tmpfs-ok; touch /dev/shm/z && echo shm-ok', { ReadonlyRootfs: true, Tmpfs: { '/run/t': '' } });
    assert.match(r.out, /Read-only file system/);
    assert.match(r.out, /tmpfs-ok/);
    assert.match(r.out, /shm-ok/);
  });

  it('--tmpfs /x:rw,size=64m', async () => {
    const f = await facts({}, { Tmpfs: { '/x': 'rw,size=64m' } });
    const m = mountAt(f, '/x');
    assert.equal(m.fstype, 'tmpfs');
    assert.match(m.superOptions, /size=65536k/);
    assert.match(m.options, /^rw,nosuid,nodev,noexec/);
  });

  it('--init: pid 1 is tini (docker-init), the command its child', { skip: existsSync(TINI) ? undefined : `${TINI} missing: apt-get install tini` }, async () => {
    const r = await sh('readlink /proc/1/exe; tr "\\0" " " < /proc/1/cmdline; echo; echo $$', { Init: true }, {}, { initBinary: TINI });
    assert.equal(r.code, 0, r.err);
    const [exe, cmdline, self] = r.out.trim().split('\n');
    assert.equal(exe, '/sbin/docker-init');
    assert.match(cmdline ?? '', /^\/sbin\/docker-init -- \/bin\/sh -c /);
    assert.notEqual(self, '1');
  });

  it('--cap-drop ALL --cap-add NET_BIND_SERVICE', async () => {
    const f = await facts({}, { CapDrop: ['ALL'], CapAdd: ['NET_BIND_SERVICE'] });
    const want = hex(1n << BigInt(capNumber('CAP_NET_BIND_SERVICE')!));
    assert.equal(f.caps.CapBnd, want);
    assert.equal(f.caps.CapEff, want);
    assert.equal(f.seccomp, 2);
  });
});

async function hostNs(): Promise<Record<string, string>> {
  const { readlinkSync } = await import('node:fs');
  return { net: readlinkSync('/proc/self/ns/net') };
}
