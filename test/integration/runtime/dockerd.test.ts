// Real dockerd 20.10 (a private one, over a private containerd) running containers with an OCI runtime chosen by
// `--runtime`: the same cases on Debian's runc (the anchor, proves the harness) and on berth-runc (the acceptance).
// The docker CLI is whatever /usr/bin/docker is (28.x here); it negotiates down to dockerd 20.10's API 1.41.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SpawnSyncReturns } from 'node:child_process';
import { repoRoot } from '../../fixtures/rootfs.js';
import { buildDockerSaveTar } from '../../fixtures/image.js';
import { dockerdSkipReason, makeTestCgroup, startDockerd, tail, waitUntil, type Dockerd, type TestCgroup } from '../../fixtures/daemons.js';

const REF = 'busybox:berth-test';

/** One OCI runtime under test: its dockerd runtime name, its binary, and how to recognise its state dir. */
interface RuntimeUnderTest {
  /** The name dockerd knows it by (`--runtime NAME`). */
  name: string;
  binary: string;
  ownsStateDir(dir: string): boolean;
  skip?: string;
}

const readState = (dir: string) => JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as Record<string, unknown>;

const runtimes: RuntimeUnderTest[] = [
  {
    name: 'runc',
    binary: '/usr/sbin/runc',
    ownsStateDir: (dir) => 'init_process_pid' in readState(dir),
    skip: existsSync('/usr/sbin/runc') ? undefined : 'runc is not installed (apt-get install runc)',
  },
  {
    name: 'berth',
    binary: join(repoRoot, 'bin', 'berth-runc.cjs'),
    // berth-runc's state.json (runtime/container/state-dir.ts) keeps the validated spec and the namespace paths.
    ownsStateDir: (dir) => {
      const s = readState(dir);
      return 'spec' in s && 'namespaces' in s && 'cgroupsPath' in s && !('init_process_pid' in s);
    },
    skip: existsSync(join(repoRoot, 'dist', 'src', 'runtime', 'runc-cli', 'main.js')) ? undefined : 'berth-runc not built (npx tsc -p .)',
  },
];

