// The runc command-line conformance suite: the same cases run on berth-runc and on runc itself.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { describe, it, before, after } from 'node:test';
import { makeBundle, rootSkipReason, tempDir } from '../fixtures/rootfs.js';
import { removeCgroupTree } from '../fixtures/cgroup.js';

/** How to run one runtime's command line: argv prefix (binary and global flags). */
export interface RuncFactory {
  name: string;
  /** argv before the verb, e.g. ['runc', '--root', dir]. */
  argv(root: string): string[];
  skip?: string;
}

export interface Runner {
  (args: string[], opts?: { input?: string; timeout?: number }): SpawnSyncReturns<string>;
}

/** The base config every case starts from: runc's default spec, no terminal, a cgroup under ours. */
export function baseConfig(args: string[], cgroupParent: string): Record<string, unknown> {
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false, user: { uid: 0, gid: 0 }, args, cwd: '/',
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],
      capabilities: {
        bounding: ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'],
        effective: ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'],
        permitted: ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'],
        ambient: ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'],
      },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: true },
    hostname: 'conformance',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620'] },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev'] },
    ],
    linux: {
      cgroupsPath: cgroupParent,
      namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }],
      maskedPaths: ['/proc/kcore', '/proc/keys', '/proc/timer_list', '/sys/firmware'],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
}

