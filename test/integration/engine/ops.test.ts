// Engine: stop/kill/pause, OOM, list filters, exec, attach, logs options and follow, stats, top, AutoRemove, events, prune.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { errorCode } from '../../../src/common/errors.js';
import type { EventMessage } from '../../../src/engine/types.js';
import { BUSYBOX, World, demux, fakeConn, logText, run, skip, sleep, until } from './helpers.js';

describe('engine: container operations', { skip }, () => {
  const w = new World();
  before(async () => {
    await w.open();
    await w.loadBusybox();
  });
  after(() => w.cleanup());

  it('stop: SIGTERM ignored by pid 1, SIGKILL after the timeout (137); stop of a stopped one is a no-op', async () => {
    const e = w.engine;
    const id = await run(e, ['sleep', '100']);
    const t0 = Date.now();
    assert.equal(await e.containers.stop(id, { timeout: 1 }), true);
    const took = Date.now() - t0;
    assert.ok(took >= 900 && took < 8000, `stop took ${took} ms`);
    const i = await e.containers.inspect(id);
    assert.equal(i.State.Status, 'exited');
    assert.equal(i.State.ExitCode, 137);
    assert.equal(i.State.Pid, 0);
    assert.equal(await e.containers.stop(id, {}), false);
    // started again: same container, new process
    assert.equal(await e.containers.start(id), true);
    assert.equal((await e.containers.inspect(id)).State.Running, true);
    await e.containers.kill(id);
    assert.equal((await e.containers.inspect(id)).State.ExitCode, 137);
    await assert.rejects(e.containers.kill(id), (err: Error) => errorCode(err) === 'conflict');
    await e.containers.remove(id, {});
  });

  it('kill with a signal the process handles', async () => {
    const e = w.engine;
    const id = await run(e, ['sh', '-c', 'trap "echo usr1; exit 5" USR1; echo ready; while true; do sleep 0.1; done']);
    await until('ready', async () => (await logText(e, id)).out.includes('ready'));
    await e.containers.kill(id, 'SIGUSR1');
    assert.equal((await e.containers.wait(id, 'not-running')).StatusCode, 5);
    assert.match((await logText(e, id)).out, /usr1/);
    await e.containers.remove(id, {});
  });

  it('pause and unpause; a paused container can be stopped', async () => {
    const e = w.engine;
    const id = await run(e, ['sleep', '100']);
    await e.containers.pause(id);
    let i = await e.containers.inspect(id);
    assert.equal(i.State.Status, 'paused');
    assert.equal(i.State.Paused, true);
    assert.equal(i.State.Running, true);
    await assert.rejects(e.containers.pause(id), (err: Error) => errorCode(err) === 'conflict');
    await assert.rejects(e.containers.execCreate(id, { Cmd: ['true'] }), (err: Error) => errorCode(err) === 'conflict');
    await e.containers.unpause(id);
    i = await e.containers.inspect(id);
    assert.equal(i.State.Status, 'running');
    await e.containers.pause(id);
    await e.containers.stop(id, { timeout: 1 });
    i = await e.containers.inspect(id);
    assert.equal(i.State.Status, 'exited');
    assert.equal(i.State.Paused, false);
    await e.containers.remove(id, {});
  });

  it('OOMKilled for a memory hog over HostConfig.Memory', async () => {
    const e = w.engine;
    const id = await run(e, ['sh', '-c', 'x=aaaaaaaaaaaaaaaa; while true; do x=$x$x; done'], { HostConfig: { Memory: 32 * 1024 * 1024, MemorySwap: 32 * 1024 * 1024 } });
    const r = await e.containers.wait(id, 'not-running');
    assert.equal(r.StatusCode, 137);
    const i = await e.containers.inspect(id);
    assert.equal(i.State.OOMKilled, true);
    assert.equal(i.HostConfig.Memory, 32 * 1024 * 1024);
    await e.containers.remove(id, {});
  });

  it('list and its filters', async () => {
    const e = w.engine;
    const a = await run(e, ['sleep', '100'], { Labels: { tier: 'web' } }, 'f-run');
    const b = await run(e, ['sh', '-c', 'exit 3'], { Labels: { tier: 'db' } }, 'f-exit');
    await e.containers.wait(b, 'not-running');
    const c = (await e.containers.create({ Image: BUSYBOX, Cmd: ['true'] }, { name: 'f-created' })).Id;
    const ids = async (o: Parameters<typeof e.containers.list>[0]) => (await e.containers.list(o)).map((x) => x.Id);
    assert.deepEqual(await ids({}), [a]);
    assert.deepEqual(await ids({ all: true }), [c, b, a]);
    assert.deepEqual(await ids({ filters: { status: ['exited'] } }), [b]);
    assert.deepEqual(await ids({ filters: { status: ['created'] } }), [c]);
    assert.deepEqual(await ids({ filters: { exited: ['3'] } }), [b]);
    assert.deepEqual(await ids({ all: true, filters: { label: ['tier=web'] } }), [a]);
    assert.deepEqual(await ids({ all: true, filters: { label: ['tier'] } }), [b, a]);
    assert.deepEqual(await ids({ all: true, filters: { name: ['f-ex'] } }), [b]);
    assert.deepEqual(await ids({ all: true, filters: { id: [a.slice(0, 8)] } }), [a]);
    assert.deepEqual(await ids({ all: true, filters: { ancestor: [BUSYBOX] } }), [c, b, a]);
    assert.deepEqual(await ids({ all: true, filters: { ancestor: ['hello'] } }), []);
    assert.deepEqual(await ids({ all: true, filters: { before: ['f-created'] } }), [b, a]);
    assert.deepEqual(await ids({ all: true, filters: { since: ['f-run'] } }), [c, b]);
    assert.deepEqual(await ids({ all: true, filters: { health: ['none'] } }), [c, b, a]);
    assert.deepEqual(await ids({ limit: 1 }), [c]);
    const s = (await e.containers.list({}))[0]!;
    assert.deepEqual(s.Names, ['/f-run']);
    assert.equal(s.Image, BUSYBOX);
    assert.equal(s.Command, 'sleep 100');
    assert.equal(s.State, 'running');
    assert.match(s.Status, /^Up /);
    const ex = (await e.containers.list({ filters: { status: ['exited'] } }))[0]!;
    assert.match(ex.Status, /^Exited \(3\) .* ago$/);
    for (const id of [a, b, c]) await e.containers.remove(id, { force: true });
  });

  it('exec: attached output and exit code, detached, with stdin, inspect', async () => {
    const e = w.engine;
    const id = await run(e, ['sleep', '100']);
    const { Id: x1 } = await e.containers.execCreate(id, { Cmd: ['sh', '-c', 'echo hi; echo oops >&2; exit 7'], AttachStdout: true, AttachStderr: true });
    let ins = await e.containers.execInspect(x1);
    assert.equal(ins.Running, false);
    assert.equal(ins.ExitCode, null);
    assert.equal(ins.ContainerID, id);
    const c1 = fakeConn();
    await e.containers.execStart(x1, { detach: false }, { conn: c1.conn, stdin: false, stdout: true, stderr: true });
    assert.deepEqual(await demux(c1.received()), { out: 'hi\n', err: 'oops\n' });
    ins = await e.containers.execInspect(x1);
    assert.equal(ins.ExitCode, 7);
    assert.equal(ins.Running, false);
    assert.ok(ins.Pid > 0);
    assert.deepEqual(ins.ProcessConfig.arguments, ['-c', 'echo hi; echo oops >&2; exit 7']);

    const { Id: x2 } = await e.containers.execCreate(id, { Cmd: ['touch', '/tmp/detached'] });
    await e.containers.execStart(x2, { detach: true });
    await until('detached exec exit', async () => (await e.containers.execInspect(x2)).ExitCode === 0);

    const { Id: x3 } = await e.containers.execCreate(id, { Cmd: ['cat'], AttachStdin: true, AttachStdout: true });
    const c3 = fakeConn();
    const p = e.containers.execStart(x3, { detach: false }, { conn: c3.conn, stdin: true, stdout: true, stderr: true });
    c3.stdin.write('through stdin\n');
    c3.stdin.end();
    await p;
    assert.equal((await demux(c3.received())).out, 'through stdin\n');
    assert.equal((await e.containers.execInspect(x3)).ExitCode, 0);

    const { Id: x4 } = await e.containers.execCreate(id, { Cmd: ['ls', '/tmp/detached'], AttachStdout: true, Tty: true });
    const c4 = fakeConn();
    await e.containers.execStart(x4, { detach: false, tty: true }, { conn: c4.conn, stdin: false, stdout: true, stderr: true });
    assert.match(c4.received().toString(), /\/tmp\/detached\r?\n/);
    assert.deepEqual((await e.containers.inspect(id)).ExecIDs?.length, 4);
    await assert.rejects(e.containers.execInspect('nope'), (err: Error) => errorCode(err) === 'not-found');
    await e.containers.remove(id, { force: true });
  });

  it('attach before start with stdin (cat, StdinOnce), and detach keys on a running one', async () => {
    const e = w.engine;
    const { Id: id } = await e.containers.create({ Image: BUSYBOX, Cmd: ['cat'], OpenStdin: true, StdinOnce: true, AttachStdin: true, AttachStdout: true }, {});
    const c = fakeConn();
    const attached = e.containers.attach(id, { conn: c.conn, stdin: true, stdout: true, stderr: true }, { stream: true });
    await sleep(50);
    await e.containers.start(id);
    c.stdin.write('meow\n');
    await until('echo', async () => (await demux(c.received())).out === 'meow\n');
    c.stdin.end();
    await attached;
    assert.equal((await e.containers.wait(id, 'not-running')).StatusCode, 0);
    assert.equal((await logText(e, id)).out, 'meow\n');

    const id2 = await run(e, ['sh', '-c', 'while read l; do echo got:$l; done'], { OpenStdin: true });
    const c2 = fakeConn();
    const a2 = e.containers.attach(id2, { conn: c2.conn, stdin: true, stdout: true, stderr: true, detachKeys: Buffer.from([16, 17]) }, { stream: true });
    await sleep(100);
    c2.stdin.write('one\n');
    await until('got:one', async () => (await demux(c2.received())).out.includes('got:one'));
    c2.stdin.write(Buffer.from([16, 17]));
    await a2;
    await c2.closed;
    assert.equal((await e.containers.inspect(id2)).State.Running, true, 'detach leaves it running');
    // attach with logs replays the log
    const c3 = fakeConn();
    await e.containers.attach(id2, { conn: c3.conn, stdin: false, stdout: true, stderr: true }, { logs: true, stream: false });
    assert.equal((await demux(c3.received())).out, 'got:one\n');
    await e.containers.remove(id2, { force: true });
    await e.containers.remove(id, {});
  });

  it('logs: tail, since, until, timestamps, stream selection, follow', async () => {
    const e = w.engine;
    const id = await run(e, ['sh', '-c', 'for i in 1 2 3 4 5; do echo line$i; echo e$i >&2; sleep 0.2; done']);
    await e.containers.wait(id, 'not-running');
    const all = await logText(e, id);
    assert.equal(all.out, 'line1\nline2\nline3\nline4\nline5\n');
    assert.equal((await logText(e, id, { tail: 2, stderr: false })).out, 'line4\nline5\n');
    assert.equal((await logText(e, id, { stdout: false })).out, '');
    assert.equal((await logText(e, id, { stdout: false })).err, 'e1\ne2\ne3\ne4\ne5\n');
    const t3 = all.lines.find((l) => l.text === 'line3\n')!.time;
    assert.match(t3, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z$/);
    const sinceSecs = Date.parse(t3) / 1000 - 0.001;
    assert.equal((await logText(e, id, { since: sinceSecs, stderr: false })).out, 'line3\nline4\nline5\n');
    assert.equal((await logText(e, id, { until: sinceSecs, stderr: false })).out, 'line1\nline2\n');
    assert.equal((await logText(e, id, { tail: 0 })).lines.length, 0);

    // `b` is written only after the follow has delivered `a` (the test's go file in a bind mount):
    // getting it proves the follow waited for new lines, however slow the machine.
    const sig = mkdtempSync(join(w.root, 'sig-'));
    const f = (await e.containers.create({ Image: BUSYBOX, Cmd: ['sh', '-c', 'echo a; while [ ! -e /sig/go ]; do sleep 0.05; done; echo b'], HostConfig: { Binds: [`${sig}:/sig`] } }, {})).Id;
    await e.containers.start(f);
    const got: string[] = [];
    for await (const l of e.containers.logs(f, { follow: true, stdout: true }, new AbortController().signal)) {
      got.push(l.text.toString());
      if (got.length === 1) writeFileSync(join(sig, 'go'), '');
    }
    assert.deepEqual(got, ['a\n', 'b\n'], 'follow waited for b');
    // follow on a stopped container ends at once; an abort ends a follow on a running one
    const ac = new AbortController();
    const r = await run(e, ['sleep', '100']);
    setTimeout(() => ac.abort(), 300);
    for await (const _ of e.containers.logs(r, { follow: true }, ac.signal)) { /* none */ }
    for (const x of [id, f, r]) await e.containers.remove(x, { force: true });
  });

  it('stats one-shot and a stream; top', async () => {
    const e = w.engine;
    const id = await run(e, ['sh', '-c', 'while true; do :; done'], {}, 'busy');
    const one = [];
    for await (const s of e.containers.stats(id, { stream: false, oneShot: true }, new AbortController().signal)) one.push(s);
    assert.equal(one.length, 1);
    const s0 = one[0]!;
    assert.equal(s0.id, id);
    assert.equal(s0.name, '/busy');
    assert.ok((s0.memory_stats.usage ?? 0) > 0);
    assert.ok((s0.memory_stats.limit ?? 0) > 0);
    assert.equal(typeof s0.memory_stats.stats?.cache, 'number');
    assert.ok((s0.pids_stats.current ?? 0) >= 1);
    assert.ok((s0.cpu_stats.system_cpu_usage ?? 0) > 0);
    assert.ok((s0.cpu_stats.online_cpus ?? 0) >= 1);
    const ac = new AbortController();
    const samples = [];
    for await (const s of e.containers.stats(id, { stream: true }, ac.signal)) {
      samples.push(s);
      if (samples.length === 2) ac.abort();
    }
    assert.equal(samples.length, 2);
    assert.deepEqual(samples[1]!.precpu_stats, samples[0]!.cpu_stats);
    assert.equal(samples[1]!.preread, samples[0]!.read);
    assert.ok(samples[1]!.cpu_stats.cpu_usage.total_usage > samples[0]!.cpu_stats.cpu_usage.total_usage, 'a busy loop uses CPU');
    const t = await e.containers.top(id);
    assert.ok(t.Titles.includes('PID'));
    assert.ok(t.Processes.length >= 1);
    assert.ok(t.Processes.some((p) => p.at(-1)!.includes('while true')));
    const t2 = await e.containers.top(id, '-o pid,comm');
    assert.deepEqual(t2.Titles, ['PID', 'COMMAND']);
    await e.containers.remove(id, { force: true });
  });

  it('AutoRemove: removed after exit; wait removed resolves', async () => {
    const e = w.engine;
    const { Id: id } = await e.containers.create({ Image: BUSYBOX, Cmd: ['sh', '-c', 'exit 2'], HostConfig: { AutoRemove: true } }, {});
    const removed = e.containers.wait(id, 'removed');
    await e.containers.start(id);
    assert.equal((await removed).StatusCode, 2);
    await assert.rejects(e.containers.inspect(id), (err: Error) => errorCode(err) === 'not-found');
  });

  it('events: the sequence of a container, since/until replay, filters', async () => {
    const e = w.engine;
    const ac = new AbortController();
    const seen: EventMessage[] = [];
    const t0 = Date.now() / 1000;
    const sub = (async () => {
      for await (const ev of e.events.subscribe({ filters: { type: ['container'], container: ['ev1'] } }, ac.signal)) {
        seen.push(ev);
        if (ev.Action === 'destroy') ac.abort();
      }
    })();
    const id = await run(e, ['sh', '-c', 'exit 1'], { Labels: { l: 'v' } }, 'ev1');
    await e.containers.wait(id, 'not-running');
    await e.containers.remove(id, {});
    await sub;
    assert.deepEqual(seen.map((x) => x.Action), ['create', 'start', 'die', 'destroy']);
    const die = seen[2]!;
    assert.equal(die.Actor.ID, id);
    assert.equal(die.Actor.Attributes.exitCode, '1');
    assert.equal(die.Actor.Attributes.name, 'ev1');
    assert.equal(die.Actor.Attributes.image, BUSYBOX);
    assert.equal(die.Actor.Attributes.l, 'v');
    assert.equal(die.status, 'die');
    assert.equal(die.from, BUSYBOX);
    assert.ok(die.timeNano > seen[1]!.timeNano);
    const past: string[] = [];
    for await (const ev of e.events.subscribe({ since: t0, until: Date.now() / 1000 + 0.05, filters: { container: [id], event: ['die', 'start'] } }, new AbortController().signal)) past.push(ev.Action);
    assert.deepEqual(past, ['start', 'die']);
    const byLabel: string[] = [];
    for await (const ev of e.events.subscribe({ since: t0, until: Date.now() / 1000 + 0.05, filters: { label: ['l=v'] } }, new AbortController().signal)) byLabel.push(ev.Action);
    assert.deepEqual(byLabel, ['create', 'start', 'die', 'destroy']);
  });

  it('prune removes stopped containers (with a label filter), not running ones', async () => {
    const e = w.engine;
    const a = await run(e, ['true'], { Labels: { p: '1' } });
    const b = await run(e, ['true'], { Labels: { p: '2' } });
    const r = await run(e, ['sleep', '100'], { Labels: { p: '1' } });
    await e.containers.wait(a, 'not-running');
    await e.containers.wait(b, 'not-running');
    const res = await e.containers.prune({ label: ['p=1'] });
    assert.deepEqual(res.ContainersDeleted, [a]);
    assert.ok(res.SpaceReclaimed >= 0);
    const left = (await e.containers.list({ all: true })).map((c) => c.Id).sort();
    assert.deepEqual(left, [b, r].sort());
    const res2 = await e.containers.prune({});
    assert.deepEqual(res2.ContainersDeleted, [b]);
    assert.equal((await e.containers.prune({})).ContainersDeleted, null);
    await e.containers.remove(r, { force: true });
  });
});
