import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { logDiskUsage, logFiles, readLogs, timeToSeconds } from './logs.js';
import type { LogLine, LogOptions } from './types.js';

const T0 = Date.parse('2024-05-01T10:00:00Z') * 1_000_000; // ns

/** An entry as the shim writes it: time in ns since the epoch. */
interface E { n: number; ns: number; stream?: 'stdout' | 'stderr'; text?: string }

function rfc3339(ns: number): string {
  const frac = String(ns % 1e9).padStart(9, '0').replace(/0+$/, '');
  return new Date(Math.floor(ns / 1e6)).toISOString().replace(/\.\d+Z$/, frac ? `.${frac}Z` : 'Z');
}

/** A json-file and its index, by the shim's rules: a record for the first entry, then one per 64 KiB. */
function writeLog(path: string, entries: E[], o: { gz?: boolean; index?: boolean; tailBytes?: string } = {}): void {
  const lines: Buffer[] = [];
  const recs: Buffer[] = [];
  let off = 0;
  let last = -1;
  for (const e of entries) {
    if (last < 0 || off - last >= 65536) {
      const r = Buffer.alloc(16);
      r.writeBigUInt64LE(BigInt(e.ns), 0);
      r.writeBigUInt64LE(BigInt(off), 8);
      recs.push(r);
      last = off;
    }
    const b = Buffer.from(`${JSON.stringify({ log: e.text ?? `${e.n}\n`, stream: e.stream ?? 'stdout', time: rfc3339(e.ns) })}\n`);
    lines.push(b);
    off += b.length;
  }
  if (o.tailBytes) lines.push(Buffer.from(o.tailBytes));
  const body = Buffer.concat(lines);
  writeFileSync(o.gz ? `${path}.gz` : path, o.gz ? gzipSync(body) : body);
  if (o.index !== false) {
    const h = Buffer.alloc(16);
    h.write('BERTHIDX', 0, 'latin1');
    h.writeUInt32LE(1, 8);
    h.writeUInt32LE(65536, 12);
    writeFileSync(`${path.replace(/\.gz$/, '')}.idx`, Buffer.concat([h, ...recs]));
  }
}

async function read(path: string, opts: LogOptions): Promise<{ lines: LogLine[]; bytesRead: number }> {
  const counter = { bytesRead: 0 };
  const lines: LogLine[] = [];
  for await (const l of readLogs(path, { stdout: true, stderr: true, ...opts }, new AbortController().signal, () => false, counter)) lines.push(l);
  return { lines, bytesRead: counter.bytesRead };
}
const nums = (ls: LogLine[]) => ls.map((l) => Number(l.text.toString()));
const secs = (ns: number) => ns / 1e9;

