// Real containerd (a private one) driving an OCI runtime through containerd-shim-runc-v2: the same cases on Debian's
// runc (the anchor, proves the harness) and on berth-runc (the acceptance).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../fixtures/rootfs.js';
import { buildOciImageTar } from '../../fixtures/image.js';
import { containerdSkipReason, makeTestCgroup, startContainerd, tail, waitUntil, type Containerd, type TestCgroup } from '../../fixtures/daemons.js';
import type { SpawnSyncReturns } from 'node:child_process';

const REF = 'docker.io/library/busybox:berth-test';
const NS = 'berth-test';

/** One OCI runtime under test: the binary the shim execs, and how to recognise its state dir. */
export interface RuntimeUnderTest {
  name: string;
  binary: string;
  /** True if a container state dir (<root>/<ns>/<id>) was written by this runtime. */
  ownsStateDir(dir: string): boolean;
  skip?: string;
}

const berthRunc: RuntimeUnderTest = {
  name: 'berth-runc',
  binary: join(repoRoot, 'bin', 'berth-runc.cjs'),
  // berth-runc's state.json (runtime/container/state-dir.ts) keeps the validated spec and the namespace paths.
  ownsStateDir: (dir) => {
    const s = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as Record<string, unknown>;
    return 'spec' in s && 'namespaces' in s && 'cgroupsPath' in s && !('init_process_pid' in s);
  },
  skip: existsSync(join(repoRoot, 'dist', 'src', 'runtime', 'runc-cli', 'main.js')) ? undefined : 'berth-runc not built (npx tsc -p .)',
};

const runc: RuntimeUnderTest = {
  name: 'runc',
  binary: '/usr/sbin/runc',
  // runc's libcontainer state.json.
  ownsStateDir: (dir) => 'init_process_pid' in (JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as object),
  skip: existsSync('/usr/sbin/runc') ? undefined : 'runc is not installed (apt-get install runc)',
};

