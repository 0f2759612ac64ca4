// Task events (`type=task`, the lifecycle's containerd topics) through the real docker CLI and the berth CLI, and docker's own events unchanged.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { berthdSkipReason, startBerthd, type Berthd } from '../fixtures/berthd.js';
import { buildDockerSaveTar } from '../fixtures/image.js';
import { repoRoot } from '../fixtures/rootfs.js';

const BERTH = join(repoRoot, 'bin', 'berth.cjs');
const skip = berthdSkipReason() ?? (existsSync(join(repoRoot, 'dist', 'berth.cjs')) ? undefined : 'the berth bundle is not built (node scripts/bundle.mjs)');
const IMAGE = 'busybox:latest';
const NONE = ['--network', 'none'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('events: task events for clients that ask', { skip }, () => {
  let d: Berthd;
  let tmp: string;

  function ok(args: string[]): string {
    const r = d.docker(args);
    assert.equal(r.status, 0, `docker ${args.join(' ')} exited ${r.status}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    return r.stdout;
  }

  function berth(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const c = spawn(process.execPath, [BERTH, '-H', d.host, ...args], {
        env: { PATH: process.env.PATH, HOME: tmp, DOCKER_CONFIG: join(tmp, 'cli'), BERTH_NO_AUTOSTART: '1', LANG: 'C' }, stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      c.stdout.on('data', (x: Buffer) => { stdout += x.toString(); });
      c.stderr.on('data', (x: Buffer) => { stderr += x.toString(); });
      const t = setTimeout(() => c.kill('SIGKILL'), 30000);
      c.on('close', (code) => { clearTimeout(t); resolve({ code, stdout, stderr }); });
    });
  }

  /** Unix seconds with a fraction, as `--since`/`--until` take them. */
  const now = () => (Date.now() / 1000).toFixed(3);

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'berth-e2e-events-'));
    const tar = buildDockerSaveTar(tmp, IMAGE);
    d = await startBerthd();
    ok(['load', '-i', tar]);
  });
  after(async () => {
    await d?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test('a container\'s life as task events, docker\'s events unchanged, the same lines from both CLIs', async () => {
    const since = now();
    await sleep(20);
    ok(['run', '-d', ...NONE, '--name', 'ev-web', '--label', 'tier=front', IMAGE, 'sleep', '300']);
    ok(['exec', 'ev-web', 'true']);
    ok(['pause', 'ev-web']);
    ok(['unpause', 'ev-web']);
    ok(['kill', 'ev-web']);
    ok(['wait', 'ev-web']);
    ok(['rm', 'ev-web']);
    await sleep(20);
    const until = now();
    const id = ok(['events', '--since', since, '--until', until, '--filter', 'type=container', '--filter', 'event=create', '--format', '{{.Actor.ID}}']).trim();
    assert.match(id, /^[0-9a-f]{64}$/);
    const range = ['--since', since, '--until', until];

    // docker events as dockerd would send them: no task event without the filter.
    const plain = ok(['events', ...range, '--format', '{{.Type}} {{.Action}}']).trim().split('\n');
    assert.deepEqual(plain.filter((l) => l.startsWith('container ')).map((l) => l.slice('container '.length)),
      ['create', 'start', 'exec_create: true', 'exec_start: true', 'exec_die', 'pause', 'unpause', 'kill', 'die', 'destroy']);
    assert.equal(plain.filter((l) => l.startsWith('task')).length, 0, plain.join('\n'));

    const topics = ok(['events', ...range, '--filter', 'type=task', '--filter', 'container=ev-web', '--format', '{{.Action}}']).trim().split('\n');
    // As `ctr events` shows them under dockerd: its containerd container is made at the start and deleted with the task.
    assert.deepEqual(topics, ['/containers/create', '/tasks/create', '/tasks/start', '/tasks/exec-added', '/tasks/exec-started', '/tasks/paused', '/tasks/resumed', '/tasks/exit', '/tasks/delete', '/containers/delete']);
    const created = ok(['events', ...range, '--filter', 'type=task', '--filter', 'container=ev-web', '--filter', 'event=/containers/create', '--format', '{{json .Actor.Attributes}}']);
    assert.deepEqual(JSON.parse(created), { image: IMAGE, name: 'ev-web', namespace: 'moby', runtime: 'io.berth.shim.v1', tier: 'front' });

    // Both types interleave in time order: the task starts before docker's start, exits before die.
    const both = ok(['events', ...range, '--filter', 'type=task', '--filter', 'type=container', '--filter', 'container=ev-web', '--format', '{{.Action}}']).trim().split('\n');
    assert.ok(both.indexOf('/tasks/start') < both.indexOf('start'), both.join(', '));
    assert.ok(both.indexOf('/tasks/exit') < both.indexOf('die'), both.join(', '));

    // The default layout of an exit, as docker prints any event: time, type, action, actor, attributes.
    const exitLine = ok(['events', ...range, '--filter', 'type=task', '--filter', 'event=exit']).trim();
    assert.match(exitLine, new RegExp(`^\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z task /tasks/exit ${id} \\(exit_status=137, exited_at=\\S+, name=ev-web, namespace=moby, pid=\\d+, tier=front\\)$`));

    // The berth CLI prints the very same lines (with the same filters, the same layout).
    for (const filters of [['--filter', 'type=task'], ['--filter', 'type=task', '--filter', 'event=/tasks/exec-started'], ['--filter', 'type=task', '--filter', 'type=container', '--filter', 'label=tier=front']]) {
      const viaDocker = ok(['events', ...range, ...filters]);
      const viaBerth = await berth(['events', ...range, ...filters]);
      assert.equal(viaBerth.code, 0, viaBerth.stderr);
      assert.equal(viaBerth.stdout, viaDocker, filters.join(' '));
      assert.ok(viaDocker.length > 0);
    }
  });

  test('an OOM kill while the container runs: docker\'s oom event at once, the container going on; OOMKilled at its exit', async () => {
    const since = now();
    // busybox tail keeps a line of /dev/zero in memory until the cgroup's limit (no swap) OOM-kills it; sh and sleep go on.
    ok(['run', '-d', ...NONE, '--name', 'ev-oom', '--memory', '32m', '--memory-swap', '32m', IMAGE, 'sh', '-c', 'tail /dev/zero; sleep 300']);
    const stream = d.spawnDocker(['events', '--since', since, '--filter', 'container=ev-oom', '--filter', 'type=container', '--filter', 'type=task', '--format', '{{.Type}} {{.Action}}']);
    let out = '';
    stream.stdout!.on('data', (x: Buffer) => { out += x.toString(); });
    try {
      for (let i = 0; i < 100 && !/container oom/.test(out); i++) await sleep(100);
      assert.match(out, /task \/tasks\/oom\ncontainer oom\n/);
      assert.equal(ok(['inspect', '-f', '{{.State.Status}}', 'ev-oom']).trim(), 'running', 'the container goes on');
      ok(['kill', 'ev-oom']);
      for (let i = 0; i < 50 && !/container die/.test(out); i++) await sleep(100);
      // One oom (when it happened), not a second at the exit; the exit records it.
      assert.equal(out.match(/container oom/g)?.length, 1, out);
      assert.equal(out.match(/task \/tasks\/oom/g)?.length, 1, out);
      assert.ok(out.indexOf('container oom') < out.indexOf('container die'), out);
      assert.equal(ok(['inspect', '-f', '{{.State.OOMKilled}}', 'ev-oom']).trim(), 'true');
    } finally {
      try { process.kill(stream.pid!, 'SIGKILL'); } catch { /* gone */ }
      d.docker(['rm', '-f', 'ev-oom']);
    }
  });

  test('an OOM kill of the container\'s process: oom then die, once each', async () => {
    const since = now();
    const r = d.docker(['run', ...NONE, '--name', 'ev-oom2', '--memory', '32m', '--memory-swap', '32m', IMAGE, 'tail', '/dev/zero']);
    assert.equal(r.status, 137, r.stderr);
    await sleep(100);
    const out = ok(['events', '--since', since, '--until', now(), '--filter', 'container=ev-oom2', '--filter', 'event=oom', '--filter', 'event=die', '--filter', 'event=/tasks/oom',
      '--filter', 'type=container', '--filter', 'type=task', '--format', '{{.Type}} {{.Action}}']);
    assert.equal(out, 'task /tasks/oom\ncontainer oom\ncontainer die\n');
    assert.equal(ok(['inspect', '-f', '{{.State.OOMKilled}}', 'ev-oom2']).trim(), 'true');
    ok(['rm', 'ev-oom2']);
  });

  test('live: a stream with type=task sees the task start; a plain stream does not', async () => {
    // --since a time before the run: a stream that subscribes late (a slow machine) still gets the run's events, from
    // the replay, and then stays live; no guess at how long subscribing takes.
    const since = now();
    const tasks = d.spawnDocker(['events', '--since', since, '--filter', 'type=task', '--format', '{{.Action}} {{.Actor.Attributes.name}}']);
    const plain = d.spawnDocker(['events', '--since', since, '--format', '{{.Type}} {{.Action}}']);
    let tasksOut = '';
    let plainOut = '';
    tasks.stdout!.on('data', (x: Buffer) => { tasksOut += x.toString(); });
    plain.stdout!.on('data', (x: Buffer) => { plainOut += x.toString(); });
    try {
      ok(['run', '--rm', ...NONE, '--name', 'ev-live', IMAGE, 'true']);
      for (let i = 0; i < 50 && !/\/containers\/delete ev-live/.test(tasksOut); i++) await sleep(100);
      assert.match(tasksOut, /^\/containers\/create ev-live\n\/tasks\/create ev-live\n\/tasks\/start ev-live\n\/tasks\/exit ev-live\n\/tasks\/delete ev-live\n\/containers\/delete ev-live\n$/);
      for (let i = 0; i < 50 && !/container destroy/.test(plainOut); i++) await sleep(100);
      assert.match(plainOut, /container start/);
      assert.doesNotMatch(plainOut, /task/);
    } finally {
      for (const c of [tasks, plain]) try { process.kill(c.pid!, 'SIGKILL'); } catch { /* gone */ }
    }
  });
  test('--filter image=: the image\'s own events and those of containers made from it, with or without the tag', async () => {
    const since = now();
    await sleep(20);
    ok(['tag', IMAGE, 'ev-img:1']);
    ok(['run', '-d', ...NONE, '--name', 'ev-from-img', 'ev-img:1', 'true']);
    ok(['wait', 'ev-from-img']);
    ok(['rm', 'ev-from-img']);
    ok(['run', '--rm', ...NONE, '--name', 'ev-from-busybox', IMAGE, 'true']);
    ok(['rmi', 'ev-img:1']);
    await sleep(20);
    const range = ['--since', since, '--until', now()];
    const fmt = ['--format', '{{.Type}} {{.Action}} {{.Actor.Attributes.name}}'];
    const lines = (f: string[]) => ok(['events', ...range, ...f, ...fmt]).trim().split('\n');
    const want = ['image tag ev-img:1', 'container create ev-from-img', 'container start ev-from-img', 'container die ev-from-img', 'container destroy ev-from-img', 'image untag ev-img:1'];
    assert.deepEqual(lines(['--filter', 'image=ev-img:1']), want);
    assert.deepEqual(lines(['--filter', 'image=ev-img']), want, 'without the tag');
    assert.deepEqual(lines(['--filter', 'image=ev-img', '--filter', 'type=container']), want.filter((l) => l.startsWith('container ')));
    const busybox = lines(['--filter', 'image=busybox']);
    assert.ok(busybox.includes('container start ev-from-busybox'), busybox.join('\n'));
    assert.ok(!busybox.some((l) => l.includes('ev-from-img')), busybox.join('\n'));
  });

  test('--filter type=network with network=: create, connect, disconnect, destroy of that network only', async () => {
    const since = now();
    await sleep(20);
    const netId = ok(['network', 'create', 'ev-net']).trim();
    ok(['network', 'create', 'ev-other']);
    const id = ok(['run', '-d', '--network', 'ev-net', '--name', 'ev-netc', IMAGE, 'sleep', '300']).trim();
    ok(['network', 'connect', 'ev-other', 'ev-netc']);
    ok(['network', 'disconnect', 'ev-net', 'ev-netc']);
    ok(['rm', '-f', 'ev-netc']);
    ok(['network', 'rm', 'ev-net', 'ev-other']);
    await sleep(20);
    const range = ['--since', since, '--until', now()];
    const fmt = ['--format', '{{.Type}} {{.Action}} {{.Actor.ID}} {{.Actor.Attributes.name}} {{.Actor.Attributes.type}} {{with .Actor.Attributes.container}}{{.}}{{end}}'];
    const want = [`network create ${netId} ev-net bridge`, `network connect ${netId} ev-net bridge ${id}`, `network disconnect ${netId} ev-net bridge ${id}`, `network destroy ${netId} ev-net bridge`];
    for (const f of [['network=ev-net'], [`network=${netId.slice(0, 12)}`], ['type=network', 'network=ev-net']]) {
      assert.deepEqual(ok(['events', ...range, ...f.flatMap((x) => ['--filter', x]), ...fmt]).trim().split('\n').map((l) => l.trimEnd()), want, f.join(' '));
    }
    const other = ok(['events', ...range, '--filter', 'type=network', '--filter', 'network=ev-other', '--format', '{{.Action}}']).trim().split('\n');
    assert.deepEqual(other, ['create', 'connect', 'disconnect', 'destroy'], 'connected by hand, disconnected at rm');
  });

  test('--filter type=volume with volume=: create, mount, unmount, destroy of that volume only', async () => {
    const since = now();
    await sleep(20);
    ok(['volume', 'create', 'ev-vol']);
    const id = ok(['run', '-d', ...NONE, '-v', 'ev-vol:/data:ro', '-v', 'other-vol:/other', '--name', 'ev-volc', IMAGE, 'true']).trim();
    ok(['wait', 'ev-volc']);
    ok(['rm', 'ev-volc']);
    ok(['volume', 'rm', 'ev-vol', 'other-vol']);
    await sleep(20);
    const range = ['--since', since, '--until', now()];
    const out = ok(['events', ...range, '--filter', 'type=volume', '--filter', 'volume=ev-vol', '--format', '{{.Action}} {{.Actor.ID}} {{json .Actor.Attributes}}']).trim().split('\n');
    assert.deepEqual(out, [
      'create ev-vol {"driver":"local"}',
      `mount ev-vol {"container":"${id}","destination":"/data","driver":"local","propagation":"","read/write":"false"}`,
      `unmount ev-vol {"container":"${id}","driver":"local"}`,
      'destroy ev-vol {"driver":"local"}',
    ]);
    const other = ok(['events', ...range, '--filter', 'volume=other-vol', '--format', '{{.Type}} {{.Action}}']).trim().split('\n');
    assert.deepEqual(other, ['volume create', 'volume mount', 'volume unmount', 'volume destroy'], 'made by run, then used');
    // As dockerd's, a name matches by prefix too.
    assert.equal(ok(['events', ...range, '--filter', 'volume=other-v', '--format', '{{.Action}}']).trim().split('\n').length, 4);
  });
});
