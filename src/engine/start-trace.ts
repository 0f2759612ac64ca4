// The last start's trace of each container (`berth inspect --trace`): the start request's spans, completed by berth-init's execve, the run and the exit; in memory and as trace.json in the container dir.
//
//   start:  begin(id, engineSpan)      the record is taken now; saved when the request's span ends
//   exit:   exec(id, ns); process(id, finishedAt); extend(id, exitSpan)   saved again when the exit span ends
//   read:   get(id)                    from memory, else from trace.json (a berthd restarted since)
// Saving is an async write after the request ended: nothing on the start path waits for a disk.
import { readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../common/log.js';
import { newSpanId, toUnixNano, tracer, type Span, type SpanData } from '../common/trace.js';

/** The file in the container dir. */
export const TRACE_FILE = 'trace.json';

interface StartRecord {
  traceId: string;
  /** The span that began the start in this process: the API request, or the engine's own start. */
  rootSpanId: string;
  /** The engine's container.start span: the run and the exit hang below it. */
  startSpanId: string;
  /** Spans added since (the exit), each with what ran below it. */
  extraRoots: string[];
  /** What was collected at the last save (the tracer keeps only recent traces). */
  spans: SpanData[];
}

/** RFC 3339 with up to nanoseconds (the shim's times) as unix nanoseconds. */
export function rfc3339ToUnixNano(s: string): bigint | undefined {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(s);
  if (!m) return undefined;
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(ms)) return undefined;
  return BigInt(ms) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}

const isExec = (s: SpanData) => s.layer === 'init' && s.name === 'exec';

/** Per container, the trace of its last start. One per engine. */
export class StartTraces {
  private readonly mem = new Map<string, StartRecord>();
  private readonly writes = new Map<string, Promise<void>>();

  constructor(private readonly dirOf: (id: string) => string, private readonly log: Logger) {}

  /** A start begins (`span` is the engine's container.start): it is the container's last start from now on. */
  begin(id: string, span: Span): void {
    const rec: StartRecord = { traceId: span.traceId, rootSpanId: span.localRoot.spanId, startSpanId: span.spanId, extraRoots: [], spans: [] };
    this.mem.set(id, rec);
    span.localRoot.onEnd(() => this.save(id, rec));
  }

  /** Where spans of what followed the last start go (the exit): its container.start span. */
  anchor(id: string): { traceId: string; spanId: string } | undefined {
    const rec = this.load(id);
    return rec && { traceId: rec.traceId, spanId: rec.startSpanId };
  }

  /** Add `span` and what runs below it to the last start's trace; saved when it ends. */
  extend(id: string, span: Span): void {
    const rec = this.load(id);
    if (!rec || rec.traceId !== span.traceId) return;
    rec.extraRoots.push(span.spanId);
    span.onEnd(() => this.save(id, rec));
  }

  /** True while the last start lacks berth-init's `exec` (a running container: ask its shim). */
  needsExec(id: string): boolean {
    const rec = this.load(id);
    return !!rec && !this.collect(rec).some(isExec);
  }

  /**
   * berth-init's execve (`execNs`, span clock) as the `exec` span: from the release of the start
   * (the lifecycle's task.start) to the execve, below task.start. Once.
   */
  exec(id: string, execNs: number): void {
    const rec = this.load(id);
    if (!rec || !execNs) return;
    const spans = this.collect(rec);
    const start = spans.find((s) => s.layer === 'lifecycle' && s.name === 'task.start');
    if (!start || spans.some(isExec)) return;
    const from = BigInt(start.start);
    const to = toUnixNano(BigInt(Math.round(execNs)));
    this.add(id, rec, { traceId: rec.traceId, spanId: newSpanId(), parentSpanId: start.spanId, name: 'exec', layer: 'init', start: start.start, end: String(to > from ? to : from) });
  }