function show(r: SpawnSyncReturns<string>): string {
  return `status=${r.status} signal=${r.signal} error=${r.error?.message ?? ''}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
}

function containerdSuite(rt: RuntimeUnderTest): void {
  const cg = makeTestCgroup(`ctrd-${rt.name}`);
  const skip = containerdSkipReason() ?? rt.skip ?? (typeof cg === 'string' ? cg : undefined);
  describe(`containerd 1.6 + ${rt.name}`, { skip }, () => {
    let tmp: string;
    let cd: Containerd;
    let runcRoot: string;
    const cgroup = cg as TestCgroup;
    const ctr = (args: string[], timeout = 60000) => cd.ctr(NS, args, { timeout });
    /** `ctr run` flags that put the container on the runtime under test, in our cgroup. */
    const runFlags = (id: string) => ['--runtime', 'io.containerd.runc.v2', '--runc-binary', rt.binary, '--runc-root', runcRoot,
      '--cgroup', `${cgroup.path}/${id}`];
    const diag = () => `--- containerd log:\n${tail(cd.log, 12, true)}`;
    const taskStatus = (id: string): string | undefined => {
      const ls = ctr(['task', 'ls']);
      const line = ls.stdout.split('\n').find((l) => l.split(/\s+/)[0] === id);
      return line?.trim().split(/\s+/)[2];
    };

    before(async () => {
      tmp = mkdtempSync(join(tmpdir(), 'berth-ctrd-'));
      runcRoot = join(tmp, 'runc-root');
      cd = await startContainerd(join(tmp, 'containerd'));
      const tar = buildOciImageTar(tmp, REF);
      const imp = ctr(['images', 'import', tar]);
      assert.equal(imp.status, 0, `ctr images import: ${show(imp)}`);
      const ls = ctr(['images', 'ls', '-q']);
      assert.match(ls.stdout, /busybox:berth-test/, show(ls));
    });

    after(async () => {
      if (cgroup && typeof cgroup !== 'string') await cgroup.cleanup();
      if (cd) await cd.stop();
      if (tmp) rmSync(tmp, { recursive: true, force: true });
    });

    it('ctr run --rm: the output of echo reaches the shim\'s log file', () => {
      // The shim writes the container's stdout to the file itself, as it does for the kubelet's
      // logs. Not ctr's stdout: ctr 1.6 closes its fifo readers on delete without draining them
      // (containerd PR #8643), so a short task's output is sometimes lost in ctr, whatever the runtime.
      const log = join(tmp, `echo-${process.hrtime.bigint()}.log`);
      const r = ctr(['run', '--rm', '--log-uri', `file://${log}`, ...runFlags('echo'), REF, 'echo', 'echo', 'hello from', rt.name]);
      assert.equal(r.status, 0, `${show(r)}\n${diag()}`);
      assert.equal(readFileSync(log, 'utf8'), `hello from ${rt.name}\n`);
    });

    it('ctr run --rm exits with the container exit code', () => {
      const r = ctr(['run', '--rm', ...runFlags('exit3'), REF, 'exit3', 'sh', '-c', 'exit 3']);
      assert.equal(r.status, 3, `${show(r)}\n${diag()}`);
    });

    it('a detached task runs on this runtime: exec, pause, resume, kill, delete', async () => {
      const id = 'sleeper';
      const r = ctr(['run', '-d', '--null-io', ...runFlags(id), REF, id, 'sleep', '300']);
      assert.equal(r.status, 0, `${show(r)}\n${diag()}`);
      try {
        await waitUntil('task RUNNING', () => taskStatus(id) === 'RUNNING', 15000, diag);

        // The state dir that containerd's shim asked the runtime to write (--root <runc-root>/<namespace>).
        const stateDir = join(runcRoot, NS, id);
        assert.ok(existsSync(join(stateDir, 'state.json')), `no state.json in ${stateDir}: ${readdirSync(runcRoot, { recursive: true }).join(' ')}`);
        assert.ok(rt.ownsStateDir(stateDir), `${stateDir}/state.json was not written by ${rt.name}`);

        // The task's pid is in our cgroup.
        const pid = Number(ctr(['task', 'ls']).stdout.split('\n').find((l) => l.startsWith(id + ' '))?.trim().split(/\s+/)[1]);
        assert.ok(pid > 0, 'task pid');
        const memLine = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').find((l) => /:memory:/.test(l));
        assert.equal(memLine?.split(':')[2], `${cgroup.path}/${id}`);

        // The exec joins the task's pid and mount namespaces: its pid 1 is the sleep, and what it
        // writes lands in the task's root. It writes a file rather than to stdout: ctr 1.6's exec
        // deletes the process (cancelling its fifo readers) without draining them first, so a short
        // exec's output is sometimes lost in ctr itself (containerd PR #13931), whatever the runtime.
        const ex = ctr(['task', 'exec', '--exec-id', 'x1', id, 'sh', '-c', 'echo pid1=$(cat /proc/1/comm) > /tmp/x1']);
        assert.equal(ex.status, 0, `${show(ex)}\n${diag()}`);
        assert.equal(readFileSync(`/proc/${pid}/root/tmp/x1`, 'utf8'), 'pid1=sleep\n');
        const ex7 = ctr(['task', 'exec', '--exec-id', 'x2', id, 'sh', '-c', 'exit 7']);
        assert.equal(ex7.status, 7, `${show(ex7)}\n${diag()}`);

        const pause = ctr(['task', 'pause', id]);
        assert.equal(pause.status, 0, `${show(pause)}\n${diag()}`);
        assert.equal(taskStatus(id), 'PAUSED');
        const resume = ctr(['task', 'resume', id]);
        assert.equal(resume.status, 0, `${show(resume)}\n${diag()}`);
        assert.equal(taskStatus(id), 'RUNNING');

        // sleep is pid 1 and has no SIGTERM handler, so the kernel drops SIGTERM: SIGKILL stops it.
        const kill = ctr(['task', 'kill', '--signal', 'SIGKILL', id]);
        assert.equal(kill.status, 0, `${show(kill)}\n${diag()}`);
        await waitUntil('task STOPPED', () => taskStatus(id) === 'STOPPED', 15000, diag);
      } finally {
        const del = ctr(['task', 'delete', '--force', id]);
        const cdel = ctr(['container', 'delete', id]);
        assert.equal(cdel.status, 0, `container delete: ${show(cdel)}\ntask delete: ${show(del)}\n${diag()}`);
      }
      assert.equal(taskStatus(id), undefined);
      assert.ok(!existsSync(join(runcRoot, NS, id)), 'runtime state dir removed after delete');
    });
  });
}

// BERTH_IT_RUNTIMES=runc or =berth-runc runs one variant only.
const only = process.env.BERTH_IT_RUNTIMES?.split(',');
for (const rt of [runc, berthRunc]) if (!only || only.includes(rt.name)) containerdSuite(rt);
