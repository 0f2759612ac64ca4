// Running berthd as an operator does, with the real docker CLI: daemon.json and --validate, runc as a second runtime, rotated and compressed logs, sizes, --shutdown-containers.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { berthdSkipReason, startBerthd, type Berthd } from '../fixtures/berthd.js';
import { removeCgroupTree } from '../fixtures/cgroup.js';
import { unmountUnder } from '../fixtures/daemons.js';
import { buildDockerSaveTar } from '../fixtures/image.js';
import { daemonInterfaces } from '../fixtures/network.js';
import { waitFor } from '../fixtures/process.js';
import { repoRoot } from '../fixtures/rootfs.js';

const skip = berthdSkipReason();
const RUNC = '/usr/sbin/runc';
const CRUN = '/usr/bin/crun';
const IMAGE = 'busybox:latest';
const NONE = ['--network', 'none'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };

/** `berthd --validate --config-file <json>`: exit status and what it printed. */
function validate(config: unknown, args: string[] = []): { status: number | null; out: string } {
  const dir = mkdtempSync(join(tmpdir(), 'berth-validate-'));
  try {
    const file = join(dir, 'daemon.json');
    writeFileSync(file, typeof config === 'string' ? config : JSON.stringify(config));
    const r = spawnSync(process.execPath, [join(repoRoot, 'bin', 'berthd.js'), '--validate', '--config-file', file, ...args], { encoding: 'utf8', timeout: 20000 });
    return { status: r.status, out: r.stdout + r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('berthd --validate', { skip: existsSync(join(repoRoot, 'dist', 'berthd.cjs')) ? undefined : 'berthd is not built' }, () => {
  test('a good config: exit 0 and "configuration OK" (on stderr, as dockerd)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-validate-'));
    try {
      const file = join(dir, 'daemon.json');
      writeFileSync(file, JSON.stringify({
        'data-root': '/srv/berth', 'log-driver': 'json-file', 'log-opts': { 'max-size': '10m', 'max-file': '3', compress: 'true' },
        'default-ulimits': { nofile: { Name: 'nofile', Soft: 1024, Hard: 2048 } }, 'default-shm-size': '128M', 'max-concurrent-downloads': 5,
        'registry-mirrors': ['https://mirror.example'], 'insecure-registries': ['reg.test:5000'], 'default-address-pools': [{ base: '10.10.0.0/16', size: 24 }],
        'metrics-addr': '127.0.0.1:9323', debug: true, 'log-level': 'warn', 'default-runtime': 'runc', runtimes: { runc: { path: RUNC } }, 'shutdown-containers': false,
      }));
      const r = spawnSync(process.execPath, [join(repoRoot, 'bin', 'berthd.js'), '--validate', '--config-file', file], { encoding: 'utf8', timeout: 20000 });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stderr, 'configuration OK\n');
      assert.equal(r.stdout, '');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    assert.deepEqual(validate(''), { status: 0, out: 'configuration OK\n' });
  });

  test('a key given as a flag and in the file: the flag wins, the config is OK', () => {
    assert.deepEqual(validate({ 'data-root': '/a', debug: false }, ['--data-root', '/b', '--debug']), { status: 0, out: 'configuration OK\n' });
  });

  test('an insecure registry given with http://: the scheme is dropped with dockerd\'s warning, the config is OK', () => {
    assert.deepEqual(validate({ 'insecure-registries': ['http://reg.test:5000'] }), { status: 0,
      out: "berthd: warning: insecure registry http://reg.test:5000 should not contain 'http://' and 'http://' has been removed from the insecure registry config\nconfiguration OK\n" });
  });

  test('bad configs: exit 1 and the key named', () => {
    const cases: Array<[unknown, string[], RegExp]> = [
      [{ 'bogus-key': 1 }, [], /the following directives don't match any configuration option: bogus-key/],
      ['{"debug": ', [], /unable to configure the Berth daemon with file .*: invalid JSON/],
      [{ debug: 'yes' }, [], /debug: invalid value "yes"/],
      [{ 'log-opts': { compress: 'true', 'max-file': '1' } }, [], /log-opts: compress cannot be true when max-file is less than 2/],
      [{ 'log-opts': { 'max-size': 'huge' } }, [], /log-opts: invalid size: 'huge'/],
      [{ 'log-driver': 'journald' }, [], /log-driver: logger: no log driver named 'journald' is registered/],
      [{ runtimes: { berth: { path: '/bin/true' } } }, [], /runtimes: runtime name 'berth' is reserved/],
      [{ 'default-runtime': 'crun' }, [], /default-runtime: specified default runtime 'crun' does not exist/],
      [{ 'default-address-pools': [{ base: '10.0.0.0/33', size: 24 }] }, [], /default-address-pools: .*prefix length above 32/],
      [{ 'metrics-addr': 'nope' }, [], /metrics-addr: invalid value "nope"/],
      [{ 'insecure-registries': ['ftp://reg:5000'] }, [], /insecure-registries: insecure registry ftp:\/\/reg:5000 should not contain ':\/\/'/],
      [{ 'insecure-registries': ['reg_x:5000'] }, [], /insecure-registries: insecure registry reg_x:5000 is not valid: invalid host "reg_x"/],
    ];
    for (const [cfg, args, re] of cases) {
      const r = validate(cfg, args);
      assert.equal(r.status, 1, `${JSON.stringify(cfg)}: ${r.out}`);
      assert.match(r.out, re);
      assert.doesNotMatch(r.out, /configuration OK/);
    }
  });
});

describe('berthd with daemon.json: runtimes, log defaults, sizes', { skip }, () => {
  let d: Berthd;
  let tmp: string;
  /** Run docker and fail with its output unless it exits 0; returns stdout. */
  const ok = (args: string[], o: { timeout?: number } = {}): string => {
    const r = d.docker(args, o);
    assert.equal(r.status, 0, `docker ${args.join(' ')} exited ${r.status}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    return r.stdout;
  };

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'berth-e2e-ops-'));
    // runc-debug: runc with a global option, --debug, behind a recorder of each call's arguments and of what runc
    // wrote to the --log it was given (berth-shim removes that log once it has read it).
    writeFileSync(join(tmp, 'runc-rec'), `#!/bin/sh
printf '%s\\n' "$*" >> ${tmp}/runc-calls
${RUNC} "$@"; rc=$?
log=; prev=
for a in "$@"; do [ "$prev" = --log ] && log=$a; prev=$a; done
[ -n "$log" ] && [ -f "$log" ] && cat "$log" >> ${tmp}/runc-logs
exit $rc
`, { mode: 0o755 });
    // crun-wrapped: crun 1.8 refuses a hybrid cgroup layout whose cgroup2 mount holds only hugetlb (this machine's),
    // so each call runs in a private mount namespace without that mount (as bench/runtime.ts does); calls recorded.
    writeFileSync(join(tmp, 'crun-wrapped'), `#!/bin/sh
printf '%s\\n' "$*" >> ${tmp}/crun-calls
exec unshare -m --propagation private sh -c 'umount -l /sys/fs/cgroup/unified 2>/dev/null; exec ${CRUN} "$@"' sh "$@"
`, { mode: 0o755 });
    d = await startBerthd({
      prefix: 'berthd-e2e-ops-',
      config: {
        runtimes: { runc: { path: RUNC }, 'runc-debug': { path: join(tmp, 'runc-rec'), runtimeArgs: ['--debug'] }, 'crun-wrapped': { path: join(tmp, 'crun-wrapped') } },
        'log-opts': { 'max-size': '20k', 'max-file': '3', compress: 'true' },
        'default-shm-size': '128m',
        'default-ulimits': { nofile: { Name: 'nofile', Soft: 1111, Hard: 2222 } },
        // The fixture gives both as flags (its own data root, --log-level debug): the flags win.
        'data-root': join(tmp, 'file-data-root'),
        'log-level': 'error',
      },
    });
    ok(['load', '-i', buildDockerSaveTar(tmp, IMAGE)]);
  });
  after(async () => {
    await d?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test('flags override daemon.json keys; berthd notes each override at info level', () => {
    assert.equal(ok(['info', '--format', '{{.DockerRootDir}}']).trim(), d.dataRoot);
    assert.equal(existsSync(join(tmp, 'file-data-root')), false);
    const notes = readFileSync(d.log, 'utf8').split('\n').filter((l) => l.includes('a flag overrides the configuration file')).map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(notes.map((n) => [n.level, n.key, n.flag, n.file]).sort(), [
      [30, 'data-root', d.dataRoot, join(tmp, 'file-data-root')],
      [30, 'log-level', 'debug', 'error'],
    ]);
    // --log-level debug won over the file's error: debug lines are written.
    assert.match(readFileSync(d.log, 'utf8'), /"level":20/);
  });

  test('docker info lists berth and runc, berth the default', () => {
    const info = JSON.parse(ok(['info', '--format', '{{json .}}'])) as { Runtimes: Record<string, { path: string; runtimeArgs?: string[] }>; DefaultRuntime: string };
    assert.deepEqual(Object.keys(info.Runtimes).sort(), ['berth', 'crun-wrapped', 'runc', 'runc-debug']);
    assert.deepEqual(info.Runtimes.runc, { path: RUNC });
    assert.deepEqual(info.Runtimes['runc-debug'], { path: join(tmp, 'runc-rec'), runtimeArgs: ['--debug'] });
    assert.equal(info.DefaultRuntime, 'berth');
    const text = ok(['info']);
    assert.match(text, /Runtimes: .*\brunc\b/);
    assert.match(text, /Default Runtime: berth/);
  });

  test('docker run --runtime runc: run, exec, logs, stop; inspect shows the runtime', { skip: existsSync(RUNC) ? undefined : `missing ${RUNC}` }, () => {
    assert.equal(ok(['run', '--rm', ...NONE, '--runtime', 'runc', IMAGE, 'echo', 'hi from runc']), 'hi from runc\n');
    const id = ok(['run', '-d', ...NONE, '--runtime', 'runc', IMAGE, 'sh', '-c', 'trap "echo stopping; exit 0" TERM; echo started; while true; do sleep 0.1; done']).trim();
    assert.equal(ok(['inspect', '-f', '{{.HostConfig.Runtime}}', id]), 'runc\n');
    assert.equal(ok(['exec', id, 'sh', '-c', 'echo exec $(cat /proc/1/comm)']), 'exec sh\n');
    const x = d.docker(['exec', id, 'sh', '-c', 'exit 9']);
    assert.equal(x.status, 9);
    // runc's state is in the task's dir of the exec root: this container is runc's.
    assert.ok(readdirSync(join(d.execRoot, 'moby', id, 'runtime')).includes(id));
    assert.equal(ok(['stop', '-t', '5', id]).trim(), id);
    assert.equal(ok(['inspect', '-f', '{{.State.ExitCode}}', id]), '0\n');
    assert.equal(ok(['logs', id]), 'started\nstopping\n');
    ok(['rm', id]);
  });

  test('a runtime\'s runtimeArgs reach it: runc gets --debug first in every call and writes debug lines', { skip: existsSync(RUNC) ? undefined : `missing ${RUNC}` }, () => {
    const id = ok(['run', '-d', ...NONE, '--runtime', 'runc-debug', IMAGE, 'sleep', '1000']).trim();
    assert.equal(ok(['exec', id, 'echo', 'in']), 'in\n');
    assert.equal(ok(['stop', '-t', '1', id]).trim(), id);
    ok(['rm', id]);
    const calls = readFileSync(join(tmp, 'runc-calls'), 'utf8').trim().split('\n');
    // Global options go before berth-shim's own (--root, --log: later ones win, as under containerd's shim).
    for (const verb of ['features', 'create', 'start', 'exec', 'delete']) assert.ok(calls.some((x) => x.split(' ').includes(verb)), `runc ${verb} in:\n${calls.join('\n')}`);
    for (const c of calls) assert.match(c, /^--debug /, c);
    // --debug took effect: runc logged at debug level (nsexec's setup during create).
    const levels = readFileSync(join(tmp, 'runc-logs'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { level: string }).level);
    assert.ok(levels.includes('debug'), levels.join(' '));
  });

  test('an unknown runtime gets dockerd\'s error', () => {
    const r = d.docker(['run', '--rm', ...NONE, '--runtime', 'nope', IMAGE, 'true']);
    assert.equal(r.status, 125);
    assert.match(r.stderr, /unknown or invalid runtime name: nope/);
  });

  test('docker run --runtime crun-wrapped: run, exec, logs, stop through crun; inspect shows the runtime', { skip: existsSync(CRUN) ? undefined : `missing ${CRUN}` }, () => {
    assert.equal(ok(['run', '--rm', ...NONE, '--runtime', 'crun-wrapped', IMAGE, 'echo', 'hi from crun']), 'hi from crun\n');
    const id = ok(['run', '-d', ...NONE, '--runtime', 'crun-wrapped', IMAGE, 'sh', '-c', 'trap "echo stopping; exit 0" TERM; echo started; while true; do sleep 0.1; done']).trim();
    assert.equal(ok(['inspect', '-f', '{{.HostConfig.Runtime}}', id]), 'crun-wrapped\n');
    // The CLI's default PidsLimit 0 is stored as none, as dockerd's: no pids limit in the spec (crun 1.8 writes a -1 as it is into v1's pids.max).
    assert.equal(ok(['inspect', '-f', '{{json .HostConfig.PidsLimit}}', id]), 'null\n');
    assert.equal(ok(['exec', id, 'sh', '-c', 'echo exec $(cat /proc/1/comm)']), 'exec sh\n');
    assert.equal(d.docker(['exec', id, 'sh', '-c', 'exit 9']).status, 9);
    // crun's own state (its `status` file, which runc does not write) in the task's runtime dir.
    assert.ok(existsSync(join(d.execRoot, 'moby', id, 'runtime', id, 'status')), readdirSync(join(d.execRoot, 'moby', id, 'runtime', id)).join(' '));
    assert.equal(ok(['stop', '-t', '5', id]).trim(), id);
    assert.equal(ok(['inspect', '-f', '{{.State.ExitCode}}', id]), '0\n');
    assert.equal(ok(['logs', id]), 'started\nstopping\n');
    ok(['rm', id]);
    const calls = readFileSync(join(tmp, 'crun-calls'), 'utf8').trim().split('\n');
    for (const verb of ['create', 'start', 'exec', 'delete']) assert.ok(calls.some((c) => c.split(' ').includes(verb)), `crun ${verb} in:\n${calls.join('\n')}`);
  });

  test('the daemon\'s log options, shm size and ulimits apply to containers that set none', () => {
    const id = ok(['run', '-d', ...NONE, IMAGE, 'sh', '-c', 'df -k /dev/shm | tail -1; ulimit -n; ulimit -Hn']).trim();
    ok(['wait', id]);
    const [shm, soft, hard] = ok(['logs', id]).trim().split('\n');
    assert.match(shm!, /^shm\s+131072\s/);
    assert.deepEqual([soft, hard], ['1111', '2222']);
    assert.deepEqual(JSON.parse(ok(['inspect', '-f', '{{json .HostConfig.LogConfig}}', id])), { Type: 'json-file', Config: { 'max-size': '20k', 'max-file': '3', compress: 'true' } });
    assert.equal(ok(['inspect', '-f', '{{.HostConfig.ShmSize}}', id]), `${128 * 1024 * 1024}\n`);
    // A container's own options win; the others come from the daemon.
    const own = ok(['create', ...NONE, '--log-opt', 'max-file=2', IMAGE, 'true']).trim();
    assert.deepEqual(JSON.parse(ok(['inspect', '-f', '{{json .HostConfig.LogConfig.Config}}', own])), { 'max-size': '20k', 'max-file': '2', compress: 'true' });
    const bad = d.docker(['run', '--rm', ...NONE, '--log-opt', 'max-file=1', IMAGE, 'true']);
    assert.equal(bad.status, 125);
    assert.match(bad.stderr, /compress cannot be true when max-file is less than 2 or max-size is not set/);
    ok(['rm', id, own]);
  });

  test('--log-driver none: attached output still shows, nothing is written, docker logs says why', () => {
    const id = ok(['run', '-d', ...NONE, '--log-driver', 'none', IMAGE, 'sh', '-c', 'echo not kept']).trim();
    ok(['wait', id]);
    assert.equal(ok(['inspect', '-f', '{{.LogPath}}|{{.HostConfig.LogConfig.Type}}', id]), '|none\n');
    const r = d.docker(['logs', id]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /configured logging driver does not support reading/);
    assert.deepEqual(readdirSync(join(d.dataRoot, 'containers', id)).filter((f) => f.includes('json.log')), []);
    assert.equal(ok(['run', '--rm', ...NONE, '--log-driver', 'none', IMAGE, 'echo', 'attached']), 'attached\n');
    ok(['rm', id]);
  });

  test('docker logs --since/--until/--tail on a rotated, compressed log', async () => {
    const id = ok(['run', '-d', ...NONE, IMAGE, 'sh', '-c', 'seq 1 3000']).trim();
    ok(['wait', id]);
    const logPath = ok(['inspect', '-f', '{{.LogPath}}', id]).trim();
    for (let i = 0; i < 100 && readdirSync(dirname(logPath)).some((f) => /json\.log\.\d+$/.test(f)); i++) await sleep(50);
    const files = readdirSync(dirname(logPath)).filter((f) => f.includes('json.log')).map((f) => f.slice(f.indexOf('json.log'))).sort();
    assert.deepEqual(files, ['json.log', 'json.log.1.gz', 'json.log.1.idx', 'json.log.2.gz', 'json.log.2.idx', 'json.log.idx']);
    const all = ok(['logs', '-t', id]).trim().split('\n').map((l) => { const [t, n] = l.split(' '); return { t: t!, n: Number(n) }; });
    assert.equal(all.at(-1)!.n, 3000);
    for (let i = 1; i < all.length; i++) assert.equal(all[i]!.n, all[i - 1]!.n + 1, 'in order across .gz and plain files');
    assert.ok(all.length > 450 && all.length < 3000, `${all.length} lines kept in 3 files of 20k`);
    const mid = all[Math.floor(all.length / 3)]!;
    const since = ok(['logs', '--since', mid.t, id]).trim().split('\n').map(Number);
    assert.equal(since[0], all.find((x) => x.t >= mid.t)!.n);
    assert.equal(since.at(-1), 3000);
    const untilOut = ok(['logs', '--until', mid.t, id]).trim().split('\n').map(Number);
    assert.equal(untilOut[0], all[0]!.n);
    assert.ok(untilOut.at(-1)! < mid.n + 1);
    assert.equal(ok(['logs', '--tail', '3', id]), '2998\n2999\n3000\n');
    // `ps --size` and `system df` count the logs in the container's size.
    const sizes = JSON.parse(ok(['ps', '-a', '--size', '--filter', `id=${id}`, '--format', '{{json .}}'])) as { Size: string };
    assert.match(sizes.Size, /^\d+(\.\d+)?kB \(virtual /, sizes.Size);
    const df = ok(['system', 'df', '-v']);
    assert.match(df, new RegExp(`^${id.slice(0, 12)}\\s`, 'm'));
    ok(['rm', id]);
  });
});

describe('berthd --shutdown-containers', { skip }, () => {
  test('stopping berthd stops its containers (the stop signal, then the timeout); restart policies bring them back at the next start', async () => {
    const d = await startBerthd({ prefix: 'berthd-e2e-shut-', args: ['--shutdown-containers'] });
    const tmp = mkdtempSync(join(tmpdir(), 'berth-e2e-shut-'));
    try {
      assert.equal(d.docker(['load', '-i', buildDockerSaveTar(tmp, IMAGE)]).status, 0);
      const run = (policy: string) => {
        const r = d.docker(['run', '-d', ...NONE, '--restart', policy, IMAGE, 'sh', '-c', 'trap "exit 3" TERM; echo ready; while true; do sleep 0.1; done']);
        assert.equal(r.status, 0, r.stderr);
        return r.stdout.trim();
      };
      const ids = { no: run('no'), unlessStopped: run('unless-stopped'), always: run('always'), onFailure: run('on-failure'), userStopped: run('unless-stopped') };
      // The trap is set before `ready`: a TERM sooner would be ignored (PID 1 without a handler) and the stop would end in SIGKILL.
      for (const id of Object.values(ids)) await waitFor(() => d.docker(['logs', id]).stdout.includes('ready'), 15_000, `${id} ready`);
      // Stopped by the user before the daemon went: stays stopped.
      assert.equal(d.docker(['stop', ids.userStopped]).status, 0);
      const pids = Object.values(ids).map((id) => Number(d.docker(['inspect', '-f', '{{.State.Pid}}', id]).stdout.trim())).filter((p) => p > 0);
      assert.equal(pids.length, 4);
      await d.stop({ keepContainers: true });
      const alive = () => pids.filter((p) => { try { process.kill(p, 0); return true; } catch { return false; } });
      for (let i = 0; i < 100 && alive().length; i++) await sleep(50);
      assert.deepEqual(alive(), [], 'the containers were stopped with berthd');
      const again = await startBerthd({ reuse: { dir: d.dir, execRoot: d.execRoot } });
      try {
        const state = (id: string) => again.docker(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', id]).stdout.trim();
        assert.equal(state(ids.no), 'exited 3');
        assert.equal(state(ids.userStopped), 'exited 3');
        // dockerd marks none as stopped by the user when the daemon stops them: all three come back.
        for (const id of [ids.unlessStopped, ids.always, ids.onFailure]) assert.equal(state(id), 'running 0', id);
        const r = again.docker(['exec', ids.unlessStopped, 'echo', 'up']);
        assert.equal(r.stdout, 'up\n', r.stderr);
      } finally {
        await again.stop();
      }
    } finally {
      await d.stop();
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe('after a reboot', { skip }, () => {
  test('an always container on a user network runs again with its network when berthd starts, berthd check clean', async () => {
    const d = await startBerthd({ prefix: 'berthd-e2e-reboot-' });
    const tmp = mkdtempSync(join(tmpdir(), 'berth-e2e-reboot-'));
    let again: Berthd | undefined;
    try {
      const ok = (b: Berthd, args: string[]) => {
        const r = b.docker(args);
        assert.equal(r.status, 0, `docker ${args.join(' ')}: ${r.stderr}`);
        return r.stdout;
      };
      ok(d, ['load', '-i', buildDockerSaveTar(tmp, IMAGE)]);
      ok(d, ['network', 'create', 'rb-net']);
      const id = ok(d, ['run', '-d', '--restart', 'always', '--network', 'rb-net', '--name', 'rb-web', IMAGE,
        'sh', '-c', 'echo hello from rb-web > /tmp/index.html; exec httpd -f -p 8080 -h /tmp']).trim();
      assert.equal(ok(d, ['run', '--rm', '--network', 'rb-net', IMAGE, 'wget', '-qO-', 'http://rb-web:8080/index.html']), 'hello from rb-web\n');
      const pid = Number(ok(d, ['inspect', '-f', '{{.State.Pid}}', id]).trim());
      const shim = Number(readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ')[1]);
      const links = daemonInterfaces((a) => d.docker(a));
      assert.ok(links.some((l) => l.startsWith('veth')), links.join(' '));
      await d.stop({ keepContainers: true });

      // The reboot: the container's processes and its shim die, /run (a tmpfs) is empty again, mounts and
      // interfaces are gone.
      process.kill(shim, 'SIGKILL');
      process.kill(pid, 'SIGKILL'); // its pid namespace's init: the kernel kills the rest
      for (let i = 0; i < 100 && [pid, shim].some(alive); i++) await sleep(50);
      assert.deepEqual([pid, shim].filter(alive), []);
      unmountUnder(d.execRoot);
      rmSync(d.execRoot, { recursive: true, force: true });
      unmountUnder(join(d.dir, 'data'));
      removeCgroupTree(`berth-e2e-${d.execRoot.slice(-6)}`); // the fixture's --cgroup-parent
      for (const l of links) spawnSync('ip', ['link', 'delete', l], { stdio: 'ignore' });
      assert.deepEqual(links.filter((l) => existsSync(`/sys/class/net/${l}`)), []);

      again = await startBerthd({ reuse: { dir: d.dir, execRoot: d.execRoot } });
      const b = again;
      let state = '';
      for (let i = 0; i < 100 && state !== 'running'; i++) {
        state = b.docker(['inspect', '-f', '{{.State.Status}}', id]).stdout.trim();
        if (state !== 'running') await sleep(100);
      }
      assert.equal(state, 'running', readFileSync(b.log, 'utf8').split('\n').filter((l) => /"level":(40|50)/.test(l)).join('\n'));
      assert.notEqual(Number(ok(b, ['inspect', '-f', '{{.State.Pid}}', id]).trim()), pid);
      assert.equal(ok(b, ['run', '--rm', '--network', 'rb-net', IMAGE, 'wget', '-qO-', 'http://rb-web:8080/index.html']), 'hello from rb-web\n');
      const check = b.check();
      assert.deepEqual(check.report.findings, []);
      assert.equal(check.status, 0);
    } finally {
      await again?.stop();
      await d.stop();
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
