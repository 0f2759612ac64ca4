// Each runtime-spec feature, from config.json through the runtime library and berth-init, as the
// probe sees it from inside the container.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Runtime } from '../../../src/runtime/container/runtime.js';
import { initBinaryPath } from '../../../src/runtime/container/init-process.js';
import { dockerDefaultSeccomp } from '../../../src/runtime/seccomp.js';
import { baseConfig } from '../../conformance/runc-cli.js';
import { removeCgroupTree } from '../../fixtures/cgroup.js';
import { haveCommand, makeBundle, rootSkipReason, tempDir } from '../../fixtures/rootfs.js';
import { collectOutput, waitFor } from '../../fixtures/process.js';

type Config = Record<string, any>;
const skip = rootSkipReason();

describe('runtime features seen from inside the container', { skip }, () => {
  let tmp: { path: string; cleanup: () => void };
  let rt: Runtime;
  let n = 0;
  const group = `berth-feat-${process.pid}`;

  before(() => {
    tmp = tempDir('berth-feat-');
    rt = new Runtime({ root: join(tmp.path, 'state') });
  });
  after(async () => {
    for (const c of await rt.list()) await rt.delete(c.id, true).catch(() => {});
    removeCgroupTree(group);
    tmp.cleanup();
  });

  function bundle(args: string[], mutate?: (c: Config) => void): string {
    const dir = join(tmp.path, `b${++n}`);
    const cfg = baseConfig(args, `${group}/c${n}`) as Config;
    mutate?.(cfg);
    return makeBundle(dir, cfg);
  }

  /** Run a container to completion; its stdout, stderr and exit status. */
  async function run(args: string[], mutate?: (c: Config) => void, prepare?: (bundle: string) => void): Promise<{ out: string; err: string; code: number }> {
    const id = `f${++n}`;
    const b = bundle(args, mutate);
    prepare?.(b);
    const { child, immediate } = await rt.createForRun(id, b, { stdio: ['ignore', 'pipe', 'pipe'] });
    const res = collectOutput(child);
    await rt.startForRun(id, immediate);
    const r = await res;
    await rt.delete(id, true);
    return r;
  }

  const facts = async (mutate?: (c: Config) => void, args = ['/probe']) => {
    const r = await run(args, mutate);
    assert.equal(r.code, 0, r.err);
    return JSON.parse(r.out) as Record<string, any>;
  };

  it('user, additional groups, umask, cwd, env, hostname, domainname', async () => {
    const f = await facts((c) => {
      c.process.user = { uid: 1000, gid: 1001, additionalGids: [10, 20], umask: 0o027 };
      c.process.cwd = '/tmp';
      c.process.env.push('GREETING=hello world');
      c.hostname = 'feat-host';
      c.domainname = 'feat.example';
    });
    assert.deepEqual(f.uid, [1000, 1000, 1000]);
    assert.deepEqual(f.gid, [1001, 1001, 1001]);
    assert.deepEqual([...f.groups].sort(), [10, 20]);
    assert.equal(f.umask, '0027');
    assert.equal(f.cwd, '/tmp');
    assert.equal(f.hostname, 'feat-host');
    assert.equal(f.domainname, 'feat.example');
    assert.ok(f.env.includes('GREETING=hello world'));
  });

  it('all five capability sets, no_new_privs off, oom_score_adj, rlimits', async () => {
    // A non-root user: for uid 0, execve makes permitted = bounding whatever the sets say (kernel rule).
    const f = await facts((c) => {
      c.process.user = { uid: 1000, gid: 1000 };
      c.process.capabilities = {
        bounding: ['CAP_CHOWN', 'CAP_KILL', 'CAP_SYS_ADMIN', 'CAP_NET_RAW'],
        permitted: ['CAP_CHOWN', 'CAP_KILL', 'CAP_NET_RAW'],
        effective: ['CAP_CHOWN', 'CAP_KILL'],
        inheritable: ['CAP_NET_RAW'],
        ambient: ['CAP_NET_RAW'],
      };
      c.process.noNewPrivileges = false;
      c.process.oomScoreAdj = 500;
      c.process.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 512, hard: 2048 }, { type: 'RLIMIT_CORE', soft: 0, hard: 0 }];
    });
    const bit = (n: number) => 1n << BigInt(n);
    const hex = (m: bigint) => m.toString(16).padStart(16, '0');
    // CHOWN 0, KILL 5, NET_RAW 13, SYS_ADMIN 21
    assert.equal(f.caps.CapBnd, hex(bit(0) | bit(5) | bit(21) | bit(13)));
    // execve: permitted = inheritable&file | ambient; effective = ambient for a file without caps.
    assert.equal(f.caps.CapAmb, hex(bit(13)));
    assert.equal(f.caps.CapInh, hex(bit(13)));
    assert.equal(f.caps.CapPrm, hex(bit(13)));
    assert.equal(f.caps.CapEff, hex(bit(13)));
    assert.equal(f.noNewPrivs, 0);
    assert.equal(f.oomScoreAdj, 500);
    assert.deepEqual(f.rlimits.NOFILE, [512, 2048]);
    assert.deepEqual(f.rlimits.CORE, [0, 0]);
  });

  it("Docker's default seccomp profile loads: Seccomp 2, and an errno rule answers", async () => {
    const f = await facts((c) => { c.linux.seccomp = dockerDefaultSeccomp(); });
    assert.equal(f.seccomp, 2);
    const r = await run(['/probe', 'mkdir', '/tmp/x'], (c) => {
      c.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 }] };
    });
    assert.match(r.out + r.err, /ENOSYS|Function not implemented|38/);
  });

  it('namespaces: new ones differ from the host, a joined one is shared', async () => {
    const holder = spawn('unshare', ['--uts', 'sh', '-c', 'hostname joined-uts && exec sleep 60'], { stdio: 'ignore' });
    try {
      await waitFor(() => readFileSync(`/proc/${holder.pid}/comm`, 'utf8').trim() === 'sleep');
      const f = await facts((c) => {
        delete c.hostname;
        c.linux.namespaces = [{ type: 'pid' }, { type: 'mount' }, { type: 'ipc' }, { type: 'network' }, { type: 'cgroup' }, { type: 'uts', path: `/proc/${holder.pid}/ns/uts` }];
      });
      const host = (t: string) => spawnSync('readlink', [`/proc/self/ns/${t}`], { encoding: 'utf8' }).stdout.trim();
      for (const t of ['pid', 'mnt', 'ipc', 'net', 'cgroup']) assert.notEqual(f.namespaces[t], host(t), t);
      assert.equal(f.namespaces.uts, spawnSync('readlink', [`/proc/${holder.pid}/ns/uts`], { encoding: 'utf8' }).stdout.trim());
      assert.equal(f.hostname, 'joined-uts');
      assert.equal(f.pid, 1);
    } finally {
      holder.kill('SIGKILL');
    }
  });

  it('a user namespace with uid/gid mappings', async () => {
    // As with runc, the mapped root must be able to reach and own its rootfs.
    chmodSync(tmp.path, 0o755);
    const r = await run(['/bin/sh', '-c', 'cat /proc/self/uid_map /proc/self/gid_map; id -u'], (c) => {
      c.linux.namespaces.push({ type: 'user' });
      c.linux.uidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
      c.linux.gidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
      c.root.readonly = false;
    }, (dir) => spawnSync('chown', ['-R', '200000:200000', dir]));
    assert.equal(r.code, 0, r.err);
    const lines = r.out.trim().split('\n').map((l) => l.trim().split(/\s+/).join(' '));
    assert.deepEqual(lines, ['0 200000 65536', '0 200000 65536', '0']);
  });

  it('a time namespace with a boottime offset', async () => {
    const r = await run(['/bin/cat', '/proc/uptime'], (c) => {
      c.linux.namespaces.push({ type: 'time' });
      c.linux.timeOffsets = { boottime: { secs: 10_000_000, nanosecs: 0 } };
    });
    assert.equal(r.code, 0, r.err);
    assert.ok(Number(r.out.split(' ')[0]) > 10_000_000, r.out);
  });

  it('mounts: readonly root, bind (ro and rw, file and dir), tmpfs options, masked and readonly paths', async () => {
    const data = join(tmp.path, 'data');
    mkdirSync(data, { recursive: true });
    writeFileSync(join(data, 'in.txt'), 'from host');
    const file = join(tmp.path, 'single.txt');
    writeFileSync(file, 'one file');
    const f = await facts((c) => {
      c.mounts.push(
        { destination: '/data', type: 'bind', source: data, options: ['rbind', 'ro'] },
        { destination: '/rw', type: 'bind', source: data, options: ['bind', 'rw'] },
        { destination: '/etc/single.txt', type: 'bind', source: file, options: ['bind', 'ro'] },
        { destination: '/scratch', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'noexec', 'size=1m', 'mode=700'] },
      );
    });
    const m = (t: string) => f.mounts.find((x: any) => x.target === t);
    assert.match(m('/').options, /(^|,)ro(,|$)/);
    assert.match(m('/data').options, /(^|,)ro(,|$)/);
    assert.match(m('/rw').options, /(^|,)rw(,|$)/);
    assert.match(m('/etc/single.txt').options, /(^|,)ro(,|$)/);
    assert.equal(m('/scratch').fstype, 'tmpfs');
    assert.match(m('/scratch').options, /nosuid.*nodev.*noexec|nosuid,nodev,noexec/);
    assert.match(m('/scratch').superOptions, /size=1024k/);
    assert.match(m('/scratch').superOptions, /mode=700/);
    assert.match(m('/proc/sys').options, /(^|,)ro(,|$)/);
    assert.ok(m('/proc/keys') && m('/sys/firmware'), 'masked paths are mounted over');
    const r = await run(['/bin/sh', '-c', 'cat /data/in.txt; echo; cat /etc/single.txt; echo; echo x > /rw/new.txt && echo wrote; echo y > /data/no.txt 2>/dev/null || echo denied; head -c 10 /proc/keys | wc -c'], (c) => {
      c.mounts.push(
        { destination: '/data', type: 'bind', source: data, options: ['rbind', 'ro'] },
        { destination: '/rw', type: 'bind', source: data, options: ['bind', 'rw'] },
        { destination: '/etc/single.txt', type: 'bind', source: file, options: ['bind', 'ro'] },
      );
    });
    assert.equal(r.out, 'from host\none file\nwrote\ndenied\n0\n');
    assert.equal(readFileSync(join(data, 'new.txt'), 'utf8'), 'x\n', 'a rw bind mount writes through to the host');
  });

  it('devices from linux.devices, default devices and /dev links', async () => {
    const r = await run(['/probe', 'stat', '/dev/null', '/dev/berth-null', '/dev/fd', '/dev/ptmx'], (c) => {
      c.linux.devices = [{ path: '/dev/berth-null', type: 'c', major: 1, minor: 3, fileMode: 0o640, uid: 0, gid: 0 }];
    });
    assert.equal(r.code, 0, r.err);
    const st = JSON.parse(r.out);
    const byPath = (p: string) => (Array.isArray(st) ? st.find((x: any) => x.path === p) : st[p]);
    assert.deepEqual(byPath('/dev/null').rdev, [1, 3]);
    assert.equal(byPath('/dev/null').type, 'char');
    assert.deepEqual(byPath('/dev/berth-null').rdev, [1, 3]);
    assert.equal(byPath('/dev/berth-null').mode, '0640');
    assert.equal(byPath('/dev/fd').type, 'symlink', '/dev/fd -> /proc/self/fd');
  });

  it('sysctl in a new network namespace', async () => {
    const r = await run(['/bin/cat', '/proc/sys/net/ipv4/ip_forward', '/proc/sys/net/ipv4/ping_group_range'], (c) => {
      c.linux.sysctl = { 'net.ipv4.ip_forward': '1', 'net.ipv4.ping_group_range': '0 1000' };
    });
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out.replace(/\s+/g, ' ').trim(), '1 0 1000');
  });

  it('cgroup limits: memory and pids set, cpu shares, the process inside; the pids limit holds', async () => {
    const id = `cg${++n}`;
    const b = bundle(['/bin/sleep', '30'], (c) => {
      c.linux.resources = { memory: { limit: 64 << 20 }, pids: { limit: 5 }, cpu: { shares: 512 } };
    });
    const { record } = await rt.create(id, b, { detach: true, stdio: 'ignore' });
    try {
      await rt.start(id);
      const dir = (ctl: string) => {
        const line = readFileSync(`/proc/${record.pid}/cgroup`, 'utf8').split('\n').find((l) => l.split(':')[1] === ctl)!;
        return join('/sys/fs/cgroup', ctl, line.split(':')[2]!);
      };
      assert.equal(readFileSync(join(dir('memory'), 'memory.limit_in_bytes'), 'utf8').trim(), String(64 << 20));
      assert.equal(readFileSync(join(dir('pids'), 'pids.max'), 'utf8').trim(), '5');
      assert.equal(readFileSync(join(dir('cpu'), 'cpu.shares'), 'utf8').trim(), '512');
      assert.match(dir('memory'), new RegExp(`${group}/c\\d+$`));
      // With 5 pids, a loop of 10 background sleeps must hit the limit.
      const ex = await rt.exec(id, { user: { uid: 0, gid: 0 }, cwd: '/', args: ['/bin/sh', '-c', 'for i in 1 2 3 4 5 6 7 8 9 10; do sleep 2 & done 2>&1; wait'], env: ['PATH=/bin'] }, { detach: false, stdio: ['ignore', 'pipe', 'pipe'] });
      const r = await collectOutput(ex.child);
      assert.match(r.out + r.err, /can't fork|Resource temporarily unavailable|fork/i);
    } finally {
      await rt.delete(id, true);
    }
  });

  it('exec joins the namespaces and cgroup, with its own user and capabilities', async () => {
    const id = `ex${++n}`;
    const b = bundle(['/bin/sleep', '30'], (c) => { c.linux.seccomp = dockerDefaultSeccomp(); });
    await rt.create(id, b, { detach: true, stdio: 'ignore' });
    try {
      await rt.start(id);
      const initNs = readFileSync(`/proc/${(await rt.state(id)).pid}/cgroup`, 'utf8');
      const ex = await rt.exec(id, { user: { uid: 4242, gid: 4242 }, cwd: '/tmp', args: ['/probe'], env: ['PATH=/bin'], noNewPrivileges: true, capabilities: {} }, { detach: false, stdio: ['ignore', 'pipe', 'pipe'] });
      const r = await collectOutput(ex.child);
      assert.equal(r.code, 0, r.err);
      const f = JSON.parse(r.out);
      assert.deepEqual(f.uid, [4242, 4242, 4242]);
      assert.equal(f.caps.CapEff, '0000000000000000');
      assert.equal(f.noNewPrivs, 1);
      assert.equal(f.seccomp, 2, "the container's seccomp filter applies to an exec'd process too");
      assert.equal(f.hostname, 'conformance');
      assert.notEqual(f.pid, 1, 'in the container pid namespace, not its init');
      assert.equal(f.cwd, '/tmp');
      assert.deepEqual(f.cgroup.filter((l: string) => !l.startsWith('0::')), initNs.trim().split('\n').filter((l) => !l.startsWith('0::')));
    } finally {
      await rt.delete(id, true);
    }
  });

  it('hooks: prestart, createRuntime, createContainer (in the container), startContainer, poststart, poststop', async () => {
    const out = join(tmp.path, `hooks${++n}`);
    mkdirSync(out);
    // startContainer runs after pivot, where `out` is visible only through the /hooks bind mount.
    const hook = (name: string, inContainer = false, dir = out) => ({
      path: '/bin/sh',
      args: ['sh', '-c', inContainer ? `hostname > ${dir}/${name}.host; cat > ${dir}/${name}.json` : `cat > ${dir}/${name}.json`],
    });
    const id = `hk${n}`;
    const b = bundle(['/bin/true'], (c) => {
      c.hooks = {
        prestart: [hook('prestart')], createRuntime: [hook('createRuntime')], createContainer: [hook('createContainer', true)],
        startContainer: [hook('startContainer', true, '/hooks')], poststart: [hook('poststart')], poststop: [hook('poststop')],
      };
      c.mounts.push({ destination: '/hooks', type: 'bind', source: out, options: ['bind', 'rw'] });
    });
    await rt.create(id, b, { detach: true, stdio: 'ignore' });
    for (const h of ['prestart', 'createRuntime', 'createContainer']) {
      const st = JSON.parse(readFileSync(join(out, `${h}.json`), 'utf8'));
      assert.equal(st.id, id, h);
      assert.ok(st.pid > 0, h);
      assert.equal(st.bundle, b, h);
    }
    assert.equal(readFileSync(join(out, 'createContainer.host'), 'utf8').trim(), 'conformance', 'createContainer runs in the container namespaces');
    assert.equal(existsSync(join(out, 'startContainer.json')), false);
    await rt.start(id);
    assert.equal(readFileSync(join(out, 'startContainer.host'), 'utf8').trim(), 'conformance');
    assert.equal(JSON.parse(readFileSync(join(out, 'poststart.json'), 'utf8')).status, 'running');
    await rt.delete(id, true);
    assert.equal(JSON.parse(readFileSync(join(out, 'poststop.json'), 'utf8')).status, 'stopped');
  });

  it('a failing hook fails create, and nothing is left', async () => {
    const id = `hf${++n}`;
    const b = bundle(['/bin/true'], (c) => { c.hooks = { prestart: [{ path: '/bin/false' }] }; });
    await assert.rejects(rt.create(id, b, { detach: true, stdio: 'ignore' }), /prestart hook #0 \(\/bin\/false\): exit status 1/);
    assert.equal(existsSync(join(tmp.path, 'state', id)), false);
  });

  it('a hook that hangs is killed at its timeout and fails create', async () => {
    const id = `ht${++n}`;
    const b = bundle(['/bin/true'], (c) => { c.hooks = { createRuntime: [{ path: '/bin/sleep', args: ['sleep', '30'], timeout: 1 }] }; });
    const t0 = Date.now();
    await assert.rejects(rt.create(id, b, { detach: true, stdio: 'ignore' }), /createRuntime hook #0 \(\/bin\/sleep\): timed out after 1s/);
    assert.ok(Date.now() - t0 < 10_000);
    assert.equal(existsSync(join(tmp.path, 'state', id)), false);
  });

  it('terminal: the pty master goes to --console-socket', { skip: haveCommand('python3') ? undefined : 'needs python3 to receive the pty fd' }, async () => {
    const sock = join(tmp.path, `console${++n}.sock`);
    // A tiny receiver (runc's recvtty role): takes the fd over SCM_RIGHTS, prints what the container writes.
    const recv = spawn('python3', ['-c', `
import socket, os, sys
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(1); print('ready', flush=True)
c, _ = s.accept(); msg, fds, _, _ = socket.recv_fds(c, 1024, 1); fd = fds[0]
out = b''
while True:
    try: b = os.read(fd, 4096)
    except OSError: break
    if not b: break
    out += b
sys.stdout.write(out.decode(errors='replace'))
`, sock], { stdio: ['ignore', 'pipe', 'pipe'] });
    const recvOut = collectOutput(recv);
    await new Promise<void>((res) => recv.stdout!.once('data', () => res()));
    const id = `tty${n}`;
    const b = bundle(['/bin/sh', '-c', 'stty size; tty; echo hello-tty'], (c) => {
      c.process.terminal = true;
      c.process.consoleSize = { height: 33, width: 99 };
    });
    await rt.create(id, b, { detach: true, stdio: 'ignore', consoleSocket: sock });
    await rt.start(id);
    const r = await recvOut;
    await waitFor(async () => (await rt.state(id)).status === 'stopped');
    await rt.delete(id, true);
    assert.match(r.out, /33 99/);
    assert.match(r.out, /\/dev\/pts\/\d+/);
    assert.match(r.out, /hello-tty/);
  });

  it('bad input fails before anything is made, naming the field or the step', async () => {
    const bad = join(tmp.path, `bad${++n}`);
    makeBundle(bad, { ...baseConfig(['/bin/true'], `${group}/bad`), process: { ...(baseConfig(['/bin/true'], '') as Config).process, capabilities: { bounding: ['CAP_NOPE'] } } });
    await assert.rejects(rt.create(`bad${n}`, bad), /process\.capabilities\.bounding\[0\].*CAP_NOPE/);
    assert.equal(existsSync(join(tmp.path, 'state', `bad${n}`)), false);
    const missing = bundle(['/bin/true'], (c) => { c.mounts.push({ destination: '/x', type: 'bind', source: join(tmp.path, 'no-such-dir'), options: ['bind'] }); });
    await assert.rejects(rt.create(`bad${++n}`, missing, { stdio: 'ignore' }), /no-such-dir|\/x/);
    assert.equal(existsSync(join(tmp.path, 'state', `bad${n}`)), false);
    const noBinary = bundle(['/bin/no-such-binary']);
    const id = `bad${++n}`;
    await assert.rejects(rt.create(id, noBinary, { stdio: 'ignore' }), (e: any) => /exec/.test(e.message) || /no-such-binary/.test(e.message));
    assert.equal(existsSync(join(tmp.path, 'state', id)), false);
    assert.equal(readFileSync('/proc/self/mountinfo', 'utf8').includes(tmp.path), false, 'no mount left behind');
  });

  it('security: the container cannot rewrite the runtime binary, and sees only its own fds', async () => {
    const bin = initBinaryPath();
    const before = createHash('sha256').update(readFileSync(bin)).digest('hex');
    const r = await run(['/probe', 'write-exe']);
    const after = createHash('sha256').update(readFileSync(bin)).digest('hex');
    assert.equal(after, before, `berth-init unchanged (probe said: ${r.out.trim()})`);
    const f = await facts();
    assert.deepEqual(Object.keys(f.fds).sort(), ['0', '1', '2']);
    assert.ok(!String(f.exe).includes('berth'), f.exe);
  });
});
