// Tracing: one trace per request through every layer (W3C trace context), spans on the hrtime clock, carried with AsyncLocalStorage.
//
// A span is a name, a layer, a start and an end (process.hrtime.bigint(): CLOCK_MONOTONIC, the
// clock berth-init times its phases with), a parent and a few attributes. The current span
// travels with the async context, so a call site only says `inSpan('rootfs.mount', 'image', fn)`.
// With no current span (nobody started a trace) `inSpan` just calls `fn`: nothing is allocated.
// Ended spans are kept in memory per trace (bounded) and handed to sinks (the OTLP exporter);
// nothing here does I/O.
//
//   const root = tracer.startRoot('POST /containers/{id}/start', 'api', { parent: parseTraceparent(h) });
//   await tracer.run(root, () => inSpan('container.start', 'engine', () => engine.start(id)));
//   root.finish();
//   tracer.spans(root.traceId);   // every ended span of the trace, as SpanData
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomFillSync } from 'node:crypto';

/** The layers of ARCHITECTURE.md a span can belong to. */
export type Layer =
  | 'cli' | 'api' | 'engine' | 'image' | 'network' | 'volume' | 'lifecycle' | 'runtime' | 'shim' | 'init' | 'container';

export type AttrValue = string | number | boolean;

/** OTLP's span kinds that matter here: a request served, a request made, everything else. */
export type SpanKind = 'internal' | 'server' | 'client';

/** An ended span as it is stored, persisted and sent: JSON-safe, times in unix nanoseconds (decimal strings). */
export interface SpanData {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  layer: string;
  kind?: SpanKind;
  start: string;
  end: string;
  attributes?: Record<string, AttrValue>;
  /** Set when the work failed: the error's message. */
  error?: string;
}

/** A parsed W3C `traceparent` header: the caller's trace and span. */
export interface TraceParent {
  traceId: string;
  spanId: string;
  /** Bit 0: the caller samples this trace (it is exported). */
  flags: number;
}

const TRACEPARENT_RE = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

/**
 * Parse a `traceparent` header (W3C Trace Context, level 1, section 3.2): lower-case hex, a
 * version other than `ff`, no all-zero ids; version 00 has exactly four fields, a later version
 * may append more (they are ignored). Anything else is undefined: a new trace is started then.
 */
export function parseTraceparent(h: string | string[] | undefined): TraceParent | undefined {
  const v = (Array.isArray(h) ? h[0] : h)?.trim();
  if (!v) return undefined;
  const m = TRACEPARENT_RE.exec(v);
  if (!m) return undefined;
  const [, version, traceId, spanId, flags, rest] = m as unknown as [string, string, string, string, string, string | undefined];
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined;
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return undefined;
  return { traceId, spanId, flags: parseInt(flags, 16) };
}

/** The `traceparent` header naming `spanId` of `traceId` as the parent of what the callee does. */
export function formatTraceparent(traceId: string, spanId: string, sampled = true): string {
  return `00-${traceId}-${spanId}-${sampled ? '01' : '00'}`;
}

// Ids from a pool of random bytes: one crypto call per 256 span ids, not one per span.
const pool = Buffer.alloc(4096);
let poolAt = pool.length;
function randomHex(bytes: number): string {
  for (;;) {
    if (poolAt + bytes > pool.length) {
      randomFillSync(pool);
      poolAt = 0;
    }
    const hex = pool.toString('hex', poolAt, poolAt + bytes);
    poolAt += bytes;
    // All-zero ids are invalid (W3C): astronomically unlikely, but never sent.
    if (!/^0+$/.test(hex)) return hex;
  }
}
export const newTraceId = () => randomHex(16);
export const newSpanId = () => randomHex(8);

/** Now, on the span clock (CLOCK_MONOTONIC nanoseconds). */
export const now = (): bigint => process.hrtime.bigint();

// hrtime -> unix nanoseconds. performance.timeOrigin can be milliseconds off hrtime's origin (it
// is read at another moment of Node's start), which puts spans of two processes out of order.
// Instead, the moment Date.now() ticks over to a new millisecond the realtime clock is on that
// millisecond exactly: hrtime read right then lines the clocks up to well under a microsecond.
// Done once per process, lazily (spinning up to 1 ms), so a process that never serializes a span
// never pays for it.
let unixOffset: bigint | undefined;
function offset(): bigint {
  if (unixOffset === undefined) {
    const before = Date.now();
    const limit = process.hrtime.bigint() + 2_000_000n;
    let hr: bigint;
    let ms: number;
    do {
      hr = process.hrtime.bigint();
      ms = Date.now();
    } while (ms === before && hr < limit);
    unixOffset = BigInt(ms) * 1_000_000n - hr;
  }
  return unixOffset;
}