/** The host path of a container process's cgroup for one v1 controller. */
export function hostCgroupDir(pid: number, controller: string): string {
  const line = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').find((l) => l.split(':')[1]!.split(',').includes(controller));
  assert.ok(line, `no ${controller} cgroup for ${pid}`);
  return join('/sys/fs/cgroup', controller, line.split(':')[2]!);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, f: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** Register the suite for one runtime. */
export function runcCliSuite(f: RuncFactory): void {
  const skip = rootSkipReason() ?? f.skip;
  describe(`runc CLI conformance: ${f.name}`, { skip }, () => {
    let tmp: { path: string; cleanup: () => void };
    let root: string;
    let run: Runner;
    let n = 0;
    const ids: string[] = [];
    const cgParent = `berth-conf-${process.pid}-${f.name}`;
    const newId = () => {
      const id = `c${++n}-${f.name}`;
      ids.push(id);
      return id;
    };
    const bundle = (args: string[], mutate?: (c: Record<string, any>) => void) => {
      const dir = join(tmp.path, `b${n}-${Math.random().toString(36).slice(2, 8)}`);
      const cfg = baseConfig(args, `${cgParent}/${dir.slice(-6)}`);
      mutate?.(cfg);
      return makeBundle(dir, cfg);
    };
    before(() => {
      tmp = tempDir(`berth-conf-${f.name}-`);
      root = join(tmp.path, 'root');
      const prefix = f.argv(root);
      // stdout/stderr go to files, not pipes: a detached container inherits them and would keep
      // a pipe open (and spawnSync waiting) for as long as it runs.
      let k = 0;
      run = (args, o = {}) => {
        const out = join(tmp.path, `out-${++k}`);
        const err = join(tmp.path, `err-${k}`);
        const fo = openSync(out, 'w');
        const fe = openSync(err, 'w');
        try {
          const r = spawnSync(prefix[0]!, [...prefix.slice(1), ...args], { stdio: ['pipe', fo, fe], input: o.input ?? '', timeout: o.timeout ?? 30_000 });
          return { ...r, stdout: readFileSync(out, 'utf8'), stderr: readFileSync(err, 'utf8') } as SpawnSyncReturns<string>;
        } finally {
          closeSync(fo);
          closeSync(fe);
        }
      };
    });
    after(() => {
      for (const id of ids) run(['delete', '--force', id]);
      tmp.cleanup();
      // The per-test cgroup parents, in every hierarchy (the hybrid cgroup2 mount too): rmdir is a
      // no-op where the runtime already removed them.
      removeCgroupTree(cgParent);
    });

    it('create leaves the process blocked; start runs it; state follows', async () => {
      const id = newId();
      const b = bundle(['/bin/sh', '-c', 'echo started > /tmp/out; sleep 30']);
      const pidFile = join(tmp.path, `${id}.pid`);
      const c = run(['create', '--bundle', b, '--pid-file', pidFile, id]);
      assert.equal(c.status, 0, c.stderr);
      const st = JSON.parse(run(['state', id]).stdout);
      assert.equal(st.status, 'created');
      assert.equal(st.id, id);
      assert.equal(st.bundle, b);
      assert.ok(st.pid > 0);
      assert.equal(Number(readFileSync(pidFile, 'utf8')), st.pid);
      // Blocked before execve: still the runtime's init, not the user's process.
      const initComm = readFileSync(`/proc/${st.pid}/comm`, 'utf8').trim();
      assert.ok(!['sh', 'sleep'].includes(initComm), initComm);
      assert.equal(existsSync(join(b, 'rootfs', 'tmp', 'out')), false);
      assert.equal(run(['start', id]).status, 0);
      assert.equal(JSON.parse(run(['state', id]).stdout).status, 'running');
      // busybox sh execs its last command: the same pid becomes `sleep`.
      await until('the user process to run', () => readFileSync(`/proc/${st.pid}/comm`, 'utf8').trim() === 'sleep');
      assert.equal(run(['kill', id, 'KILL']).status, 0);
      await until('stopped', () => JSON.parse(run(['state', id]).stdout).status === 'stopped');
      assert.equal(run(['delete', id]).status, 0);
      const gone = run(['state', id]);
      assert.equal(gone.status, 1);
      assert.match(gone.stderr, /container does not exist/);
    });

    it('run returns the container process exit status', () => {
      const r = run(['run', '--bundle', bundle(['/bin/sh', '-c', 'echo out; echo err >&2; exit 3']), newId()]);
      assert.equal(r.status, 3, r.stderr);
      assert.equal(r.stdout, 'out\n');
      assert.match(r.stderr, /err\n/);
    });

    it('a duplicate id, an unknown id and a running delete give runc errors', async () => {
      const id = newId();
      const b = bundle(['/bin/sleep', '30']);
      assert.equal(run(['create', '-b', b, id]).status, 0);
      const dup = run(['create', '-b', b, id]);
      assert.equal(dup.status, 1);
      assert.match(dup.stderr, /container with given ID already exists/);
      const unknown = run(['kill', 'no-such-container', 'TERM']);
      assert.equal(unknown.status, 1);
      assert.match(unknown.stderr, /container does not exist/);
      assert.equal(run(['start', id]).status, 0);
      const del = run(['delete', id]);
      assert.equal(del.status, 1);
      assert.match(del.stderr, new RegExp(`cannot delete container ${id} that is not stopped: running`));
      assert.equal(run(['delete', '--force', id]).status, 0);
      assert.equal(run(['state', id]).status, 1);
    });

    it('kill takes signal names and numbers; the exit is seen', async () => {
      const id = newId();
      assert.equal(run(['run', '-d', '-b', bundle(['/bin/sleep', '30']), id]).status, 0);
      assert.equal(run(['kill', id, 'SIGKILL']).status, 0);
      await until('stopped after SIGKILL', () => JSON.parse(run(['state', id]).stdout).status === 'stopped');
      const again = run(['kill', id, '9']);
      assert.equal(again.status, 1);
      assert.match(again.stderr, /container not running/);
      assert.equal(run(['delete', id]).status, 0);
    });

    it('list prints a table and JSON', () => {
      const id = newId();
      assert.equal(run(['create', '-b', bundle(['/bin/true']), id]).status, 0);
      const table = run(['list']).stdout.split('\n');
      assert.match(table[0]!, /^ID\s+PID\s+STATUS\s+BUNDLE\s+CREATED\s+OWNER$/);
      assert.ok(table.some((l) => l.startsWith(id) && / created /.test(l)));
      const json = JSON.parse(run(['list', '--format', 'json']).stdout) as Array<Record<string, unknown>>;
      const me = json.find((c) => c.id === id)!;
      assert.equal(me.status, 'created');
      for (const k of ['ociVersion', 'id', 'pid', 'status', 'bundle', 'rootfs', 'created', 'owner']) assert.ok(k in me, `list json has ${k}`);
      assert.deepEqual(run(['list', '-q']).stdout.split('\n').filter(Boolean).includes(id), true);
      assert.equal(run(['delete', id]).status, 0);
    });

    it('exec runs in the container and returns its status; -d with --pid-file', async () => {
      const id = newId();
      assert.equal(run(['run', '-d', '-b', bundle(['/bin/sleep', '30']), id]).status, 0);
      const h = run(['exec', id, '/bin/sh', '-c', 'hostname; exit 7']);
      assert.equal(h.status, 7, h.stderr);
      assert.equal(h.stdout, 'conformance\n');
      const pidFile = join(tmp.path, `${id}-exec.pid`);
      assert.equal(run(['exec', '-d', '--pid-file', pidFile, id, '/bin/sleep', '20']).status, 0);
      const pid = Number(readFileSync(pidFile, 'utf8'));
      assert.ok(pid > 0);
      const ps = JSON.parse(run(['ps', '--format', 'json', id]).stdout) as number[];
      assert.ok(ps.includes(pid), `ps ${JSON.stringify(ps)} includes exec pid ${pid}`);
      assert.equal(run(['delete', '--force', id]).status, 0);
    });

    it('kill --all signals every process; exec --process takes a process.json; --log json records errors', async () => {
      const id = newId();
      assert.equal(run(['run', '-d', '-b', bundle(['/bin/sh', '-c', 'sleep 30 & sleep 30 & wait']), id]).status, 0);
      const procFile = join(tmp.path, `${id}-process.json`);
      writeFileSync(procFile, JSON.stringify({ terminal: false, user: { uid: 1234, gid: 1234 }, args: ['/bin/sh', '-c', 'id -u; echo $FOO'], env: ['PATH=/bin', 'FOO=bar'], cwd: '/tmp' }));
      const ex = run(['exec', '--process', procFile, id]);
      assert.equal(ex.status, 0, ex.stderr);
      assert.equal(ex.stdout, '1234\nbar\n');
      await until('three processes', () => (JSON.parse(run(['ps', '--format', 'json', id]).stdout) as number[]).length === 3);
      const pids = JSON.parse(run(['ps', '--format', 'json', id]).stdout) as number[];
      assert.equal(run(['kill', '--all', id, 'KILL']).status, 0);
      await until('every process gone', () => pids.every((p) => !existsSync(`/proc/${p}`) || readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]!.startsWith('Z')));
      assert.equal(run(['delete', '--force', id]).status, 0);
      const logFile = join(tmp.path, `${id}.log`);
      const bad = spawnSync(f.argv(root)[0]!, [...f.argv(root).slice(1), '--log', logFile, '--log-format', 'json', 'state', 'no-such-container'], { encoding: 'utf8' });
      assert.equal(bad.status, 1);
      const rec = JSON.parse(readFileSync(logFile, 'utf8').trim().split('\n').pop()!);
      assert.equal(rec.level, 'error');
      assert.match(rec.msg, /container does not exist/);
      assert.ok(!Number.isNaN(Date.parse(rec.time)));
    });

    it('pause and resume freeze and thaw; update changes the cgroup; events --stats reports', async () => {
      const id = newId();
      assert.equal(run(['run', '-d', '-b', bundle(['/bin/sleep', '30']), id]).status, 0);
      const pid = JSON.parse(run(['state', id]).stdout).pid as number;
      assert.equal(run(['pause', id]).status, 0);
      assert.equal(JSON.parse(run(['state', id]).stdout).status, 'paused');
      assert.equal(readFileSync(join(hostCgroupDir(pid, 'freezer'), 'freezer.state'), 'utf8').trim(), 'FROZEN');
      assert.equal(run(['resume', id]).status, 0);
      assert.equal(JSON.parse(run(['state', id]).stdout).status, 'running');
      const u = run(['update', '--memory', '67108864', '--pids-limit', '42', id]);
      assert.equal(u.status, 0, u.stderr);
      assert.equal(readFileSync(join(hostCgroupDir(pid, 'memory'), 'memory.limit_in_bytes'), 'utf8').trim(), '67108864');
      assert.equal(readFileSync(join(hostCgroupDir(pid, 'pids'), 'pids.max'), 'utf8').trim(), '42');
      const r = run(['update', '-r', '-', id], { input: JSON.stringify({ pids: { limit: 50 } }) });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(readFileSync(join(hostCgroupDir(pid, 'pids'), 'pids.max'), 'utf8').trim(), '50');
      const ev = JSON.parse(run(['events', '--stats', id]).stdout);
      assert.equal(ev.type, 'stats');
      assert.equal(ev.id, id);
      assert.ok(ev.data.memory.usage.usage > 0);
      assert.equal(ev.data.pids.current, 1);
      assert.equal(run(['delete', '--force', id]).status, 0);
    });
  });
}
