// bench/logs: `docker logs --tail 10 / --since <near the end> / --until <near the start>` on a 1 GB json-file log, side by side:
// berthd (the shim's index), berthd without the index (a scan), the reader in-process with the bytes it reads, a plain
// full scan, and a private dockerd's json-file reader on the very same file.
//
// The log is written through a real container (`yes` under berth-shim, rotation off) until it reaches --size, so the
// file and its index come from the writer containers use. Run as root after a build:
//   npx tsc -p . && node dist/bench/logs.js [--size 1g] [--runs 5] [--no-dockerd]
import { spawn } from 'node:child_process';
import { existsSync, linkSync, mkdirSync, openSync, readSync, renameSync, rmSync, statSync, closeSync, createReadStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { DOCKER, berthdSkipReason, startBerthd, type Berthd } from '../test/fixtures/berthd.js';
import { dockerdSkipReason, makeTestCgroup, startDockerd, type Dockerd, type TestCgroup } from '../test/fixtures/daemons.js';
import { buildDockerSaveTar } from '../test/fixtures/image.js';
import { tempDir } from '../test/fixtures/rootfs.js';
import { ramInBytes } from '../src/common/units.js';
import { LogIndex } from '../src/engine/log-index.js';
import { readLogs, timeToSeconds } from '../src/engine/logs.js';
import type { LogOptions } from '../src/engine/types.js';
import { fmt, median, now, ratio } from './stats.js';

const args = process.argv.slice(2);
const opt = (name: string, def: string) => (args.includes(name) ? args[args.indexOf(name) + 1] ?? def : def);
const size = ramInBytes(opt('--size', '1g'));
const runs = Number(opt('--runs', '5')) || 5;
const withDockerd = !args.includes('--no-dockerd');
const IMAGE = 'busybox:latest';
// ~100 bytes of text per entry: ~170 bytes per json-file line.
const LINE = 'berth bench log line: the quick brown fox jumps over the lazy dog, 0123456789 abcdefghijklmnopqrst';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Run the docker CLI, discarding its output but counting it; wall time in ms. */
function timedDocker(env: NodeJS.ProcessEnv, a: string[]): Promise<{ ms: number; bytes: number; status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const t0 = now();
    const c = spawn(DOCKER, a, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let bytes = 0;
    let stderr = '';
    c.stdout.on('data', (x: Buffer) => { bytes += x.length; });
    c.stderr.on('data', (x: Buffer) => { stderr += x.toString(); });
    c.on('close', (status) => resolve({ ms: now() - t0, bytes, status, stderr }));
  });
}

/** Median of `runs` timed runs (after one warm-up); fails on a non-zero exit. */
async function medianDocker(env: NodeJS.ProcessEnv, a: string[]): Promise<{ ms: number; bytes: number }> {
  const ms: number[] = [];
  let bytes = 0;
  for (let i = 0; i <= runs; i++) {
    const r = await timedDocker(env, a);
    if (r.status !== 0) throw new Error(`docker ${a.join(' ')}: exit ${r.status}: ${r.stderr}`);
    if (i > 0) ms.push(r.ms);
    bytes = r.bytes;
  }
  return { ms: median(ms), bytes };
}

/** The reader berthd uses, in this process: median ms and the bytes it read from disk. */
async function medianReader(path: string, o: LogOptions): Promise<{ ms: number; bytesRead: number; lines: number }> {
  const ms: number[] = [];
  let bytesRead = 0;
  let lines = 0;
  for (let i = 0; i <= runs; i++) {
    const counter = { bytesRead: 0 };
    let n = 0;
    const t0 = now();
    for await (const _ of readLogs(path, { stdout: true, stderr: true, ...o }, new AbortController().signal, () => false, counter)) n++;
    if (i > 0) ms.push(now() - t0);
    bytesRead = counter.bytesRead;
    lines = n;
  }
  return { ms: median(ms), bytesRead, lines };
}

/** What a reader without an index does: every line read and decoded, filtered, the last N kept. One run (it is slow). */
async function fullScan(path: string, o: { since?: number; until?: number; tail?: number }): Promise<{ ms: number; lines: number }> {
  const t0 = now();
  const kept: string[] = [];
  let n = 0;
  for await (const line of createInterface({ input: createReadStream(path), crlfDelay: Infinity })) {
    const j = JSON.parse(line) as { log: string; time: string };
    const t = timeToSeconds(j.time);
    if ((o.since && t < o.since) || (o.until && t >= o.until)) continue;
    n++;
    if (o.tail !== undefined) {
      kept.push(j.log);
      if (kept.length > o.tail) kept.shift();
    }
  }
  return { ms: now() - t0, lines: o.tail !== undefined ? kept.length : n };
}

/** The time of the entry at (or just after) `offset`, as Docker's --since/--until take it. */
function timeAt(path: string, offset: number): string {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(64 * 1024);
    const n = readSync(fd, b, 0, b.length, offset);
    const text = b.subarray(0, n).toString();
    const start = offset === 0 ? 0 : text.indexOf('\n') + 1;
    const line = text.slice(start, text.indexOf('\n', start));
    return (JSON.parse(line) as { time: string }).time;
  } finally {
    closeSync(fd);
  }
}

const mb = (n: number) => `${(n / 1e6).toFixed(n < 1e6 ? 3 : 1)} MB`;

