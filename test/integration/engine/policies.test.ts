// Engine: restart policies (on-failure:N, always, unless-stopped, backoff, stop during the backoff, engine reopen) and health checks.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { errorCode } from '../../../src/common/errors.js';
import type { Engine } from '../../../src/engine/engine.js';
import type { EventMessage } from '../../../src/engine/types.js';
import { BUSYBOX, World, logText, run, skip, sleep, until } from './helpers.js';

const MS = 1_000_000; // the API's durations are nanoseconds

/** Collect the container events of `id` from now on, until `stop()`. */
function record(e: Engine, id?: string): { events: EventMessage[]; stop: () => void } {
  const ac = new AbortController();
  const events: EventMessage[] = [];
  void (async () => {
    for await (const ev of e.events.subscribe({ filters: { type: ['container'], ...(id ? { container: [id] } : {}) } }, ac.signal)) events.push(ev);
  })();
  return { events, stop: () => ac.abort() };
}

/** A host dir bound at /sig: `wait` (shell) returns once the test has called `go()`. */
function goFile(w: World): { binds: string[]; wait: string; go: () => void } {
  const dir = mkdtempSync(join(w.root, 'sig-'));
  return { binds: [`${dir}:/sig`], wait: 'while [ ! -e /sig/go ]; do sleep 0.1; done', go: () => writeFileSync(join(dir, 'go'), '') };
}

/** A running container's pid. */
const pidOf = async (e: Engine, id: string) => (await e.containers.inspect(id)).State.Pid;

/** Wait until these processes have exited (their shim reaps them; no engine needs to run). */
async function gone(pids: number[]): Promise<void> {
  const alive = (p: number) => { try { process.kill(p, 0); return true; } catch { return false; } };
  await until(`pids ${pids.join(' ')} to exit`, () => !pids.some(alive), 15_000);
}

const actions = (evs: EventMessage[], id: string, action: string) => evs.filter((x) => x.Actor.ID === id && x.Action === action);

