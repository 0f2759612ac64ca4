// OTLP/HTTP export of ended spans in the JSON encoding (opentelemetry-proto docs/specification.md): batched, never blocking, dropped and counted on failure.
//
// Configured by the standard environment (OpenTelemetry's "OTLP Exporter Configuration"):
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is used as is; else OTEL_EXPORTER_OTLP_ENDPOINT gets
// `/v1/traces` appended. OTEL_EXPORTER_OTLP_[TRACES_]HEADERS adds `k=v,...` headers,
// OTEL_SERVICE_NAME names the resource; OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none turn
// it off. Only the JSON encoding is spoken (collectors take it on the same port as protobuf).
import http from 'node:http';
import https from 'node:https';
import type { AttrValue, SpanData } from './trace.js';

/** Where and how to export. */
export interface OtlpConfig {
  /** The full traces URL (…/v1/traces). */
  url: URL;
  headers: Record<string, string>;
  serviceName: string;
}

function parseHeaders(s: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (s ?? '').split(',')) {
    const i = part.indexOf('=');
    if (i <= 0) continue;
    try {
      out[decodeURIComponent(part.slice(0, i).trim())] = decodeURIComponent(part.slice(i + 1).trim());
    } catch {
      // A malformed pair is skipped, as the SDKs do.
    }
  }
  return out;
}

/** The exporter's config from the environment, or undefined when export is not asked for (or malformed: `problem` says why). */
export function otlpConfigFromEnv(env: Record<string, string | undefined>, defaultService: string): { config?: OtlpConfig; problem?: string } {
  if ((env['OTEL_SDK_DISABLED'] ?? '').toLowerCase() === 'true') return {};
  if ((env['OTEL_TRACES_EXPORTER'] ?? '').split(',').map((s) => s.trim().toLowerCase()).includes('none')) return {};
  const signal = env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'];
  const base = env['OTEL_EXPORTER_OTLP_ENDPOINT'];
  const raw = signal || (base ? `${base.replace(/\/+$/, '')}/v1/traces` : undefined);
  if (!raw) return {};
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { problem: `OTLP endpoint ${JSON.stringify(raw)} is not a URL` };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { problem: `OTLP endpoint ${JSON.stringify(raw)}: only http and https are supported` };
  const headers = { ...parseHeaders(env['OTEL_EXPORTER_OTLP_HEADERS']), ...parseHeaders(env['OTEL_EXPORTER_OTLP_TRACES_HEADERS']) };
  return { config: { url, headers, serviceName: env['OTEL_SERVICE_NAME'] || defaultService } };
}

type OtlpValue = { stringValue: string } | { boolValue: boolean } | { intValue: string } | { doubleValue: number };

function otlpValue(v: AttrValue): OtlpValue {
  if (typeof v === 'boolean') return { boolValue: v };
  if (typeof v === 'number') return Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v };
  return { stringValue: v };
}

function otlpAttributes(a: Record<string, AttrValue>): Array<{ key: string; value: OtlpValue }> {
  return Object.entries(a).map(([key, v]) => ({ key, value: otlpValue(v) }));
}

const KIND = { internal: 1, server: 2, client: 3 } as const;

/**
 * One ExportTraceServiceRequest in OTLP/JSON: hex ids, 64-bit times as decimal strings, enums as
 * integers, lowerCamelCase names. The span's layer travels as the attribute `berth.layer`.
 */
export function encodeOtlpJson(spans: readonly SpanData[], resource: Record<string, AttrValue>, scope = { name: 'berth', version: '' }): string {
  return JSON.stringify({
    resourceSpans: [{
      resource: { attributes: otlpAttributes(resource) },
      scopeSpans: [{
        scope,
        spans: spans.map((s) => ({
          traceId: s.traceId,
          spanId: s.spanId,
          ...(s.parentSpanId ? { parentSpanId: s.parentSpanId } : {}),
          name: s.name,
          kind: KIND[s.kind ?? 'internal'],
          startTimeUnixNano: s.start,
          endTimeUnixNano: s.end,
          attributes: otlpAttributes({ 'berth.layer': s.layer, ...s.attributes }),
          ...(s.error !== undefined ? { status: { code: 2, message: s.error } } : {}),
        })),
      }],
    }],
  });
}

