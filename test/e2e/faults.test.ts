// Faults: berthd killed -9 at exact points inside `run`, `rm`, an exit, a pull, a commit and `network rm` (BERTH_TEST_CRASH_AT), then
// restarted on the same roots: `berthd check` passes and every container is in a sane state; a restart loop is throttled.
//
// Each case restarts berthd with the crash point set, drives the docker CLI into it, waits for the SIGKILL, runs the
// check with berthd down (what the crash left), restarts berthd normally, and checks again (must be clean).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { berthdSkipReason, startBerthd, type Berthd } from '../fixtures/berthd.js';
import { buildDockerSaveTar } from '../fixtures/image.js';
import { waitFor } from '../fixtures/process.js';
import { testBridge } from '../fixtures/network.js';
import { registrySkipReason, startRegistry, type Registry } from '../fixtures/registry.js';
import { makeBusyboxRootfs } from '../fixtures/rootfs.js';

const skip = berthdSkipReason();
const IMAGE = 'busybox:latest';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let d: Berthd;
let tmp: string;

function ok(args: string[], opts: { timeout?: number } = {}): string {
  const r = d.docker(args, opts);
  assert.equal(r.status, 0, `docker ${args.join(' ')} exited ${r.status}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r.stdout;
}

const roots = () => ({ dir: d.dir, execRoot: d.execRoot });

/** Assert `berthd check` passes on the running daemon. */
function assertConsistent(what: string): void {
  const r = d.check();
  assert.equal(r.status, 0, `${what}: berthd check found:\n${r.report.findings.map((f) => `  ${f.kind}: ${f.message}`).join('\n')}${r.stderr}`);
  assert.equal(r.report.ok, true);
  assert.equal(r.report.daemonPid, d.pid);
}

/**
 * Restart berthd with BERTH_TEST_CRASH_AT=`at`, run `op` (berthd dies inside it), check the state it left (berthd
 * down), start berthd again normally. Resolves with what `op` returned and the down check's findings.
 */
async function crashDuring<T>(at: string, op: () => Promise<T>): Promise<{ result: T; down: Array<{ kind: string; object: string }> }> {
  await d.stop({ keepContainers: true });
  d = await startBerthd({ reuse: roots(), env: { BERTH_TEST_CRASH_AT: at } });
  const result = await op();
  const ex = await Promise.race([d.exited, sleep(30_000).then(() => undefined)]);
  assert.equal(ex?.signal, 'SIGKILL', `berthd did not die at ${at}:\n${readFileSync(d.log, 'utf8').slice(-2000)}`);
  assert.match(readFileSync(d.log, 'utf8'), new RegExp(`killing myself at ${at.replace(/#.*/, '')}#`));
  const down = d.check();
  assert.equal(down.report.daemonPid, null);
  d = await startBerthd({ reuse: roots() });
  return { result, down: down.report.findings };
}

function state(name: string): string | undefined {
  const r = d.docker(['inspect', '--format', '{{.State.Status}}', name]);
  if (r.status !== 0) {
    assert.match(r.stderr, /No such (container|object)/);
    return undefined;
  }
  return r.stdout.trim();
}

describe('faults: berthd killed -9 inside run, rm, exit, commit, pull and network rm', { skip }, () => {
  let bridgeNet: { name: string; subnet: string };
  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'berth-e2e-faults-'));
    d = await startBerthd({ prefix: 'berthd-faults-' });
    ok(['load', '-i', buildDockerSaveTar(tmp, IMAGE)]);
    bridgeNet = { name: 'faultnet', subnet: testBridge().subnet };
  });
  after(async () => {
    await d?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  // `run -d`: killed in create, the container never existed; killed in start, it is created (or
  // running, once the process was released) and starts and stops normally.
  const runCases: Array<[string, 'none' | 'bridge', 'gone' | 'created' | 'running']> = [
    ['create:after-dir', 'none', 'gone'],
    ['create:after-snapshot', 'none', 'gone'],
    ['create:rootfs-mounted', 'none', 'gone'],
    ['create:after-lifecycle', 'bridge', 'gone'],
    ['start:after-mount', 'none', 'created'],
    ['network:after-pin', 'bridge', 'created'],
    ['network:after-cni-add', 'bridge', 'created'],
    ['start:after-network', 'bridge', 'created'],
    ['task:after-row', 'none', 'created'],
    ['task:after-shim', 'bridge', 'created'],
    ['start:after-task', 'none', 'created'],
    ['start:after-release', 'bridge', 'running'],
  ];
  for (const [at, net, expect] of runCases) {
    test(`run killed at ${at} (${net}): ${expect} after the restart, nothing leaked`, async () => {
      const name = `f-${at.replace(/[^a-z]+/g, '-')}`;
      const { result } = await crashDuring(at, () => d.dockerAsync(['run', '-d', '--name', name, '--network', net, IMAGE, 'sh', '-c', 'echo started; exec sleep 100']));
      assert.notEqual(result.status, 0, 'the client saw the daemon die');
      assertConsistent(at);
      assert.equal(state(name), expect === 'gone' ? undefined : expect);
      if (expect === 'created') ok(['start', name]);
      if (expect !== 'gone') {
        assert.equal(state(name), 'running');
        assert.doesNotMatch(ok(['inspect', '--format', '{{.State.StartedAt}}', name]), /^0001-/, 'it has a start time');
        for (let i = 0; i < 50 && !ok(['logs', name]).includes('started'); i++) await sleep(100);
        assert.equal(ok(['logs', name]), 'started\n', 'the process ran once');
        ok(['stop', '-t', '1', name]);
        assert.equal(state(name), 'exited');
        ok(['rm', name]);
      }
      // The name is free again either way.
      ok(['run', '--rm', '--name', name, '--network', net, IMAGE, 'true']);
      assertConsistent(`${at}, after a new run`);
    });
  }

  // `rm -f` of a running container: finished by the restart.
  const rmCases: Array<[string, 'none' | 'bridge']> = [
    ['rm:after-mark', 'bridge'],
    ['rm:after-task', 'bridge'],
    ['rm:after-unmount', 'none'],
    ['rm:before-snapshot', 'none'],
    ['rm:after-snapshot', 'bridge'],
  ];
  for (const [at, net] of rmCases) {
    test(`rm -f killed at ${at} (${net}): the restart finishes the removal`, async () => {
      const name = `f-${at.replace(/[^a-z]+/g, '-')}`;
      ok(['run', '-d', '--name', name, '--network', net, IMAGE, 'sleep', '100']);
      const { result, down } = await crashDuring(at, () => d.dockerAsync(['rm', '-f', name]));
      assert.notEqual(result.status, 0);
      assert.ok(down.some((f) => f.kind === 'interrupted-removal'), `down check: ${JSON.stringify(down)}`);
      assertConsistent(at);
      assert.equal(state(name), undefined, 'removed');
      ok(['run', '--rm', '--name', name, '--network', net, IMAGE, 'true']);
    });
  }

  // `commit`: killed while the container is frozen for the diff, after the layer blob, while unpacking it, or before
  // naming the image: no image (half or whole), what was written is collected at the restart, the container is intact
  // (still paused when the kill came during the diff, as dockerd would leave it) and a second commit works.
  const commitCases: Array<[string, string | undefined, 'paused' | 'running']> = [
    ['commit:during-diff', undefined, 'paused'],
    ['commit:after-layer', 'orphan-blob', 'running'],
    ['unpack:after-apply', 'orphan-snapshot', 'running'],
    ['commit:after-unpack', 'orphan-blob', 'running'],
  ];
  for (const [at, leftover, status] of commitCases) {
    test(`commit killed at ${at}: no image, the container ${status}, the next commit works`, async () => {
      const name = `f-${at.replace(/[^a-z]+/g, '-')}`;
      ok(['run', '-d', '--name', name, '--network', 'none', IMAGE, 'sh', '-c', 'echo data > /f; exec sleep 100']);
      const images = ok(['images', '-a', '--no-trunc', '--format', '{{.ID}} {{.Repository}}:{{.Tag}}']);
      const { result, down } = await crashDuring(at, () => d.dockerAsync(['commit', name, 'f-commit:1']));
      assert.notEqual(result.status, 0);
      if (leftover) assert.ok(down.some((f) => f.kind === leftover), `down check should see a ${leftover}: ${JSON.stringify(down)}`);
      assertConsistent(at);
      assert.equal(ok(['images', '-a', '--no-trunc', '--format', '{{.ID}} {{.Repository}}:{{.Tag}}']), images);
      assert.equal(state(name), status);
      if (status === 'paused') ok(['unpause', name]);
      ok(['commit', name, 'f-commit:1']);
      assert.equal(state(name), 'running');
      assert.equal(ok(['run', '--rm', '--network', 'none', 'f-commit:1', 'cat', '/f']), 'data\n');
      ok(['rm', '-f', name]);
      ok(['rmi', 'f-commit:1']);
      assertConsistent(`${at}, after rmi`);
    });
  }

  test('killed while applying an exit (after the task was deleted): the exit code survives, the mount and netns go', async () => {
    const name = 'f-exit';
    const { result } = await crashDuring('exit:after-task-delete', async () => {
      ok(['run', '-d', '--name', name, IMAGE, 'sh', '-c', 'sleep 0.5; exit 3']);
      return 0;
    });
    assert.equal(result, 0);
    assertConsistent('exit');
    assert.equal(state(name), 'exited');
    assert.equal(ok(['inspect', '--format', '{{.State.ExitCode}}', name]).trim(), '3');
    ok(['rm', name]);
  });

  test('network rm killed after the record went: the restart removes the bridge', async () => {
    const bridge = `bf${randomBytes(3).toString('hex')}`;
    ok(['network', 'create', '--subnet', bridgeNet.subnet, '-o', `com.docker.network.bridge.name=${bridge}`, bridgeNet.name]);
    ok(['run', '--rm', '--network', bridgeNet.name, IMAGE, 'true']);
    assert.ok(existsSync(`/sys/class/net/${bridge}`), 'the bridge was made');
    const { down } = await crashDuring('network-rm:after-record', () => d.dockerAsync(['network', 'rm', bridgeNet.name]));
    assert.ok(down.some((f) => f.kind === 'interrupted-network-removal'), `down check: ${JSON.stringify(down)}`);
    assertConsistent('network rm');
    assert.equal(existsSync(`/sys/class/net/${bridge}`), false, 'the bridge is gone');
    assert.notEqual(d.docker(['network', 'inspect', bridgeNet.name]).status, 0);
  });

  describe('pull from a local registry', { skip: registrySkipReason() }, () => {
    let reg: Registry;
    let ref: string;
    before(async () => {
      reg = await startRegistry();
      // An image of our own with a layer big enough for many writes (busybox and 4 MiB of noise), pushed, then removed here.
      const rootfs = makeBusyboxRootfs(join(tmp, 'big-rootfs'));
      writeFileSync(join(rootfs, 'noise'), randomBytes(4 << 20));
      const tar = join(tmp, 'big.tar');
      assert.equal(spawnSync('tar', ['-C', rootfs, '-cf', tar, '.']).status, 0);
      ref = `${reg.host}/faults/big:1`;
      ok(['import', '-c', 'CMD ["/bin/sh"]', tar, ref]);
      ok(['push', ref]);
      ok(['rmi', ref]);
    });
    after(async () => {
      await reg?.stop();
    });

    const pullCases: Array<[string, 'absent' | 'present', string | undefined]> = [
      ['pull:layer-data#3', 'absent', 'partial-blob'],
      ['pull:after-blobs', 'absent', 'orphan-blob'],
      ['pull:after-name', 'present', undefined],
      ['unpack:after-apply', 'present', 'orphan-snapshot'],
    ];
    for (const [at, image, leftover] of pullCases) {
      test(`pull killed at ${at}: no partial image; the next pull and run work`, async () => {
        const { result, down } = await crashDuring(at, () => d.dockerAsync(['pull', ref], { timeout: 120_000 }));
        assert.notEqual(result.status, 0);
        if (leftover) assert.ok(down.some((f) => f.kind === leftover), `down check should see a ${leftover}: ${JSON.stringify(down)}`);
        assertConsistent(at);
        const listed = ok(['images', '--format', '{{.Repository}}:{{.Tag}}']).split('\n');
        assert.equal(listed.includes(ref), image === 'present', `images: ${listed.join(' ')}`);
        const pulled = ok(['pull', ref], { timeout: 120_000 });
        assert.match(pulled, /Status: (Downloaded newer image|Image is up to date)/);
        assert.equal(ok(['run', '--rm', '--network', 'none', ref, 'sh', '-c', 'test -s /noise && echo ok']), 'ok\n');
        ok(['rmi', ref]);
        assertConsistent(`${at}, after rmi`);
      });
    }
  });
});

describe('faults: restart loops are throttled', { skip }, () => {
  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'berth-e2e-throttle-'));
    d = await startBerthd({ prefix: 'berthd-throttle-' });
    ok(['load', '-i', buildDockerSaveTar(tmp, IMAGE)]);
  });
  after(async () => {
    await d?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  /** berthd's CPU time (user + system), in ms. */
  const cpuMs = () => {
    const f = readFileSync(`/proc/${d.pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime, stime in clock ticks (USER_HZ 100)
  };

  test('a --restart always container that exits at once is restarted on Docker\'s backoff (100 ms doubling), not in a CPU-burning loop', async () => {
    const since = (Date.now() / 1000 - 1).toFixed(3);
    const id = ok(['run', '-d', '--restart', 'always', '--network', 'none', IMAGE, 'false']).trim();
    const count = () => Number(ok(['inspect', '--format', '{{.RestartCount}}', id]).trim());
    // Six restarts after waits of 100 to 3200 ms; the seventh exit then waits 6.4 s.
    await waitFor(() => count() >= 7, 60_000, 'RestartCount 7');
    // Berthd is idle in that wait: no restart, a small share of one core however loaded the machine
    // (a restart loop that burns CPU would take all of it).
    const n = count();
    const c1 = cpuMs();
    await sleep(2000);
    const idle = cpuMs() - c1;
    const n2 = count();
    assert.ok(n2 <= n + 1, `RestartCount ${n} -> ${n2} in 2 s`);
    assert.ok(idle < 1000, `berthd used ${idle} ms of CPU in 2 s of backoff`);
    // Each wait from an exit to the next start is at least the backoff (from the events' times; a
    // slow machine only makes the waits longer): 100, 200, 400, ... 3200 ms, so never a tight loop.
    const evs = ok(['events', '--since', since, '--until', (Date.now() / 1000).toFixed(3), '--filter', `container=${id}`, '--format', '{{json .}}'])
      .split('\n').filter(Boolean).map((l) => JSON.parse(l) as { Action: string; timeNano: number });
    const at = (a: string) => evs.filter((e) => e.Action === a).map((e) => e.timeNano / 1e6);
    const starts = at('start');
    const dies = at('die');
    const gaps = starts.slice(1).map((t, k) => t - dies[k]!);
    assert.ok(gaps.length >= 6, `${starts.length} starts, ${dies.length} exits`);
    gaps.slice(0, 6).forEach((g, k) => assert.ok(g >= 0.95 * 100 * 2 ** k, `wait ${k + 1} below ${100 * 2 ** k} ms: ${gaps.map(Math.round).join(', ')}`));
    ok(['rm', '-f', id]);
  });
});

describe('faults: health checks after berthd is killed -9', { skip }, () => {
  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'berth-e2e-health-'));
    d = await startBerthd({ prefix: 'berthd-health-' });
    ok(['load', '-i', buildDockerSaveTar(tmp, IMAGE)]);
  });
  after(async () => {
    await d?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  interface Health { Status: string; FailingStreak: number; Log: Array<{ Start: string; ExitCode: number }> }
  const health = (id: string) => JSON.parse(ok(['inspect', '--format', '{{json .State.Health}}', id])) as Health;
  async function until(what: string, id: string, f: (h: Health) => boolean): Promise<Health> {
    const end = Date.now() + 30_000;
    for (let h = health(id); ; h = health(id)) {
      if (f(h)) return h;
      if (Date.now() > end) throw new Error(`${what}: ${JSON.stringify(h)}`);
      await sleep(200);
    }
  }

  test('the next berthd checks a running container again: "starting" with the streak reset and the log kept (dockerd\'s restore), then healthy', async () => {
    // Healthy while /fail is missing; a 3 s interval leaves time to see the state the restore sets before a probe.
    const id = ok(['run', '-d', '--network', 'none', '--health-cmd', 'test ! -e /fail', '--health-interval', '3s', '--health-retries', '100', IMAGE, 'sleep', '1000']).trim();
    await until('healthy', id, (h) => h.Status === 'healthy');
    ok(['exec', id, 'touch', '/fail']);
    const failing = await until('a failed probe', id, (h) => h.FailingStreak >= 1);
    assert.equal(failing.Status, 'healthy', 'below the retries the status holds');
    process.kill(d.pid, 'SIGKILL');
    assert.equal((await d.exited).signal, 'SIGKILL');
    const restarted = Date.now();
    d = await startBerthd({ reuse: roots() });
    const h = health(id);
    assert.equal(h.Status, 'starting');
    assert.equal(h.FailingStreak, 0);
    assert.deepEqual(h.Log.slice(0, failing.Log.length), failing.Log, 'the probes before the restart are kept');
    ok(['exec', id, 'rm', '/fail']);
    const back = await until('healthy again', id, (x) => x.Status === 'healthy');
    assert.equal(back.FailingStreak, 0);
    assert.ok(back.Log.some((l) => Date.parse(l.Start) >= restarted && l.ExitCode === 0), 'probed by the new berthd');
    assert.match(ok(['ps', '--format', '{{.Status}}', '--filter', `id=${id}`]), /^Up .* \(healthy\)$/m);
    ok(['rm', '-f', id]);
  });
});