describe('engine: restart policies', { skip }, () => {
  const w = new World();
  before(async () => {
    await w.open();
    await w.loadBusybox();
  });
  after(() => w.cleanup());

  it('on-failure:2 restarts exactly twice, then stays exited with RestartCount 2', async () => {
    const e = w.engine;
    const rec = record(e);
    const id = await run(e, ['sh', '-c', 'exit 3'], { HostConfig: { RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 2 } } });
    await until('RestartCount 2 and exited', async () => {
      const i = await e.containers.inspect(id);
      return i.RestartCount === 2 && i.State.Status === 'exited';
    });
    await sleep(800); // longer than the next backoff (400 ms) would be
    const i = await e.containers.inspect(id);
    assert.equal(i.State.Status, 'exited');
    assert.equal(i.State.Running, false);
    assert.equal(i.State.ExitCode, 3);
    assert.equal(i.RestartCount, 2);
    rec.stop();
    assert.equal(actions(rec.events, id, 'start').length, 3, 'one start by the user, two by the policy');
    assert.equal(actions(rec.events, id, 'die').length, 3);
    // A start by the user resets the count (dockerd's ResetRestartManager).
    await e.containers.start(id);
    assert.equal((await e.containers.inspect(id)).RestartCount, 0);
    await until('exhausted again', async () => (await e.containers.inspect(id)).State.Status === 'exited' && (await e.containers.inspect(id)).RestartCount === 2);
    // on-failure does not restart a success
    const ok = await run(e, ['true'], { HostConfig: { RestartPolicy: { Name: 'on-failure' } } });
    await e.containers.wait(ok, 'not-running');
    await sleep(400);
    assert.equal((await e.containers.inspect(ok)).RestartCount, 0);
    assert.equal((await e.containers.inspect(ok)).State.Status, 'exited');
    for (const x of [id, ok]) await e.containers.remove(x, { force: true });
  });

  it('always restarts a container that exits 0; restarting shows in inspect and ps', async () => {
    const e = w.engine;
    const id = await run(e, ['sh', '-c', 'sleep 0.2; exit 0'], { HostConfig: { RestartPolicy: { Name: 'always' } } });
    await until('two restarts', async () => (await e.containers.inspect(id)).RestartCount >= 2);
    let sawRestarting = false;
    await until('restarting state', async () => {
      const i = await e.containers.inspect(id);
      if (i.State.Status === 'restarting') {
        sawRestarting = true;
        assert.equal(i.State.Restarting, true);
        assert.equal(i.State.Running, true, "dockerd counts a restarting container as running");
        assert.equal(i.State.Pid, 0);
        const s = (await e.containers.list({ filters: { status: ['restarting'] } })).find((x) => x.Id === id);
        if (s) assert.match(s.Status, /^Restarting \(0\) .* ago$/);
      }
      return sawRestarting;
    }, 15_000);
    await e.containers.remove(id, { force: true });
    await assert.rejects(e.containers.inspect(id), (err: Error) => errorCode(err) === 'not-found');
  });

  it('a manual stop or kill is not restarted (always, unless-stopped, on-failure)', async () => {
    const e = w.engine;
    const ids: string[] = [];
    for (const Name of ['always', 'unless-stopped', 'on-failure'] as const) {
      const id = await run(e, ['sleep', '100'], { HostConfig: { RestartPolicy: { Name } } });
      ids.push(id);
      assert.equal(await e.containers.stop(id, { timeout: 0 }), true);
    }
    const k = await run(e, ['sleep', '100'], { HostConfig: { RestartPolicy: { Name: 'always' } } });
    ids.push(k);
    await e.containers.kill(k);
    await sleep(600);
    for (const id of ids) {
      const i = await e.containers.inspect(id);
      assert.equal(i.State.Status, 'exited', `${i.HostConfig.RestartPolicy?.Name}`);
      assert.equal(i.RestartCount, 0);
    }
    // Without a StopSignal any signal from `kill` means "stopped by the user"; with one, only it (and SIGKILL) does.
    const trap = ['sh', '-c', 'trap "exit 3" USR1; echo ready; while true; do sleep 0.1; done'];
    const t1 = await run(e, trap, { HostConfig: { RestartPolicy: { Name: 'always' } } });
    const t2 = await run(e, trap, { StopSignal: 'SIGTERM', HostConfig: { RestartPolicy: { Name: 'always' } } });
    ids.push(t1, t2);
    // The trap is set before `ready`: a signal sooner would be ignored (PID 1 without a handler).
    for (const t of [t1, t2]) await until('ready', async () => (await logText(e, t)).out.includes('ready'));
    for (const t of [t1, t2]) {
      await e.containers.kill(t, 'SIGUSR1');
      await e.containers.wait(t, 'not-running');
    }
    await sleep(600);
    assert.equal((await e.containers.inspect(t1)).State.Status, 'exited');
    assert.equal((await e.containers.inspect(t1)).RestartCount, 0);
    assert.equal((await e.containers.inspect(t2)).RestartCount, 1, 'a signal other than the StopSignal does not cancel `always`');
    for (const id of ids) await e.containers.remove(id, { force: true });
  });

  it('the backoff doubles (start events), and a stop during the backoff cancels the restart', async () => {
    const e = w.engine;
    const { Id: id } = await e.containers.create({ Image: BUSYBOX, Cmd: ['sh', '-c', 'exit 1'], HostConfig: { RestartPolicy: { Name: 'always' }, NetworkMode: 'none' } }, {});
    const rec = record(e, id);
    await sleep(20);
    await e.containers.start(id);
    await until('5 starts', () => actions(rec.events, id, 'start').length >= 5, 20_000);
    const starts = actions(rec.events, id, 'start').map((x) => x.timeNano / 1e6);
    const dies = actions(rec.events, id, 'die').map((x) => x.timeNano / 1e6);
    // The wait from each exit to the next start: the backoff (100, 200, 400, 800 ms) plus the start's
    // own time, which a busy machine stretches without bound, so only the lower bounds are asserted.
    // They hold however slow the machine: the backoff's timer is set after the `die` event is
    // published, and the `start` event comes after the timer fired (5 % slack for whole-ms timers).
    const gaps = starts.slice(1).map((t, i) => t - dies[i]!);
    [100, 200, 400, 800].forEach((b, k) => assert.ok(gaps[k]! >= 0.95 * b, `wait ${k + 1} below ${b} ms: gaps ${gaps.join(', ')}`));
    // The next wait is 1.6 s: stop it midway.
    await until('restarting', async () => (await e.containers.inspect(id)).State.Status === 'restarting');
    const n = actions(rec.events, id, 'start').length;
    assert.equal(await e.containers.stop(id, {}), true);
    let i = await e.containers.inspect(id);
    assert.equal(i.State.Status, 'exited');
    assert.equal(i.State.Running, false);
    assert.equal(i.State.ExitCode, 1);
    await sleep(2200);
    assert.equal(actions(rec.events, id, 'start').length, n, 'no start after the stop');
    i = await e.containers.inspect(id);
    assert.equal(i.State.Status, 'exited');
    assert.equal(actions(rec.events, id, 'stop').length, 1);
    rec.stop();
    // a restarting container cannot be removed without force
    await e.containers.start(id);
    await until('restarting', async () => (await e.containers.inspect(id)).State.Status === 'restarting');
    await assert.rejects(e.containers.remove(id, {}), (err: Error) => errorCode(err) === 'conflict');
    await e.containers.remove(id, { force: true });
  });

  it('invalid policies are refused', async () => {
    const e = w.engine;
    await assert.rejects(e.containers.create({ Image: BUSYBOX, Cmd: ['true'], HostConfig: { RestartPolicy: { Name: 'always', MaximumRetryCount: 2 } } }, {}), (err: Error) => errorCode(err) === 'invalid-argument');
    await assert.rejects(e.containers.create({ Image: BUSYBOX, Cmd: ['true'], HostConfig: { RestartPolicy: { Name: 'sometimes' as never } } }, {}), (err: Error) => errorCode(err) === 'invalid-argument');
    await assert.rejects(e.containers.create({ Image: BUSYBOX, Cmd: ['true'], HostConfig: { RestartPolicy: { Name: 'on-failure', MaximumRetryCount: -1 } } }, {}), (err: Error) => errorCode(err) === 'invalid-argument');
  });

  it('engine close/reopen: unless-stopped survives, always brings back one that exited meanwhile, a manually stopped unless-stopped stays down', async () => {
    const e0 = w.engine;
    const keep = await run(e0, ['sleep', '1000'], { HostConfig: { RestartPolicy: { Name: 'unless-stopped' } } });
    const pid0 = (await e0.containers.inspect(keep)).State.Pid;
    // `back` and `none` exit once the engine is closed (the test's go file); the run of `back` that
    // the reopen starts stays up (its /ran is in the container's own layer), so inspect sees it
    // running however long the reopen takes.
    const sig = goFile(w);
    const back = await run(e0, ['sh', '-c', `[ -e /ran ] && exec sleep 1000; touch /ran; ${sig.wait}; exit 0`], { HostConfig: { RestartPolicy: { Name: 'always' }, Binds: sig.binds } });
    const down = await run(e0, ['sleep', '1000'], { HostConfig: { RestartPolicy: { Name: 'unless-stopped' } } });
    await e0.containers.stop(down, { timeout: 0 });
    const alwaysStopped = await run(e0, ['sleep', '1000'], { HostConfig: { RestartPolicy: { Name: 'always' } } });
    await e0.containers.stop(alwaysStopped, { timeout: 0 });
    const none = await run(e0, ['sh', '-c', `${sig.wait}; exit 0`], { HostConfig: { Binds: sig.binds } });
    const exiting = [await pidOf(e0, back), await pidOf(e0, none)];
    // "A reboot": this container's shim and process die while no engine runs.
    const lost = await run(e0, ['sleep', '1000'], { HostConfig: { RestartPolicy: { Name: 'unless-stopped' } } });
    const lostPid = (await e0.containers.inspect(lost)).State.Pid;
    const shimPid = Number(readFileSync(`/proc/${lostPid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ')[1]);
    await e0.close();
    process.kill(shimPid, 'SIGKILL');
    process.kill(lostPid, 'SIGKILL');
    sig.go();
    await gone(exiting); // `back` and `none` exit while no engine watches
    const e = await w.open();
    let i = await e.containers.inspect(keep);
    assert.equal(i.State.Status, 'running');
    assert.equal(i.State.Pid, pid0, 'the same process (live restore)');
    i = await e.containers.inspect(back);
    assert.equal(i.State.Status, 'running', 'always: started again on open');
    i = await e.containers.inspect(down);
    assert.equal(i.State.Status, 'exited', 'unless-stopped, stopped by the user: stays down');
    i = await e.containers.inspect(alwaysStopped);
    assert.equal(i.State.Status, 'running', 'always: started on daemon start even after a manual stop (dockerd)');
    i = await e.containers.inspect(none);
    assert.equal(i.State.Status, 'exited');
    assert.equal(i.State.ExitCode, 0);
    i = await e.containers.inspect(lost);
    assert.equal(i.State.Status, 'running', 'unless-stopped: started again after its task was lost');
    assert.notEqual(i.State.Pid, lostPid);
    for (const x of [keep, back, down, alwaysStopped, none, lost]) await e.containers.remove(x, { force: true });
  });

  it('engine close/reopen: on-failure brings back a failure that happened meanwhile, not a success, a user stop or an exhausted count', async () => {
    const e0 = w.engine;
    // These exit once the engine is closed; a failure only once: the run the reopen starts stays up (see `back` above).
    const sig = goFile(w);
    const failOnce = ['sh', '-c', `[ -e /ran ] && exec sleep 1000; touch /ran; ${sig.wait}; exit 3`];
    const failed = await run(e0, failOnce, { HostConfig: { RestartPolicy: { Name: 'on-failure' }, Binds: sig.binds } });
    const bounded = await run(e0, failOnce, { HostConfig: { RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 5 }, Binds: sig.binds } });
    const succeeded = await run(e0, ['sh', '-c', `${sig.wait}; exit 0`], { HostConfig: { RestartPolicy: { Name: 'on-failure' }, Binds: sig.binds } });
    const exiting = [await pidOf(e0, failed), await pidOf(e0, bounded), await pidOf(e0, succeeded)];
    const stopped = await run(e0, ['sleep', '1000'], { HostConfig: { RestartPolicy: { Name: 'on-failure' } } });
    await e0.containers.stop(stopped, { timeout: 0 });
    const exhausted = await run(e0, ['sh', '-c', 'exit 3'], { HostConfig: { RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 1 } } });
    await until('exhausted', async () => {
      const i = await e0.containers.inspect(exhausted);
      return i.RestartCount === 1 && i.State.Status === 'exited';
    });
    await e0.close();
    sig.go();
    await gone(exiting); // they exit while no engine watches
    const e = await w.open();
    for (const id of [failed, bounded]) {
      const i = await e.containers.inspect(id);
      assert.equal(i.State.Status, 'running', 'on-failure: a failure while the engine was down is restarted on open');
    }
    for (const [id, code] of [[succeeded, 0], [exhausted, 3]] as const) {
      const i = await e.containers.inspect(id);
      assert.equal(i.State.Status, 'exited');
      assert.equal(i.State.ExitCode, code);
    }
    assert.equal((await e.containers.inspect(stopped)).State.Status, 'exited', 'stopped by the user: stays down');
    for (const x of [failed, bounded, succeeded, stopped, exhausted]) await e.containers.remove(x, { force: true });
  });
});

describe('engine: health checks', { skip }, () => {
  const w = new World();
  before(async () => {
    await w.open();
    await w.loadBusybox();
  });
  after(() => w.cleanup());

  it('a passing check: starting, then healthy; event, ps status, health filter; output cut at 4 KiB', async () => {
    const e = w.engine;
    const rec = record(e);
    const id = await run(e, ['sleep', '100'], {
      Healthcheck: { Test: ['CMD-SHELL', 'head -c 5000 /dev/zero | tr "\\0" a'], Interval: 300 * MS, Timeout: 5000 * MS },
    });
    let i = await e.containers.inspect(id);
    assert.equal(i.State.Health?.Status, 'starting');
    assert.equal(i.State.Health?.FailingStreak, 0);
    assert.match((await e.containers.list({})).find((x) => x.Id === id)!.Status, /^Up .* \(health: starting\)$/);
    await until('healthy', async () => (await e.containers.inspect(id)).State.Health?.Status === 'healthy');
    i = await e.containers.inspect(id);
    const log = i.State.Health!.Log;
    assert.ok(log.length >= 1);
    assert.equal(log[0]!.ExitCode, 0);
    assert.equal(log[0]!.Output, 'a'.repeat(4096) + '...');
    assert.ok(Date.parse(log[0]!.End) >= Date.parse(log[0]!.Start));
    assert.match((await e.containers.list({})).find((x) => x.Id === id)!.Status, /^Up .* \(healthy\)$/);
    assert.deepEqual((await e.containers.list({ filters: { health: ['healthy'] } })).map((x) => x.Id), [id]);
    assert.deepEqual((await e.containers.list({ filters: { health: ['unhealthy'] } })).map((x) => x.Id), []);
    await until('event', () => actions(rec.events, id, 'health_status: healthy').length === 1);
    assert.ok(rec.events.some((x) => x.Actor.ID === id && x.Action.startsWith('exec_create: /bin/sh -c head')), 'the probe is an exec');
    // the log keeps the last 5
    await until('6 probes', () => rec.events.filter((x) => x.Actor.ID === id && x.Action === 'exec_die').length >= 6, 10_000);
    assert.equal((await e.containers.inspect(id)).State.Health!.Log.length, 5);
    assert.equal(actions(rec.events, id, 'health_status: healthy').length, 1, 'an event only on a change');
    // stopped: no more probes
    await e.containers.stop(id, { timeout: 0 });
    const n = rec.events.filter((x) => x.Actor.ID === id && x.Action.startsWith('exec_create')).length;
    await sleep(900);
    assert.equal(rec.events.filter((x) => x.Actor.ID === id && x.Action.startsWith('exec_create')).length, n, 'no probe after the stop');
    assert.equal((await e.containers.inspect(id)).State.Health?.Status, 'healthy', 'kept after the stop, as dockerd does');
    // started again: starting over
    await e.containers.start(id);
    assert.equal((await e.containers.inspect(id)).State.Health?.Status, 'starting');
    rec.stop();
    await e.containers.remove(id, { force: true });
  });

  it('a failing check turns unhealthy after Retries; image-less defaults merge', async () => {
    const e = w.engine;
    const rec = record(e);
    const id = await run(e, ['sleep', '100'], { Healthcheck: { Test: ['CMD', 'sh', '-c', 'echo nope; exit 2'], Interval: 200 * MS, Retries: 2 } });
    await until('unhealthy', async () => (await e.containers.inspect(id)).State.Health?.Status === 'unhealthy');
    // One failure is not enough: the status changed only after the second probe (a third starts an
    // Interval after the result), whatever the test's own timing saw of the state in between.
    await until('event', () => actions(rec.events, id, 'health_status: unhealthy').length === 1);
    const changedAt = rec.events.findIndex((x) => x.Actor.ID === id && x.Action === 'health_status: unhealthy');
    const probesBefore = rec.events.slice(0, changedAt).filter((x) => x.Actor.ID === id && x.Action.startsWith('exec_create: sh -c'));
    assert.equal(probesBefore.length, 2, 'unhealthy after the Retries-th failure, not before');
    const h = (await e.containers.inspect(id)).State.Health!;
    assert.ok(h.FailingStreak >= 2);
    assert.equal(h.Log.at(-1)!.ExitCode, 2);
    assert.equal(h.Log.at(-1)!.Output, 'nope\n');
    assert.match((await e.containers.list({})).find((x) => x.Id === id)!.Status, /\(unhealthy\)$/);
    assert.equal(rec.events.filter((x) => x.Actor.ID === id && x.Action.startsWith('health_status')).length, 1, 'starting -> unhealthy, no other change');
    assert.deepEqual((await e.containers.list({ filters: { health: ['unhealthy'] } })).map((x) => x.Id), [id]);
    rec.stop();
    await e.containers.remove(id, { force: true });
  });

  it('a hanging check is killed at its Timeout and counts as a failure', async () => {
    const e = w.engine;
    const rec = record(e);
    const id = await run(e, ['sleep', '100'], { Healthcheck: { Test: ['CMD', 'sleep', '30'], Interval: 200 * MS, Timeout: 300 * MS, Retries: 1 } });
    await until('unhealthy', async () => (await e.containers.inspect(id)).State.Health?.Status === 'unhealthy', 10_000);
    const l = (await e.containers.inspect(id)).State.Health!.Log[0]!;
    assert.equal(l.ExitCode, -1);
    assert.equal(l.Output, 'Health check exceeded timeout (300ms)');
    const took = Date.parse(l.End) - Date.parse(l.Start);
    assert.ok(took >= 250 && took < 3000, `took ${took} ms`);
    await until('exec_die', () => actions(rec.events, id, 'exec_die').length >= 1);
    assert.equal(actions(rec.events, id, 'exec_die')[0]!.Actor.Attributes.exitCode, '137', 'the probe was SIGKILLed');
    rec.stop();
    await e.containers.remove(id, { force: true });
  });

  it('StartPeriod: failures inside it do not count, probes every StartInterval while starting, counted from its end', async () => {
    const e = w.engine;
    const rec = record(e);
    // Which probe fell inside the period is read from the probes' own start times (the engine's clock,
    // as the engine decides it); the period is long enough for a slow machine to see 3 of its probes.
    const period = 10_000;
    const interval = 4000;
    const hc = { Test: ['CMD', 'false'], Interval: interval * MS, StartPeriod: period * MS, StartInterval: 100 * MS, Retries: 1 };
    const id = await run(e, ['sleep', '100'], { Healthcheck: hc });
    const started = Date.parse((await e.containers.inspect(id)).State.StartedAt);
    const after = (t: string) => Date.parse(t) - started;
    await until('3 probes', async () => (await e.containers.inspect(id)).State.Health!.Log.length >= 3, period);
    let h = (await e.containers.inspect(id)).State.Health!;
    assert.ok(h.Log.length >= 3 && h.Log.every((l) => after(l.Start) < period), `probes every StartInterval inside the start period: ${h.Log.map((l) => after(l.Start)).join(', ')} ms`);
    assert.equal(h.Status, 'starting', 'failures inside the start period do not count');
    assert.equal(h.FailingStreak, 0);
    assert.ok(h.Log.every((l) => l.ExitCode === 1));
    assert.equal(actions(rec.events, id, 'health_status: unhealthy').length, 0);
    await until('unhealthy', async () => (await e.containers.inspect(id)).State.Health?.Status === 'unhealthy', period + interval + 10_000);
    h = (await e.containers.inspect(id)).State.Health!;
    assert.equal(h.FailingStreak, 1, 'one failure past the start period is enough with Retries 1');
    const k = h.Log.findIndex((l) => after(l.Start) >= period);
    const [last, first] = [h.Log[k - 1]!, h.Log[k]!];
    const times = `the period's last probe ${after(last.Start)}-${after(last.End)} ms, the first counted one at ${after(first.Start)} ms`;
    if (after(last.End) < period) {
      // The wait after the period's last probe is cut at the period's end: the first counted probe comes then, not an Interval later.
      assert.ok(after(first.Start) < period + interval / 2, times);
    } else {
      // A probe that began inside the period and ended after it (a slow machine): as dockerd, the Interval applies from its end.
      assert.ok(Date.parse(first.Start) - Date.parse(last.End) >= 0.95 * interval, times);
    }
    // Once the period is over the Interval applies, no longer StartInterval.
    await until('the next probe', async () => (await e.containers.inspect(id)).State.Health!.Log.at(-1)!.Start !== first.Start, interval + 10_000);
    h = (await e.containers.inspect(id)).State.Health!;
    const next = h.Log[h.Log.findIndex((l) => l.Start === first.Start) + 1]!;
    assert.ok(Date.parse(next.Start) - Date.parse(first.End) >= 0.95 * interval, `the next probe ${Date.parse(next.Start) - Date.parse(first.End)} ms after the first counted one`);
    rec.stop();
    await e.containers.remove(id, { force: true });
  });

  it('StartPeriod: a container healthy inside it is probed at Interval, no longer StartInterval', async () => {
    const e = w.engine;
    const id = await run(e, ['sh', '-c', 'touch /ok; sleep 100'], {
      Healthcheck: { Test: ['CMD', 'test', '-e', '/ok'], Interval: 60_000 * MS, StartPeriod: 30_000 * MS, StartInterval: 100 * MS, Retries: 1 },
    });
    await until('healthy', async () => (await e.containers.inspect(id)).State.Health?.Status === 'healthy', 5000);
    const n = (await e.containers.inspect(id)).State.Health!.Log.length;
    await sleep(700);
    assert.equal((await e.containers.inspect(id)).State.Health!.Log.length, n, 'healthy: the next probe waits for Interval');
    await e.containers.remove(id, { force: true });
  });

  it('NONE disables a check; no check means no Health', async () => {
    const e = w.engine;
    const rec = record(e);
    const a = await run(e, ['sleep', '100'], { Healthcheck: { Test: ['NONE'], Interval: 100 * MS } });
    const b = await run(e, ['sleep', '100']);
    await sleep(500);
    for (const id of [a, b]) {
      const i = await e.containers.inspect(id);
      assert.equal(i.State.Health, undefined);
      assert.match((await e.containers.list({})).find((x) => x.Id === id)!.Status, /^Up [^(]*$/);
    }
    assert.equal(rec.events.filter((x) => x.Action.startsWith('exec_')).length, 0);
    assert.deepEqual((await e.containers.list({ filters: { health: ['none'] } })).map((x) => x.Id).sort(), [a, b].sort());
    await assert.rejects(e.containers.create({ Image: BUSYBOX, Cmd: ['true'], Healthcheck: { Test: ['CMD', 'true'], Interval: 1000 } }, {}), (err: Error) => errorCode(err) === 'invalid-argument');
    rec.stop();
    for (const id of [a, b]) await e.containers.remove(id, { force: true });
  });
});
