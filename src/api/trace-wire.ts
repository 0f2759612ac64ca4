// Traces on the wire (GET /containers/{id}/trace, GET /traces/{id}): Docker-style JSON names for SpanData, both ways.
import type { AttrValue, SpanData, SpanKind } from '../common/trace.js';

/** One span as berthd sends it. Times are unix nanoseconds as decimal strings (64-bit, as OTLP/JSON writes them). */
export interface WireSpan {
  TraceID: string;
  SpanID: string;
  ParentSpanID?: string;
  Name: string;
  Layer: string;
  Kind?: SpanKind;
  StartUnixNano: string;
  EndUnixNano: string;
  Attributes?: Record<string, AttrValue>;
  Error?: string;
}

/** A trace as berthd sends it; `ID` is the container's for GET /containers/{id}/trace. */
export interface WireTrace {
  ID?: string;
  TraceID: string;
  Spans: WireSpan[];
}

export function toWireSpan(s: SpanData): WireSpan {
  return {
    TraceID: s.traceId, SpanID: s.spanId, ...(s.parentSpanId ? { ParentSpanID: s.parentSpanId } : {}),
    Name: s.name, Layer: s.layer, ...(s.kind ? { Kind: s.kind } : {}), StartUnixNano: s.start, EndUnixNano: s.end,
    ...(s.attributes ? { Attributes: s.attributes } : {}), ...(s.error !== undefined ? { Error: s.error } : {}),
  };
}

/** A span from the wire; what is malformed is dropped (undefined), never trusted as a number. */
export function fromWireSpan(w: WireSpan): SpanData | undefined {
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const traceId = str(w?.TraceID);
  const spanId = str(w?.SpanID);
  const start = str(w?.StartUnixNano);
  const end = str(w?.EndUnixNano);
  if (!traceId || !spanId || !start || !end || !/^\d+$/.test(start) || !/^\d+$/.test(end)) return undefined;
  const d: SpanData = { traceId, spanId, name: str(w.Name) ?? '', layer: str(w.Layer) ?? '', start, end };
  if (str(w.ParentSpanID)) d.parentSpanId = w.ParentSpanID;
  if (w.Kind === 'server' || w.Kind === 'client') d.kind = w.Kind;
  if (w.Attributes && typeof w.Attributes === 'object') d.attributes = w.Attributes;
  if (str(w.Error) !== undefined) d.error = w.Error;
  return d;
}