  /** The container's process, from its execve (else the start's release) to its end (the shim's `finishedAt`), below container.start. */
  process(id: string, finishedAt: string, attrs: Record<string, string | number | boolean> = {}): void {
    const rec = this.load(id);
    const end = rfc3339ToUnixNano(finishedAt);
    if (!rec || end === undefined) return;
    const spans = this.collect(rec);
    const from = spans.find(isExec)?.end ?? spans.find((s) => s.layer === 'lifecycle' && s.name === 'task.start')?.end;
    if (!from || spans.some((s) => s.layer === 'container' && s.name === 'process')) return;
    this.add(id, rec, {
      traceId: rec.traceId, spanId: newSpanId(), parentSpanId: rec.startSpanId, name: 'process', layer: 'container',
      start: from, end: String(end > BigInt(from) ? end : BigInt(from)), ...(Object.keys(attrs).length ? { attributes: attrs } : {}),
    });
  }

  /** The last start's trace, as far as it is known; undefined when the container has none. */
  get(id: string): { traceId: string; spans: SpanData[] } | undefined {
    const rec = this.load(id);
    return rec && { traceId: rec.traceId, spans: this.collect(rec) };
  }

  /**
   * The container goes (its dir into the trash): no more saves. One under way may still write,
   * into the dir's new place in the trash, whose delete retries a tree that grew meanwhile.
   */
  forget(id: string): void {
    this.mem.delete(id);
  }

  /** Wait for the writes under way (engine close). */
  async flush(): Promise<void> {
    await Promise.all([...this.writes.values()]);
  }

  private add(id: string, rec: StartRecord, d: SpanData): void {
    tracer.keep(d);
    rec.spans.push(d);
    this.save(id, rec);
  }

  /** What was saved, and what the tracer still has below the record's roots, once each, in start order. */
  private collect(rec: StartRecord): SpanData[] {
    const seen = new Map<string, SpanData>();
    for (const s of rec.spans) seen.set(s.spanId, s);
    for (const root of [rec.rootSpanId, ...rec.extraRoots]) {
      for (const s of tracer.subtree({ traceId: rec.traceId, spanId: root })) seen.set(s.spanId, s);
    }
    return [...seen.values()].sort((a, b) => (BigInt(a.start) < BigInt(b.start) ? -1 : BigInt(a.start) > BigInt(b.start) ? 1 : 0));
  }

  private save(id: string, rec: StartRecord): void {
    rec.spans = this.collect(rec);
    if (this.mem.get(id) !== rec) return; // a newer start, or removed
    const file = join(this.dirOf(id), TRACE_FILE);
    const text = JSON.stringify({ version: 1, ...rec });
    // One write at a time per container, in order: the last save wins.
    const prev = this.writes.get(id) ?? Promise.resolve();
    const next = prev
      .then(async () => {
        await writeFile(`${file}.tmp`, text, { mode: 0o600 });
        await rename(`${file}.tmp`, file);
      })
      .catch((e: NodeJS.ErrnoException) => {
        // The container was removed meanwhile (its dir with it): nothing to keep.
        if (e.code !== 'ENOENT') this.log.warn('start trace: write failed', { id, err: e.message });
      });
    this.writes.set(id, next);
    void next.then(() => { if (this.writes.get(id) === next) this.writes.delete(id); });
  }

  private load(id: string): StartRecord | undefined {
    const m = this.mem.get(id);
    if (m) return m;
    let rec: StartRecord;
    try {
      rec = JSON.parse(readFileSync(join(this.dirOf(id), TRACE_FILE), 'utf8')) as StartRecord;
    } catch {
      return undefined; // never started since traces were recorded, or damaged: no trace
    }
    if (typeof rec?.traceId !== 'string' || typeof rec.startSpanId !== 'string' || !Array.isArray(rec.spans)) return undefined;
    rec.extraRoots = Array.isArray(rec.extraRoots) ? rec.extraRoots : [];
    this.mem.set(id, rec);
    return rec;
  }
}