async function main(): Promise<number> {
  const skip = berthdSkipReason();
  if (skip) {
    console.error(`bench/logs: ${skip}`);
    return 2;
  }
  const tmp = tempDir('berth-bench-logs-');
  let b: Berthd | undefined;
  let dd: Dockerd | undefined;
  let cg: TestCgroup | undefined;
  try {
    const tar = buildDockerSaveTar(tmp.path, IMAGE);
    b = await startBerthd({ prefix: 'berthd-bench-logs-' });
    const must = (a: string[]) => {
      const r = b!.docker(a, { timeout: 120_000 });
      if (r.status !== 0) throw new Error(`docker ${a.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    must(['load', '-i', tar]);

    // 1. The log, through a real container: `yes` until the file reaches the size, then kill.
    const id = must(['run', '-d', '--network', 'none', '--log-opt', 'max-size=-1', IMAGE, 'yes', LINE]).trim();
    const path = must(['inspect', '-f', '{{.LogPath}}', id]).trim();
    const t0 = now();
    while (!existsSync(path) || statSync(path).size < size) await sleep(50);
    must(['kill', id]);
    const genMs = now() - t0;
    const bytes = statSync(path).size;
    const idx = LogIndex.open(`${path}.idx`);
    if (!idx) throw new Error('no index beside the log');
    const records = idx.count;
    idx.close();
    const sinceT = timeAt(path, Math.floor(bytes * 0.99));
    const untilT = timeAt(path, Math.floor(bytes * 0.01));
    console.log(`bench/logs: ${mb(bytes)} json-file log written by berth-shim in ${(genMs / 1000).toFixed(1)} s (${fmt(bytes / 1e6 / (genMs / 1000))} MB/s), index ${records} records (${mb(statSync(`${path}.idx`).size)}); ${runs} runs, median`);
    console.log(`  --since ${sinceT} (entry at 99% of the file), --until ${untilT} (at 1%)`);

    const queries: Array<{ name: string; cli: string[]; reader: LogOptions; scan: { since?: number; until?: number; tail?: number } }> = [
      { name: 'logs --tail 10', cli: ['--tail', '10'], reader: { tail: 10 }, scan: { tail: 10 } },
      { name: 'logs --since (99%)', cli: ['--since', sinceT], reader: { since: timeToSeconds(sinceT) }, scan: { since: timeToSeconds(sinceT) } },
      { name: 'logs --until (1%)', cli: ['--until', untilT], reader: { until: timeToSeconds(untilT) }, scan: { until: timeToSeconds(untilT) } },
    ];
    const rows: Array<Record<string, number | undefined>> = [];
    for (const q of queries) {
      const row: Record<string, number | undefined> = {};
      const cli = await medianDocker(b.env, ['logs', ...q.cli, id]);
      row.berthd = cli.ms;
      row.outBytes = cli.bytes;
      const rd = await medianReader(path, q.reader);
      row.reader = rd.ms;
      row.readerBytes = rd.bytesRead;
      row.scan = (await fullScan(path, q.scan)).ms;
      rows.push(row);
    }
    // berthd without the index: the same reader falls back to reading from the start.
    renameSync(`${path}.idx`, `${path}.idx.off`);
    for (const [i, q] of queries.entries()) {
      if (i === 0) { rows[i]!.noIndex = rows[i]!.berthd; continue; } // --tail reads backwards: no index involved
      const r = await timedDocker(b.env, ['logs', ...q.cli, id]);
      rows[i]!.noIndex = r.ms;
    }
    renameSync(`${path}.idx.off`, `${path}.idx`);

    // 2. dockerd's json-file reader on the same file (hard-linked in as a container's log).
    if (withDockerd) {
      const dskip = dockerdSkipReason();
      const made = dskip ? dskip : makeTestCgroup('bench-logs');
      if (typeof made === 'string') {
        console.error(`bench/logs: dockerd side skipped: ${made}`);
      } else {
        cg = made;
        dd = await startDockerd(join(tmp.path, 'dockerd'), { cgroupParent: cg.path });
        const cli = join(tmp.path, 'dockerd-cli');
        mkdirSync(cli, { recursive: true });
        const env = { PATH: process.env.PATH, HOME: tmp.path, DOCKER_HOST: dd.host, DOCKER_CONFIG: cli };
        const dm = (a: string[]) => {
          const r = dd!.docker(a, { timeout: 120_000 });
          if (r.status !== 0) throw new Error(`dockerd: docker ${a.join(' ')}: ${r.stderr}`);
          return r.stdout;
        };
        dm(['load', '-i', tar]);
        const did = dm(['run', '-d', '--network', 'none', IMAGE, 'true']).trim();
        dm(['wait', did]);
        const dpath = dm(['inspect', '-f', '{{.LogPath}}', did]).trim();
        rmSync(dpath, { force: true });
        linkSync(path, dpath);
        for (const [i, q] of queries.entries()) rows[i]!.dockerd = (await medianDocker(env, ['logs', ...q.cli, did])).ms;
        rmSync(dpath, { force: true });
      }
    }

    console.log(['query', 'berthd', 'berthd no index', 'dockerd', 'berthd/dockerd', 'reader in-process', 'bytes read', 'full scan', 'full scan/reader', 'output'].join('\t'));
    for (const [i, q] of queries.entries()) {
      const r = rows[i]!;
      console.log([q.name, `${fmt(r.berthd)} ms`, `${fmt(r.noIndex)} ms`, r.dockerd === undefined ? 'n/a' : `${fmt(r.dockerd)} ms`, ratio(r.berthd, r.dockerd),
        `${fmt(r.reader, 1)} ms`, mb(r.readerBytes!), `${fmt(r.scan)} ms`, ratio(r.scan, r.reader), mb(r.outBytes!)].join('\t'));
    }
    must(['rm', '-f', id]);
    return 0;
  } finally {
    await b?.stop();
    await dd?.stop();
    await cg?.cleanup();
    if (existsSync(tmp.path)) tmp.cleanup();
  }
}

main().then((code) => { process.exitCode = code; }, (e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