/** A span-clock time as unix nanoseconds. */
export function toUnixNano(t: bigint): bigint {
  return t + offset();
}

/** Unix nanoseconds back on the span clock (for times another clock reported, e.g. RFC 3339 ones). */
export function fromUnixNano(ns: bigint): bigint {
  return ns - offset();
}

/** An error's message, for a failed span. */
function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export interface SpanOptions {
  attrs?: Record<string, AttrValue>;
  kind?: SpanKind;
  /** When it began, if not now (span clock). */
  start?: bigint;
}

/** One timed piece of work. Created by the tracer; `finish()` once (later calls are ignored). */
export class Span {
  /** The span that began this process's part of the trace (the API request, the CLI command). */
  readonly localRoot: Span;
  end: bigint | undefined;
  attrs: Record<string, AttrValue> | undefined;
  error: string | undefined;
  private endHooks: Array<(s: Span) => void> | undefined;

  constructor(
    private readonly tracer: Tracer,
    readonly traceId: string,
    readonly spanId: string,
    readonly parentSpanId: string | undefined,
    public name: string,
    readonly layer: Layer,
    readonly start: bigint,
    readonly sampled: boolean,
    localRoot: Span | undefined,
    readonly kind: SpanKind = 'internal',
  ) {
    this.localRoot = localRoot ?? this;
  }

  set(key: string, value: AttrValue | undefined): this {
    if (value !== undefined) (this.attrs ??= {})[key] = value;
    return this;
  }

  /** Mark the span failed (the first error wins). */
  fail(e: unknown): this {
    this.error ??= messageOf(e);
    return this;
  }

  /** A child of this span, started now (or at `o.start`). */
  child(name: string, layer: Layer, o: SpanOptions = {}): Span {
    const s = new Span(this.tracer, this.traceId, newSpanId(), this.spanId, name, layer, o.start ?? now(), this.sampled, this.localRoot, o.kind);
    if (o.attrs) s.attrs = { ...o.attrs };
    return s;
  }

  /** Run `fn` when this span ends (at once if it has). */
  onEnd(fn: (s: Span) => void): void {
    if (this.end !== undefined) fn(this);
    else (this.endHooks ??= []).push(fn);
  }

  /** End the span (now, or at `at`) and record it. */
  finish(at?: bigint): void {
    if (this.end !== undefined) return;
    this.end = at ?? now();
    if (this.end < this.start) this.end = this.start;
    this.tracer.record(this);
    const hooks = this.endHooks;
    this.endHooks = undefined;
    for (const h of hooks ?? []) h(this);
  }

  /** The `traceparent` header that makes this span the parent of the callee's work. */
  traceparent(): string {
    return formatTraceparent(this.traceId, this.spanId, this.sampled);
  }

  /** As stored and sent; an open span is cut at `openEnd` (default now). */
  toData(openEnd?: bigint): SpanData {
    const d: SpanData = {
      traceId: this.traceId, spanId: this.spanId, name: this.name, layer: this.layer,
      start: toUnixNano(this.start).toString(), end: toUnixNano(this.end ?? openEnd ?? now()).toString(),
    };
    if (this.parentSpanId) d.parentSpanId = this.parentSpanId;
    if (this.kind !== 'internal') d.kind = this.kind;
    if (this.attrs) d.attributes = { ...this.attrs };
    if (this.error !== undefined) d.error = this.error;
    return d;
  }
}

export interface TracerOptions {
  /** Traces kept in memory (the oldest goes first). Default 256. */
  maxTraces?: number;
  /** Spans kept per trace; more are counted in `dropped`. Default 2000. */
  maxSpans?: number;
}

/** A sink gets every ended span of a sampled trace (the OTLP exporter). It must not block. */
export type SpanSink = (s: SpanData) => void;

/** Starts spans, keeps the current one in the async context, and keeps ended spans per trace. */
export class Tracer {
  private readonly als = new AsyncLocalStorage<Span>();
  private readonly traces = new Map<string, SpanData[]>();
  private readonly sinks: SpanSink[] = [];
  private readonly maxTraces: number;
  private readonly maxSpans: number;
  /** Spans not kept because their trace was full. */
  dropped = 0;

