// Reading a container's json-file log (the shim writes it, rotating to .1 .2 ..., gzipped on request, each file with a time index): since/until/tail, stream selection, follow.
//
// `--since` and `--until` binary-search each file's index (log-index.ts) instead of scanning,
// whole files are skipped by the time of their first entry, and `--tail` reads backwards from
// the end; so their cost does not grow with the size of the log.
import { closeSync, existsSync, fstatSync, openSync, readSync, statSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { LogIndex, type ReadCounter } from './log-index.js';
import type { LogLine, LogOptions } from './types.js';

let lastWhole = '';
let lastWholeSecs = 0;

/** An RFC 3339 timestamp with up to nanosecond digits, as fractional Unix seconds (exact to the microsecond). */
export function timeToSeconds(t: string): number {
  // The shim's own form, `YYYY-MM-DDTHH:MM:SS[.fraction]Z`, on every line: the whole seconds are
  // parsed once per second of log, not once per line.
  if (t.length >= 20 && t.charCodeAt(t.length - 1) === 90 /* Z */ && (t.charCodeAt(19) === 46 /* . */ || t.length === 20)) {
    const whole = t.slice(0, 19);
    if (whole !== lastWhole) {
      const secs = Date.parse(`${whole}Z`) / 1000;
      if (Number.isNaN(secs)) return secs;
      lastWhole = whole;
      lastWholeSecs = secs;
    }
    return t.length === 20 ? lastWholeSecs : lastWholeSecs + Number(`0.${t.slice(20, -1)}`);
  }
  const m = /^(.*?)(\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(t);
  if (!m) return Date.parse(t) / 1000;
  const whole = Date.parse(m[1]! + m[4]!) / 1000;
  return whole + (m[3] ? Number(`0.${m[3]}`) : 0);
}

/** One file of a log: the live one, or a rotated one (`.N`, or `.N.gz` once compressed), and its index. */
export interface LogFile {
  path: string;
  gz: boolean;
  index: string;
}

/** The rotated files oldest first, then the live one. A rotated file still being compressed is read uncompressed (as dockerd's reader). */
export function logFiles(path: string): LogFile[] {
  const rotated: LogFile[] = [];
  for (let i = 1; ; i++) {
    const index = `${path}.${i}.idx`;
    if (existsSync(`${path}.${i}`)) rotated.push({ path: `${path}.${i}`, gz: false, index });
    else if (existsSync(`${path}.${i}.gz`)) rotated.push({ path: `${path}.${i}.gz`, gz: true, index });
    else break;
  }
  return [...rotated.reverse(), ...(existsSync(path) ? [{ path, gz: false, index: `${path}.idx` }] : [])];
}

/** Bytes a log takes on disk: every file and index (what `ps --size` and `system df` add to the container's size). */
export function logDiskUsage(path: string): number {
  let n = 0;
  for (const f of logFiles(path)) {
    for (const p of [f.path, f.index]) {
      try { n += statSync(p).size; } catch { /* gone meanwhile */ }
    }
  }
  return n;
}

function parseLine(line: string): LogLine | undefined {
  if (!line) return undefined;
  try {
    const j = JSON.parse(line) as { log?: string; stream?: string; time?: string };
    return { stream: j.stream === 'stderr' ? 'stderr' : 'stdout', text: Buffer.from(j.log ?? '', 'utf8'), time: j.time ?? '' };
  } catch {
    return undefined; // a torn line (crash mid-write) is skipped, as dockerd does
  }
}

/** Split `block` at newlines: the complete lines, the offset in `block` after each, and what follows the last newline. */
function splitLines(block: Buffer): { lines: string[]; ends: number[]; rest: Buffer } {
  const lines: string[] = [];
  const ends: number[] = [];
  let from = 0;
  for (let i = block.indexOf(0x0a); i >= 0; i = block.indexOf(0x0a, from)) {
    lines.push(block.toString('utf8', from, i));
    from = i + 1;
    ends.push(from);
  }
  // A copy: the block's buffer is reused for the next read.
  return { lines, ends, rest: Buffer.from(block.subarray(from)) };
}

/** Reads complete lines from a file descriptor from `offset` on, keeping a partial last line (as bytes) for the next call. */
class LineReader {
  private rest: Buffer = Buffer.alloc(0);
  constructor(readonly fd: number, readonly ino: number, public offset = 0, private readonly counter?: ReadCounter) {}

  read(): string[] {
    const out: string[] = [];
    const buf = Buffer.alloc(64 * 1024);
    for (;;) {
      const n = readSync(this.fd, buf, 0, buf.length, this.offset);
      if (n <= 0) break;
      if (this.counter) this.counter.bytesRead += n;
      this.offset += n;
      const r = splitLines(this.rest.length ? Buffer.concat([this.rest, buf.subarray(0, n)]) : buf.subarray(0, n));
      this.rest = r.rest;
      out.push(...r.lines);
    }
    return out;
  }

  close(): void {
    try { closeSync(this.fd); } catch { /* closed */ }
  }
}

function openReader(path: string, counter?: ReadCounter): LineReader | undefined {
  try {
    const fd = openSync(path, 'r');
    return new LineReader(fd, fstatSync(fd).ino, 0, counter);
  } catch {
    return undefined;
  }
}

/** An open log file and the byte range of it to read. Opened up front, so a rotation while we read moves nothing under us. */
interface Source {
  file: LogFile;
  fd: number;
  ino: number;
  size: number;
  index?: LogIndex;
  start: number;
  /** Exclusive; the file's size when opened, or an index bound. */
  end: number;
}

const CHUNK = 1 << 20;

/**
 * Lines of a plain file's range, forwards. The last line of the range counts only with its
 * newline; `done.pos` is the offset after the last line given out.
 */
function* forwardPlain(s: Source, counter: ReadCounter, done: { pos: number }): Generator<string> {
  const buf = Buffer.alloc(CHUNK);
  let pos = s.start;
  let rest: Buffer = Buffer.alloc(0);
  done.pos = s.start;
  while (pos < s.end) {
    const n = readSync(s.fd, buf, 0, Math.min(CHUNK, s.end - pos), pos);
    if (n <= 0) break;
    counter.bytesRead += n;
    pos += n;
    const block = rest.length ? Buffer.concat([rest, buf.subarray(0, n)]) : buf.subarray(0, n);
    const blockStart = pos - block.length;
    const r = splitLines(block);
    rest = r.rest;
    for (let i = 0; i < r.lines.length; i++) {
      done.pos = blockStart + r.ends[i]!;
      yield r.lines[i]!;
    }
  }
}

/** Lines of a gzipped file's range, forwards (offsets are in the uncompressed stream: what is before `start` is inflated and dropped). */
async function* forwardGzip(s: Source, counter: ReadCounter): AsyncGenerator<string> {
  // Synchronous reads of our fd: nothing is in flight when the reader stops early and the fd is closed.
  const raw = Readable.from((function* () {
    const buf = Buffer.alloc(CHUNK);
    for (let pos = 0; ;) {
      const n = readSync(s.fd, buf, 0, buf.length, pos);
      if (n <= 0) return;
      counter.bytesRead += n;
      pos += n;
      yield Buffer.from(buf.subarray(0, n));
    }
  })());
  let pos = 0;
  let rest: Buffer = Buffer.alloc(0);
  try {
    for await (const chunk of raw.pipe(createGunzip())) {
      let b = chunk as Buffer;
      const from = pos;
      pos += b.length;
      if (pos <= s.start) continue;
      if (from < s.start) b = b.subarray(s.start - from);
      const r = splitLines(rest.length ? Buffer.concat([rest, b]) : b);
      rest = r.rest;
      for (const l of r.lines) yield l;
      if (pos >= s.end) break;
    }
  } finally {
    raw.destroy();
  }
  if (rest.length && pos < s.end) yield rest.toString('utf8'); // a compressed file is complete: its last entry ends it
}

/** Lines of a plain file's range, backwards (newest first); a partial last line (still being written) is left out. */
function* backwardPlain(s: Source, counter: ReadCounter): Generator<string> {
  const buf = Buffer.alloc(256 * 1024);
  let pos = s.end;
  let carry: Buffer = Buffer.alloc(0);
  let first = true;
  while (pos > s.start) {
    const len = Math.min(buf.length, pos - s.start);
    pos -= len;
    const n = readSync(s.fd, buf, 0, len, pos);
    counter.bytesRead += n;
    let block = Buffer.concat([buf.subarray(0, n), carry]);
    if (first) {
      first = false;
      const nl = block.lastIndexOf(0x0a);
      // Bytes after the last newline are an entry the shim has not finished writing.
      block = nl < 0 ? Buffer.alloc(0) : block.subarray(0, nl + 1);
      if (nl < 0) { carry = Buffer.alloc(0); continue; }
    }
    let end = block.length;
    if (block[end - 1] === 0x0a) end--;
    for (let i = end - 1; i >= 0; i--) {
      if (block[i] === 0x0a) {
        yield block.toString('utf8', i + 1, end);
        end = i;
      }
    }
    carry = Buffer.from(block.subarray(0, end));
  }
  if (carry.length) yield carry.toString('utf8');
}

/**
 * The log lines of `path` (and its rotated files) that `opts` selects: `since`/`until` and the
 * stream selection filter, then `tail` keeps the last N of what is left. With `follow`, goes on
 * with new lines (fs.watch on the directory, polling every 250 ms as a fallback) until
 * `isRunning()` turns false and the file is drained, `until` passes, or `signal` fires.
 * `counter` (optional) adds up the bytes read from disk.
 */
export async function* readLogs(path: string, opts: LogOptions, signal: AbortSignal, isRunning: () => boolean, counter: ReadCounter = { bytesRead: 0 }): AsyncGenerator<LogLine> {
  const both = !opts.stdout && !opts.stderr;
  const want = (l: LogLine) => both || (l.stream === 'stdout' ? !!opts.stdout : !!opts.stderr);
  const since = opts.since && opts.since > 0 ? opts.since : undefined;
  const until = opts.until && opts.until > 0 ? opts.until : undefined;
  const inRange = (l: LogLine) => {
    if (!since && !until) return true;
    const s = timeToSeconds(l.time);
    return (!since || s >= since) && (!until || s < until);
  };
  const keep = (l: LogLine | undefined): l is LogLine => !!l && want(l) && inRange(l);

  const sources: Source[] = [];
  for (const file of logFiles(path)) {
    let fd: number;
    try {
      fd = openSync(file.path, 'r');
    } catch {
      continue; // rotated away between the listing and the open
    }
    const st = fstatSync(fd);
    const index = since || until ? LogIndex.open(file.index, counter) : undefined;
    sources.push({ file, fd, ino: st.ino, size: st.size, start: 0, end: file.gz ? Infinity : st.size, ...(index ? { index } : {}) });
  }
  const liveSource = sources.at(-1)?.file.path === path ? sources.at(-1) : undefined;
  // Ten microseconds of slack: index times are cut to the microsecond, float seconds round further.
  let first = 0;
  let last = sources.length - 1;
  if (since) {
    // Every entry of a file is no newer than the first entry of the next one.
    for (let k = sources.length - 1; k > 0; k--) {
      const t = sources[k]!.index?.firstTime();
      if (t !== undefined && t < since - 1e-5) { first = k; break; }
    }
    const s = sources[first];
    if (s?.index) s.start = s.index.seekSince(since - 1e-5, s.file.gz ? Infinity : s.size);
  }
  if (until) {
    for (let k = first + 1; k < sources.length; k++) {
      const t = sources[k]!.index?.firstTime();
      if (t !== undefined && t >= until + 1e-5) { last = k - 1; break; }
    }
    const s = sources[last];
    const end = s?.index?.seekUntil(until + 1e-5, s.file.gz ? Infinity : s.size);
    if (s && end !== undefined) s.end = Math.max(s.start, end);
  }
  const chosen = sources.slice(first, last + 1);
  // Where follow goes on in the live file: after what the past lines covered.
  let liveOffset = liveSource ? (liveSource.file.gz ? 0 : Math.min(liveSource.end, liveSource.size)) : 0;

  let live: LineReader | undefined;
  try {
    const tail = opts.tail;
    if (tail !== undefined && tail !== 'all' && tail >= 0) {
      // Newest first, until `tail` lines are kept; then given out oldest first.
      const got: LogLine[] = [];
      for (let k = chosen.length - 1; k >= 0 && got.length < tail; k--) {
        const s = chosen[k]!;
        if (s.file.gz) {
          const ring: LogLine[] = [];
          for await (const line of forwardGzip(s, counter)) {
            const l = parseLine(line);
            if (keep(l)) { ring.push(l); if (ring.length > tail - got.length) ring.shift(); }
          }
          got.push(...ring.reverse());
        } else {
          for (const line of backwardPlain(s, counter)) {
            const l = parseLine(line);
            if (keep(l)) got.push(l);
            if (got.length >= tail) break;
          }
        }
      }
      if (liveSource && !liveSource.file.gz) {
        // Follow resumes after the last complete line: a partial one is read once it is whole.
        const tailEnd = Math.min(liveSource.end, liveSource.size);
        const b = Buffer.alloc(Math.min(tailEnd, 64 * 1024));
        const n = readSync(liveSource.fd, b, 0, b.length, tailEnd - b.length);
        const nl = b.subarray(0, n).lastIndexOf(0x0a);
        liveOffset = nl < 0 ? tailEnd - n : tailEnd - n + nl + 1;
      }
      for (let i = got.length - 1; i >= 0; i--) {
        if (signal.aborted) return;
        yield got[i]!;
      }
    } else {
      for (const s of chosen) {
        const done = { pos: s.start };
        if (s.file.gz) {
          for await (const line of forwardGzip(s, counter)) {
            if (signal.aborted) return;
            const l = parseLine(line);
            if (keep(l)) yield l;
          }
        } else {
          // A sync loop: `for await` over a sync generator would cost a promise per line.
          for (const line of forwardPlain(s, counter, done)) {
            if (signal.aborted) return;
            const l = parseLine(line);
            if (keep(l)) yield l;
          }
        }
        if (s === liveSource) liveOffset = done.pos;
      }
    }
    if (!opts.follow) return;

    if (liveSource) {
      live = new LineReader(liveSource.fd, liveSource.ino, liveOffset, counter);
      liveSource.fd = -1; // now the follower's to close
    }
    let wake: (() => void) | undefined;
    let watcher: FSWatcher | undefined;
    const poke = () => { const w = wake; wake = undefined; w?.(); };
    try {
      watcher = watch(dirname(path), (_ev, name) => { if (!name || String(name).startsWith(basename(path))) poke(); });
      watcher.on('error', () => undefined);
    } catch { /* polling only */ }
    const onAbort = () => poke();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      for (;;) {
        if (signal.aborted) return;
        if (until && Date.now() / 1000 >= until) return;
        const running = isRunning();
        const out: LogLine[] = [];
        if (!live) live = openReader(path, counter);
        if (live) {
          out.push(...live.read().map(parseLine).filter(keep));
          // Rotated (a new inode at the path) or truncated (one file kept, started over): the rest of
          // the old file was just read; continue from the start of the current one.
          let st: { ino: number; size: number } | undefined;
          try { st = statSync(path); } catch { st = undefined; }
          if (st && (st.ino !== live.ino || st.size < live.offset)) {
            const truncated = st.ino === live.ino;
            live.close();
            live = openReader(path, counter);
            if (live && truncated) live.offset = 0;
            if (live) out.push(...live.read().map(parseLine).filter(keep));
          }
        }
        for (const l of out) {
          if (signal.aborted) return;
          yield l;
        }
        // Checked before the read: a container that stopped has flushed its log (the shim drains before it records the exit).
        if (!running) return;
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(poke, 250).unref();
        });
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      watcher?.close();
    }
  } finally {
    live?.close();
    for (const s of sources) {
      if (s.fd >= 0) try { closeSync(s.fd); } catch { /* closed */ }
      s.index?.close();
    }
  }
}
