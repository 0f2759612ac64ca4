// Engine logs on real containers: rotation on by default, gzipped rotated files read back in order, and the time index that keeps --since/--until/--tail from reading the whole log.
import assert from 'node:assert/strict';
import { copyFileSync, openSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeSync, closeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readLogs, timeToSeconds } from '../../../src/engine/logs.js';
import type { LogLine, LogOptions, StatsJSON } from '../../../src/engine/types.js';
import { World, logText, run, skip, until } from './helpers.js';

/** Read a log file directly with the engine's reader, counting the bytes it takes from disk. */
async function read(path: string, opts: LogOptions): Promise<{ lines: LogLine[]; bytesRead: number }> {
  const counter = { bytesRead: 0 };
  const lines: LogLine[] = [];
  for await (const l of readLogs(path, { stdout: true, stderr: true, ...opts }, new AbortController().signal, () => false, counter)) lines.push(l);
  return { lines, bytesRead: counter.bytesRead };
}

const nums = (lines: LogLine[]) => lines.map((l) => Number(l.text.toString()));

describe('engine: container logs, rotation and the index', { skip }, () => {
  const w = new World();
  let big = '';
  let bigId = '';
  let bigEntries: Array<{ n: number; time: string }> = [];
  before(async () => {
    await w.open();
    await w.loadBusybox();
    // One ~3 MB file (rotation off), 40 000 entries: big enough that a scan shows in the byte counts.
    const id = await run(w.engine, ['seq', '1', '40000'], { HostConfig: { LogConfig: { Type: 'json-file', Config: { 'max-size': '-1' } } } });
    await w.engine.containers.wait(id, 'not-running');
    big = (await w.engine.containers.inspect(id)).LogPath;
    bigId = id;
    bigEntries = readFileSync(big, 'utf8').split('\n').filter(Boolean).map((l) => {
      const j = JSON.parse(l) as { log: string; time: string };
      return { n: Number(j.log), time: j.time };
    });
    assert.equal(bigEntries.length, 40000);
  });
  after(() => w.cleanup());

  it('rotation is on by default (20m, 5 files), as inspect and the shim show; --log-opt overrides it', async () => {
    const e = w.engine;
    // The log options the shim of container `id` was started with (its argv: it rotates the file itself).
    const shimLogArgs = (id: string): string[] => {
      for (const pid of readdirSync('/proc').filter((f) => /^\d+$/.test(f))) {
        let argv: string[];
        try { argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0'); } catch { continue; }
        if (!argv[0]?.endsWith('berth-shim') || argv[argv.indexOf('--id') + 1] !== id) continue;
        return argv.flatMap((a, i) => (a === '--log-compress' ? [a] : a.startsWith('--log-') ? [a, argv[i + 1]!] : []));
      }
      throw new Error(`no berth-shim for ${id}`);
    };
    const id = (await e.containers.create({ Image: 'busybox:berth-test', Cmd: ['sleep', '100'] } as never, {})).Id;
    const i = await e.containers.inspect(id);
    assert.deepEqual(i.HostConfig.LogConfig, { Type: 'json-file', Config: {} });
    await e.containers.start(id);
    assert.deepEqual(shimLogArgs(id), ['--log-max-size', String(20 * 1024 * 1024), '--log-max-files', '5']);
    await e.containers.remove(id, { force: true });
    const own = await run(e, ['sleep', '100'], { HostConfig: { LogConfig: { Type: 'json-file', Config: { 'max-size': '1m', 'max-file': '2', compress: 'true' } } } });
    // json-file's max-size is go-units FromHumanSize, as dockerd reads it: SI units, 1m = 1 000 000 bytes.
    assert.deepEqual(shimLogArgs(own), ['--log-max-size', '1000000', '--log-max-files', '2', '--log-compress']);
    await e.containers.remove(own, { force: true });
    await assert.rejects(e.containers.create({ Image: 'busybox:berth-test', HostConfig: { LogConfig: { Type: 'json-file', Config: { 'max-file': '0' } } } } as never, {}), /max-file cannot be less than 1/);
    await assert.rejects(e.containers.create({ Image: 'busybox:berth-test', HostConfig: { LogConfig: { Type: 'json-file', Config: { compress: 'true', 'max-file': '1' } } } } as never, {}), /compress cannot be true when max-file is less than 2/);
    await assert.rejects(e.containers.create({ Image: 'busybox:berth-test', HostConfig: { LogConfig: { Type: 'json-file', Config: { 'max-bytes': '1' } } } } as never, {}), /unknown log opt 'max-bytes' for json-file log driver/);
    await assert.rejects(e.containers.create({ Image: 'busybox:berth-test', HostConfig: { LogConfig: { Type: 'syslog' } } } as never, {}), /logger: no log driver named 'syslog' is registered/);
  });

  it('a rotated, compressed log reads back whole and in order, from the .gz files too', async () => {
    const e = w.engine;
    const id = await run(e, ['seq', '1', '30000'], { HostConfig: { LogConfig: { Type: 'json-file', Config: { 'max-size': '100k', 'max-file': '5', compress: 'true' } } } });
    await e.containers.wait(id, 'not-running');
    const path = (await e.containers.inspect(id)).LogPath;
    await until('compression', () => !readdirSync(dirname(path)).some((f) => /-json\.log\.\d+$/.test(f)));
    const files = readdirSync(dirname(path)).filter((f) => f.includes('-json.log')).map((f) => f.slice(f.indexOf('-json.log'))).sort();
    assert.deepEqual(files, ['-json.log', '-json.log.1.gz', '-json.log.1.idx', '-json.log.2.gz', '-json.log.2.idx', '-json.log.3.gz', '-json.log.3.idx', '-json.log.4.gz', '-json.log.4.idx', '-json.log.idx']);
    const all = nums((await read(path, {})).lines);
    assert.equal(all.at(-1), 30000);
    assert.ok(all.length > 4000 && all.length < 30000, `${all.length} lines kept`);
    for (let i = 1; i < all.length; i++) assert.equal(all[i], all[i - 1]! + 1);
    // since/until/tail across gzipped and plain files
    const mid = all[Math.floor(all.length / 2)]!;
    const { out } = await logText(e, id, { since: 1 });
    assert.equal(out.split('\n').filter(Boolean).length, all.length);
    const times = (await read(path, {})).lines.map((l) => l.time);
    const tMid = times[Math.floor(all.length / 2)]!;
    const since = nums((await read(path, { since: timeToSeconds(tMid) })).lines);
    assert.equal(since[0], nums((await read(path, {})).lines).find((_, i) => times[i] === tMid));
    assert.equal(since.at(-1), 30000);
    const untilLines = nums((await read(path, { until: timeToSeconds(tMid) })).lines);
    assert.equal(untilLines[0], all[0]);
    assert.ok(untilLines.at(-1)! < mid + 1);
    const tail = nums((await read(path, { tail: 5 })).lines);
    assert.deepEqual(tail, [29996, 29997, 29998, 29999, 30000]);
    const tailBig = nums((await read(path, { tail: all.length - 10 })).lines);
    assert.deepEqual(tailBig, all.slice(10));
    await e.containers.remove(id, {});
  });

  it('--since near the end seeks with the index: little is read, and the lines are those a full scan finds', async () => {
    const size = statSync(big).size;
    const at = bigEntries[39000]!;
    const since = timeToSeconds(at.time);
    const want = bigEntries.filter((x) => timeToSeconds(x.time) >= since).map((x) => x.n);
    const r = await read(big, { since });
    assert.deepEqual(nums(r.lines), want);
    assert.ok(r.bytesRead < size / 10, `read ${r.bytesRead} of ${size} bytes`);
  });

  it('--until near the start stops at the index: little is read', async () => {
    const at = bigEntries[500]!;
    const untilT = timeToSeconds(at.time);
    const want = bigEntries.filter((x) => timeToSeconds(x.time) < untilT).map((x) => x.n);
    const r = await read(big, { until: untilT });
    assert.deepEqual(nums(r.lines), want);
    assert.ok(r.bytesRead < 200 * 1024, `read ${r.bytesRead} of ${statSync(big).size} bytes`);
  });

  it('--tail reads backwards from the end: little is read', async () => {
    const r = await read(big, { tail: 10 });
    assert.deepEqual(nums(r.lines), bigEntries.slice(-10).map((x) => x.n));
    assert.ok(r.bytesRead < 300 * 1024, `read ${r.bytesRead} bytes`);
    const withSince = await read(big, { tail: 3, since: timeToSeconds(bigEntries[100]!.time) });
    assert.deepEqual(nums(withSince.lines), [39998, 39999, 40000]);
  });

  it('dropped log entries (a log that cannot be written) show in stats, in log_dropped events and in logDrops()', async () => {
    const e = w.engine;
    const { Id: id } = await e.containers.create({ Image: 'busybox:berth-test', Cmd: ['sh', '-c', 'seq 1 10; sleep 1.5; seq 1 5; sleep 1.5'] } as never, {});
    // Every write to /dev/full fails with ENOSPC: the disk-full case, without filling a disk.
    symlinkSync('/dev/full', (await e.containers.inspect(id)).LogPath);
    const ac = new AbortController();
    const events: Array<Record<string, string>> = [];
    const seen = (async () => {
      for await (const ev of e.events.subscribe({ filters: { container: [id], event: ['log_dropped'] } }, ac.signal)) events.push(ev.Actor.Attributes);
    })();
    await e.containers.start(id);
    // The shim tells at the first drop, then at most once a second.
    const total = () => Number(events.at(-1)?.total ?? 0);
    await until('the first burst in events', () => total() === 10, 5000);
    let stats: StatsJSON | undefined;
    for await (const st of e.containers.stats(id, { stream: false, oneShot: true }, new AbortController().signal)) stats = st;
    assert.equal(stats!.berth!.log_dropped, 10);
    await e.containers.wait(id, 'not-running');
    await until('the last drops', () => total() === 15, 5000);
    let sum = 0;
    for (const x of events) {
      sum += Number(x.dropped);
      assert.equal(Number(x.total), sum, 'each event carries the running total');
    }
    assert.ok(events.length <= 4, `${events.length} events for 2 bursts`);
    assert.equal(e.logDrops()[id], 15);
    // A second run counts on from there.
    await e.containers.start(id);
    await e.containers.wait(id, 'not-running');
    await until('the second run\'s drops', () => e.logDrops()[id] === 30, 5000);
    ac.abort();
    await seen;
    await e.containers.remove(id, {});
  });

  it('ps --size and system df count the log files in the container\'s SizeRw', async () => {
    const e = w.engine;
    const [c] = (await e.containers.list({ all: true, size: true })).filter((x) => x.Id === bigId);
    const logBytes = statSync(big).size + statSync(`${big}.idx`).size;
    assert.ok(c!.SizeRw! >= logBytes, `SizeRw ${c!.SizeRw} counts the ${logBytes} log bytes`);
    assert.ok(c!.SizeRw! < logBytes + 1024 * 1024);
    const df = await e.df();
    assert.equal(df.Containers!.find((x) => x.Id === bigId)!.SizeRw, c!.SizeRw);
    assert.equal((await e.containers.inspect(bigId, { size: true })).SizeRw, c!.SizeRw);
  });

  it('--since trusts the index: on a copy whose head holds entries from the year 2999, they are never read (a scan would show them)', async () => {
    const dir = join(w.root, 'idx-copy');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dir, { recursive: true });
    const copy = join(dir, 'c-json.log');
    copyFileSync(big, copy);
    copyFileSync(`${big}.idx`, `${copy}.idx`);
    // Overwrite the first half with well-formed entries of the same total length, all "newer" than anything real.
    const half = Math.floor(statSync(copy).size / 2);
    const fake = '{"log":"FAKE\\n","stream":"stdout","time":"2999-01-01T00:00:00Z"}\n';
    let text = fake.repeat(Math.floor(half / fake.length));
    text += ' '.repeat(half - text.length - 1) + '\n';
    const fd = openSync(copy, 'r+');
    writeSync(fd, text, 0, 'utf8');
    closeSync(fd);
    const since = timeToSeconds(bigEntries[39000]!.time);
    const withIndex = await read(copy, { since });
    assert.ok(!withIndex.lines.some((l) => l.text.toString() === 'FAKE\n'), 'the index skipped the head');
    assert.equal(withIndex.lines.length, 1000);
    rmSync(`${copy}.idx`);
    const scan = await read(copy, { since });
    assert.ok(scan.lines.some((l) => l.text.toString() === 'FAKE\n'), 'without the index the head is scanned');
    assert.ok(scan.bytesRead > statSync(copy).size * 0.9);
  });
});