describe('readLogs on synthetic logs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-logs-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  // Three files: .2.gz (0..9999), .1 (10000..19999), live (20000..29999); 1 ms apart, with both streams.
  const base = join(dir, 'c-json.log');
  const all: E[] = Array.from({ length: 30000 }, (_, n) => ({ n, ns: T0 + n * 1_000_000, stream: n % 7 === 0 ? 'stderr' : 'stdout' }));
  writeLog(`${base}.2`, all.slice(0, 10000), { gz: true });
  writeLog(`${base}.1`, all.slice(10000, 20000));
  writeLog(base, all.slice(20000));
  const ref = (f: (e: E) => boolean) => all.filter(f).map((e) => e.n);

  test('files oldest first, .gz as such; every line in order', async () => {
    assert.deepEqual(logFiles(base).map((f) => [f.path.slice(dir.length + 1), f.gz]), [['c-json.log.2.gz', true], ['c-json.log.1', false], ['c-json.log', false]]);
    assert.deepEqual(nums((await read(base, {})).lines), ref(() => true));
    assert.ok(logDiskUsage(base) > statSync(base).size + statSync(`${base}.1`).size);
  });

  test('--since: exact, and the files before it are not read', async () => {
    for (const n of [0, 1, 9999, 10000, 15000, 20000, 29990, 29999]) {
      const s = secs(all[n]!.ns);
      assert.deepEqual(nums((await read(base, { since: s })).lines), ref((e) => e.n >= n), `since #${n}`);
    }
    const r = await read(base, { since: secs(all[29500]!.ns) });
    assert.ok(r.bytesRead < statSync(base).size / 3, `read ${r.bytesRead}`);
    // Half a millisecond after an entry: the next one is the first.
    assert.equal(nums((await read(base, { since: secs(all[12345]!.ns + 500_000) })).lines)[0], 12346);
  });

  test('--until: exact, and nothing after it is read', async () => {
    for (const n of [1, 500, 9999, 10000, 10001, 25000, 29999]) {
      assert.deepEqual(nums((await read(base, { until: secs(all[n]!.ns) })).lines), ref((e) => e.n < n), `until #${n}`);
    }
    const r = await read(base, { until: secs(all[10500]!.ns), since: secs(all[10400]!.ns) });
    assert.deepEqual(nums(r.lines), ref((e) => e.n >= 10400 && e.n < 10500));
    assert.ok(r.bytesRead < 200_000, `read ${r.bytesRead}`);
  });

  test('--tail: the last N after the filters, across files, reading backwards', async () => {
    assert.deepEqual(nums((await read(base, { tail: 3 })).lines), [29997, 29998, 29999]);
    assert.deepEqual(nums((await read(base, { tail: 0 })).lines), []);
    const r = await read(base, { tail: 10 });
    assert.ok(r.bytesRead < 300 * 1024, `read ${r.bytesRead}`);
    assert.deepEqual(nums((await read(base, { tail: 12000 })).lines), ref((e) => e.n >= 18000));
    assert.deepEqual(nums((await read(base, { tail: 25000 })).lines), ref((e) => e.n >= 5000)); // into the .gz file
    assert.deepEqual(nums((await read(base, { tail: 4, stdout: false, stderr: true })).lines), ref((e) => e.n % 7 === 0).slice(-4));
    assert.deepEqual(nums((await read(base, { tail: 2, until: secs(all[15000]!.ns) })).lines), [14998, 14999]);
  });

  test('without an index (or with a damaged one) the same lines come from a scan', async () => {
    const d2 = join(dir, 'noidx');
    const { mkdirSync, writeFileSync: w } = await import('node:fs');
    mkdirSync(d2);
    const p = join(d2, 'x-json.log');
    writeLog(p, all.slice(0, 5000), { index: false });
    const s = secs(all[4000]!.ns);
    assert.deepEqual(nums((await read(p, { since: s })).lines), ref((e) => e.n >= 4000 && e.n < 5000));
    w(`${p}.idx`, 'not an index at all');
    assert.deepEqual(nums((await read(p, { since: s })).lines), ref((e) => e.n >= 4000 && e.n < 5000));
  });

  test('an entry still being written is left out; UTF-8 split across reads stays whole', async () => {
    const d3 = join(dir, 'utf8');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(d3);
    const p = join(d3, 'u-json.log');
    // Entries of ~1000 bytes of '€' (3 bytes each, unescaped in JSON): some straddle the 1 MiB read size.
    const es: E[] = Array.from({ length: 2000 }, (_, n) => ({ n, ns: T0 + n * 1000, text: `${'€'.repeat(300 + (n % 5))}${n}\n` }));
    writeLog(p, es, { tailBytes: '{"log":"half an ent' });
    const r = await read(p, {});
    assert.equal(r.lines.length, 2000);
    for (const [i, l] of r.lines.entries()) assert.equal(l.text.toString(), es[i]!.text);
    const t = await read(p, { tail: 2 });
    assert.deepEqual(t.lines.map((l) => l.text.toString()), [es[1998]!.text, es[1999]!.text]);
  });

  test('timeToSeconds: the shim\'s form fast, other RFC 3339 forms too', () => {
    assert.equal(timeToSeconds('2024-05-01T10:00:00Z'), Date.parse('2024-05-01T10:00:00Z') / 1000);
    assert.ok(Math.abs(timeToSeconds('2024-05-01T10:00:00.123456789Z') - (Date.parse('2024-05-01T10:00:00Z') / 1000 + 0.123456789)) < 1e-6);
    assert.ok(Math.abs(timeToSeconds('2024-05-01T12:00:00.5+02:00') - (Date.parse('2024-05-01T10:00:00Z') / 1000 + 0.5)) < 1e-6);
  });
});