  constructor(o: TracerOptions = {}) {
    this.maxTraces = o.maxTraces ?? 256;
    this.maxSpans = o.maxSpans ?? 2000;
  }

  /** The span of the current async context, if a trace is active. */
  current(): Span | undefined {
    return this.als.getStore();
  }

  /**
   * A span that begins this process's part of a trace: a child of `parent` (a remote caller, or
   * a span recorded earlier) when given, else the root of a new trace.
   */
  startRoot(name: string, layer: Layer, o: SpanOptions & { parent?: TraceParent | Pick<SpanData, 'traceId' | 'spanId'> } = {}): Span {
    const p = o.parent;
    const sampled = p && 'flags' in p ? (p.flags & 1) === 1 : true;
    const s = new Span(this, p?.traceId ?? newTraceId(), newSpanId(), p?.spanId, name, layer, o.start ?? now(), sampled, undefined, o.kind);
    if (o.attrs) s.attrs = { ...o.attrs };
    return s;
  }

  /** A child of the current span, or undefined when no trace is active. */
  start(name: string, layer: Layer, o: SpanOptions = {}): Span | undefined {
    return this.als.getStore()?.child(name, layer, o);
  }

  /** Run `fn` with `span` current (with none: outside any trace). */
  run<T>(span: Span | undefined, fn: () => T): T {
    return span ? this.als.run(span, fn) : this.als.exit(fn);
  }

  /**
   * Run `fn` outside any trace: for work that outlives the request that began it (exit monitors,
   * timers), which would otherwise keep adding spans to a trace long ended.
   */
  detached<T>(fn: () => T): T {
    return this.als.exit(fn);
  }

  /** Called by Span.finish. */
  record(s: Span): void {
    this.keep(s.toData(), s.sampled);
  }

  /** Record a span that was timed elsewhere (berth-init's phases, a shim's exit): as if it had ended here. */
  keep(d: SpanData, sampled = true): void {
    let list = this.traces.get(d.traceId);
    if (!list) {
      list = [];
      this.traces.set(d.traceId, list);
      if (this.traces.size > this.maxTraces) this.traces.delete(this.traces.keys().next().value!);
    }
    if (list.length < this.maxSpans) list.push(d);
    else this.dropped++;
    if (sampled) for (const sink of this.sinks) sink(d);
  }

  /** The ended spans of a trace kept in memory (empty when unknown or evicted). */
  spans(traceId: string): SpanData[] {
    return [...(this.traces.get(traceId) ?? [])];
  }

  /** `root` and every ended span below it (its trace's spans whose parent chain reaches it). */
  subtree(root: Pick<SpanData, 'traceId' | 'spanId'>): SpanData[] {
    const left = [...(this.traces.get(root.traceId) ?? [])];
    const inside = new Set([root.spanId]);
    const out: SpanData[] = [];
    // Parents usually end after their children, so one pass is not enough: repeat until none joins.
    for (let grew = true; grew;) {
      grew = false;
      for (let i = 0; i < left.length;) {
        const s = left[i]!;
        if (s.spanId === root.spanId || (s.parentSpanId !== undefined && inside.has(s.parentSpanId))) {
          out.push(s);
          inside.add(s.spanId);
          left.splice(i, 1);
          grew = true;
        } else {
          i++;
        }
      }
    }
    return out;
  }

  /** Hand every ended span of a sampled trace to `sink` too; returns the undo. */
  addSink(sink: SpanSink): () => void {
    this.sinks.push(sink);
    return () => {
      const i = this.sinks.indexOf(sink);
      if (i >= 0) this.sinks.splice(i, 1);
    };
  }
}

/** The process's tracer. */
export const tracer = new Tracer();

/**
 * Run `fn` in a child span of the current one, ended when `fn` settles (failed if it throws).
 * Without a current span `fn` runs as is, and gets undefined.
 */
export function inSpan<T>(name: string, layer: Layer, fn: (span: Span | undefined) => Promise<T> | T, o: SpanOptions = {}): Promise<T> {
  const s = tracer.start(name, layer, o);
  if (!s) return (async () => fn(undefined))();
  return tracer.run(s, async () => {
    try {
      return await fn(s);
    } catch (e) {
      s.fail(e);
      throw e;
    } finally {
      s.finish();
    }
  });
}
