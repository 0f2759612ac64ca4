// Reading a container's json-file log (the shim writes it, rotating to .1 .2 ...): since/until/tail, stream selection, follow.
import { closeSync, existsSync, fstatSync, openSync, readSync, statSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { LogLine, LogOptions } from './types.js';

/** An RFC 3339 timestamp with up to nanosecond digits, as fractional Unix seconds (exact to the microsecond). */
export function timeToSeconds(t: string): number {
  const m = /^(.*?)(\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(t);
  if (!m) return Date.parse(t) / 1000;
  const whole = Date.parse(m[1]! + m[4]!) / 1000;
  return whole + (m[3] ? Number(`0.${m[3]}`) : 0);
}

/** The rotated files oldest first, then the live one. */
export function logFiles(path: string): string[] {
  const rotated: string[] = [];
  for (let i = 1; existsSync(`${path}.${i}`); i++) rotated.push(`${path}.${i}`);
  return [...rotated.reverse(), ...(existsSync(path) ? [path] : [])];
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

/** Reads complete lines from a file descriptor, keeping a partial last line for the next call. */
class LineReader {
  private rest = '';
  offset = 0;
  constructor(readonly fd: number, readonly ino: number) {}

  read(): string[] {
    const out: string[] = [];
    const buf = Buffer.alloc(64 * 1024);
    for (;;) {
      const n = readSync(this.fd, buf, 0, buf.length, this.offset);
      if (n <= 0) break;
      this.offset += n;
      const text = this.rest + buf.subarray(0, n).toString('utf8');
      const lines = text.split('\n');
      this.rest = lines.pop()!;
      out.push(...lines);
    }
    return out;
  }

  close(): void {
    try { closeSync(this.fd); } catch { /* closed */ }
  }
}

function openReader(path: string): LineReader | undefined {
  try {
    const fd = openSync(path, 'r');
    return new LineReader(fd, fstatSync(fd).ino);
  } catch {
    return undefined;
  }
}

/**
 * The log lines of `path` (and its rotated files) that `opts` selects. With `follow`, goes on
 * with new lines (fs.watch on the directory, polling every 250 ms as a fallback) until
 * `isRunning()` turns false and the file is drained, `until` passes, or `signal` fires.
 */
export async function* readLogs(path: string, opts: LogOptions, signal: AbortSignal, isRunning: () => boolean): AsyncGenerator<LogLine> {
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

  // Past lines: every rotated file, then the live one, which follow keeps reading.
  const files = logFiles(path);
  let live: LineReader | undefined;
  let past: LogLine[] = [];
  for (const f of files) {
    const r = openReader(f);
    if (!r) continue;
    const lines = r.read().map(parseLine).filter(keep);
    past.push(...lines);
    if (f === path) live = r;
    else r.close();
  }
  const tail = opts.tail;
  if (tail !== undefined && tail !== 'all' && tail >= 0) past = tail === 0 ? [] : past.slice(-tail);
  try {
    for (const l of past) {
      if (signal.aborted) return;
      yield l;
    }
    past = [];
    if (!opts.follow) return;

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
        if (!live) live = openReader(path);
        if (live) {
          out.push(...live.read().map(parseLine).filter(keep));
          // Rotated (a new inode at the path) or truncated (one file kept, started over): the rest of
          // the old file was just read; continue from the start of the current one.
          let st: { ino: number; size: number } | undefined;
          try { st = statSync(path); } catch { st = undefined; }
          if (st && (st.ino !== live.ino || st.size < live.offset)) {
            const truncated = st.ino === live.ino;
            live.close();
            live = openReader(path);
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
  }
}