export interface OtlpExporterOptions {
  /** Resource attributes besides service.name (e.g. service.version). */
  resource?: Record<string, AttrValue>;
  scopeVersion?: string;
  /** Spans waiting beyond this are dropped. Default 4096. */
  maxQueue?: number;
  /** Spans per request. Default 512. */
  maxBatch?: number;
  /** How long a span may wait for companions before a request goes. Default 200 ms. */
  delayMs?: number;
  /** Per request. Default 5 s. */
  timeoutMs?: number;
  /** Told about a failed request (the spans in it are dropped). */
  onError?: (message: string, dropped: number) => void;
}

/**
 * Queues ended spans and POSTs them in batches, one request at a time. `add` never waits and
 * never throws; a failed request's spans are dropped and counted (`dropped`), as OTLP allows
 * for telemetry. Sockets do not keep the process alive: a short-lived process calls `flush`.
 */
export class OtlpExporter {
  /** Spans accepted by the receiver, and dropped (queue full, request failed). */
  exported = 0;
  dropped = 0;
  private queue: SpanData[] = [];
  private timer: NodeJS.Timeout | undefined;
  private sending: Promise<void> | undefined;
  private readonly agent: http.Agent;
  private readonly resource: Record<string, AttrValue>;

  constructor(readonly config: OtlpConfig, private readonly o: OtlpExporterOptions = {}) {
    const Agent = config.url.protocol === 'https:' ? https.Agent : http.Agent;
    this.agent = new Agent({ keepAlive: true, maxSockets: 1 });
    this.resource = { 'service.name': config.serviceName, ...o.resource };
  }

  /** Queue one span (the tracer's sink). */
  add(s: SpanData): void {
    if (this.queue.length >= (this.o.maxQueue ?? 4096)) {
      this.dropped++;
      return;
    }
    this.queue.push(s);
    if (this.queue.length >= (this.o.maxBatch ?? 512)) this.kick();
    else if (!this.timer && !this.sending) {
      this.timer = setTimeout(() => { this.timer = undefined; this.kick(); }, this.o.delayMs ?? 200);
      this.timer.unref();
    }
  }

  private kick(): void {
    if (this.sending || this.queue.length === 0) return;
    if (this.timer) { clearTimeout(this.timer); this.timer = undefined; }
    const batch = this.queue.splice(0, this.o.maxBatch ?? 512);
    this.sending = this.post(batch).then(
      () => { this.exported += batch.length; },
      (e: Error) => {
        this.dropped += batch.length;
        this.o.onError?.(e.message, batch.length);
      },
    ).finally(() => {
      this.sending = undefined;
      this.kick();
    });
  }

  private post(batch: SpanData[]): Promise<void> {
    const body = Buffer.from(encodeOtlpJson(batch, this.resource, { name: 'berth', version: this.o.scopeVersion ?? '' }));
    const u = this.config.url;
    const mod = u.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = mod.request(u, {
        method: 'POST', agent: this.agent, timeout: this.o.timeoutMs ?? 5000,
        headers: { ...this.config.headers, 'Content-Type': 'application/json', 'Content-Length': String(body.length) },
      }, (res) => {
        const status = res.statusCode ?? 0;
        res.resume();
        res.once('end', () => (status >= 200 && status < 300 ? resolve() : reject(new Error(`${u.href}: HTTP ${status}`))));
        res.once('error', reject);
      });
      req.on('socket', (s) => s.unref());
      req.once('timeout', () => req.destroy(new Error(`${u.href}: no answer in ${this.o.timeoutMs ?? 5000} ms`)));
      req.once('error', (e) => reject(new Error(`${u.href}: ${e.message}`)));
      req.end(body);
    });
  }

  /**
   * Send what is queued; resolves when all of it was sent (or dropped), or after `timeoutMs`
   * (what is left is dropped). Holds the process open meanwhile, so a CLI can await it.
   */
  async flush(timeoutMs = 2000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    // A ref'd timer: it keeps the process alive while the (unref'd) request is under way.
    const expired = new Promise<'expired'>((r) => { timer = setTimeout(() => r('expired'), timeoutMs); });
    try {
      for (;;) {
        this.kick();
        if (!this.sending) break;
        if ((await Promise.race([this.sending.then(() => 'sent' as const), expired])) === 'expired') break;
      }
    } finally {
      clearTimeout(timer);
    }
    if (this.queue.length) {
      this.dropped += this.queue.length;
      this.queue = [];
    }
  }

  /** Flush, then close the connection. */
  async shutdown(timeoutMs = 2000): Promise<void> {
    await this.flush(timeoutMs);
    this.agent.destroy();
  }
}