function show(r: SpawnSyncReturns<string>): string {
  return `status=${r.status} signal=${r.signal} error=${r.error?.message ?? ''}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
}

/** Parse docker's human sizes ("1.23MiB", "512KiB", "0B") into bytes. */
function bytes(s: string): number {
  const m = /^([\d.]+)\s*([KMGT]?i?B)$/.exec(s.trim());
  assert.ok(m, `not a size: ${s}`);
  const unit: Record<string, number> = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, kB: 1e3, KB: 1e3, MB: 1e6, GB: 1e9 };
  return Number(m[1]) * (unit[m[2]!] ?? NaN);
}

const only = process.env.BERTH_IT_RUNTIMES?.split(',').map((n) => (n === 'berth-runc' ? 'berth' : n));
const selected = runtimes.filter((rt) => !only || only.includes(rt.name));
const cg = makeTestCgroup('dockerd');
const skip = dockerdSkipReason() ?? (typeof cg === 'string' ? cg : undefined);

describe('dockerd 20.10 with OCI runtimes', { skip }, () => {
  let tmp: string;
  let dockerd: Dockerd;
  const cgroup = cg as TestCgroup;

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'berth-dockerd-'));
    dockerd = await startDockerd(join(tmp, 'docker'), {
      runtimes: { berth: join(repoRoot, 'bin', 'berth-runc.cjs') },
      cgroupParent: cgroup.path,
    });
    const tar = buildDockerSaveTar(tmp, REF);
    const load = dockerd.docker(['load', '-i', tar]);
    assert.equal(load.status, 0, `docker load: ${show(load)}`);
    assert.match(load.stdout, /Loaded image: busybox:berth-test/);
  });

  after(async () => {
    // Containers first (by their cgroup), so that dockerd's shutdown does not wait on them.
    if (cgroup && typeof cgroup !== 'string') await cgroup.cleanup();
    if (dockerd) await dockerd.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  for (const rt of selected) {
    describe(`--runtime ${rt.name}`, { skip: rt.skip }, () => {
      const docker = (args: string[], timeout = 60000) => dockerd.docker(args, { timeout });
      const diag = () => `--- dockerd log:\n${tail(dockerd.log, 12, true)}\n--- containerd log:\n${tail(dockerd.containerd.log, 8, true)}`;
      const runArgs = ['--runtime', rt.name, '--network', 'none'];

      it('docker run --rm prints the output of echo', () => {
        const r = docker(['run', '--rm', ...runArgs, REF, 'echo', 'hi']);
        assert.equal(r.status, 0, `${show(r)}\n${diag()}`);
        assert.equal(r.stdout, 'hi\n');
      });

      it('docker run exits with the container exit code', () => {
        const r = docker(['run', '--rm', ...runArgs, REF, 'sh', '-c', 'exit 3']);
        assert.equal(r.status, 3, `${show(r)}\n${diag()}`);
      });

      it('a detached container: runtime state, exec, stats, update, stop, rm', async () => {
        const name = `sleeper-${rt.name}`;
        const r = docker(['run', '-d', '--name', name, ...runArgs, REF, 'sleep', '300']);
        assert.equal(r.status, 0, `${show(r)}\n${diag()}`);
        const id = r.stdout.trim();
        try {
          const pid = Number(docker(['inspect', '-f', '{{.State.Pid}}', name]).stdout.trim());
          assert.ok(pid > 0, `container pid: ${pid}`);

          // The runtime root dockerd passes is <exec-root>/runtime-<something> (20.10 passes runtime-runc for every
          // runc-like runtime, so look for it); the shim adds the containerd namespace.
          const stateDir = readdirSync(dockerd.execRoot).filter((d) => d.startsWith('runtime-'))
            .map((d) => join(dockerd.execRoot, d, 'moby', id)).find((d) => existsSync(join(d, 'state.json')));
          assert.ok(stateDir, `no runtime state.json for ${id}; exec-root has: ${readdirSync(dockerd.execRoot, { recursive: true }).join(' ')}`);
          assert.ok(rt.ownsStateDir(stateDir), `${stateDir}/state.json was not written by ${rt.name}`);

          // The container's cgroup nests under the test's cgroup parent.
          const memPath = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').find((l) => /:memory:/.test(l))?.split(':')[2];
          assert.equal(memPath, `${cgroup.path}/${id}`);

          const ex = docker(['exec', name, 'sh', '-c', 'echo pid1=$(cat /proc/1/comm)']);
          assert.equal(ex.status, 0, `${show(ex)}\n${diag()}`);
          assert.equal(ex.stdout, 'pid1=sleep\n');
          const ex4 = docker(['exec', name, 'sh', '-c', 'exit 4']);
          assert.equal(ex4.status, 4, `${show(ex4)}\n${diag()}`);

          const st = docker(['stats', '--no-stream', '--format', '{{.MemUsage}}', name]);
          assert.equal(st.status, 0, `${show(st)}\n${diag()}`);
          const usage = bytes(st.stdout.split('/')[0]!);
          assert.ok(usage > 0, `memory usage > 0: ${st.stdout}`);

          const up = docker(['update', '--memory', '64m', '--memory-swap', '128m', name]);
          assert.equal(up.status, 0, `${show(up)}\n${diag()}`);
          const memDir = join('/sys/fs/cgroup/memory', memPath!);
          assert.equal(readFileSync(join(memDir, 'memory.limit_in_bytes'), 'utf8').trim(), String(64 * 1024 * 1024));
          if (existsSync(join(memDir, 'memory.memsw.limit_in_bytes'))) {
            assert.equal(readFileSync(join(memDir, 'memory.memsw.limit_in_bytes'), 'utf8').trim(), String(128 * 1024 * 1024));
          }
          assert.equal(docker(['inspect', '-f', '{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}}', name]).stdout.trim(),
            `${64 * 1024 * 1024} ${128 * 1024 * 1024}`);

          // sleep as pid 1 ignores SIGTERM: docker stop -t 1 sends SIGKILL after a second.
          const t0 = Date.now();
          const stop = docker(['stop', '-t', '1', name], 30000);
          const took = Date.now() - t0;
          assert.equal(stop.status, 0, `${show(stop)}\n${diag()}`);
          assert.ok(took < 10000, `docker stop took ${took} ms`);
          assert.equal(docker(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', name]).stdout.trim(), 'exited 137');
          await waitUntil('the runtime state dir to go', () => !existsSync(stateDir), 10000);
        } finally {
          const rm = docker(['rm', '-f', name]);
          assert.equal(rm.status, 0, `${show(rm)}\n${diag()}`);
        }
        assert.notEqual(docker(['inspect', name]).status, 0, 'container gone after rm');
      });

      it('docker rm -f removes a running container', () => {
        const name = `rmf-${rt.name}`;
        const r = docker(['run', '-d', '--name', name, ...runArgs, REF, 'sleep', '300']);
        assert.equal(r.status, 0, `${show(r)}\n${diag()}`);
        const rm = docker(['rm', '-f', name]);
        assert.equal(rm.status, 0, `${show(rm)}\n${diag()}`);
        assert.equal(docker(['ps', '-aq', '--filter', `name=${name}`]).stdout.trim(), '');
      });
    });
  }
});
