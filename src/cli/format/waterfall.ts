// A trace as a waterfall: one line per span, indented by depth, with its offset and duration in ms and a bar on a common time axis.
import type { SpanData } from '../../common/trace.js';

export interface WaterfallOptions {
  /** Columns of the bar (the whole trace). Default 40. */
  barWidth?: number;
  /** Longest span name column, indentation included. Default 56. */
  nameWidth?: number;
}

// Left-aligned eighths of a cell, ▏ (1/8) to ▉ (7/8).
const EIGHTHS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];

/** The bar of [from, to) on a time axis of `total` ns drawn in `width` cells (at least ▏). */
export function bar(from: bigint, to: bigint, total: bigint, width: number): string {
  if (total <= 0n) return '▏';
  const eighths = (t: bigint) => Number((t * BigInt(width * 8) + total / 2n) / total);
  const startCell = Math.min(width - 1, Math.floor(eighths(from) / 8));
  const rem = Math.max(1, eighths(to) - startCell * 8);
  return ' '.repeat(startCell) + '█'.repeat(Math.floor(rem / 8)) + EIGHTHS[rem % 8];
}

const ms = (ns: bigint) => (Number(ns) / 1e6).toFixed(2);

function clip(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, Math.max(0, n - 1))}…`;
}

/**
 * Render spans (of one trace, from any number of processes) as a waterfall. Parents come before
 * their children, siblings in start order; a span whose parent is not among them is a root.
 * Offsets are from the earliest start; durations are end - start.
 */
export function waterfall(spans: readonly SpanData[], o: WaterfallOptions = {}): string {
  if (spans.length === 0) return '';
  const width = o.barWidth ?? 40;
  const nameWidth = o.nameWidth ?? 56;
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const children = new Map<string | undefined, SpanData[]>();
  for (const s of spans) {
    const parent = s.parentSpanId !== undefined && byId.has(s.parentSpanId) && s.parentSpanId !== s.spanId ? s.parentSpanId : undefined;
    const list = children.get(parent) ?? [];
    list.push(s);
    children.set(parent, list);
  }
  const order = (a: SpanData, b: SpanData) => {
    const d = BigInt(a.start) - BigInt(b.start);
    return d < 0n ? -1 : d > 0n ? 1 : BigInt(b.end) > BigInt(a.end) ? 1 : -1;
  };
  for (const list of children.values()) list.sort(order);
  const t0 = spans.reduce((m, s) => (BigInt(s.start) < m ? BigInt(s.start) : m), BigInt(spans[0]!.start));
  const t1 = spans.reduce((m, s) => (BigInt(s.end) > m ? BigInt(s.end) : m), BigInt(spans[0]!.end));
  const total = t1 - t0;

  const rows: Array<{ s: SpanData; depth: number }> = [];
  const seen = new Set<string>();
  const walk = (parent: string | undefined, depth: number) => {
    for (const s of children.get(parent) ?? []) {
      if (seen.has(s.spanId)) continue; // a cycle in bad input
      seen.add(s.spanId);
      rows.push({ s, depth });
      walk(s.spanId, depth + 1);
    }
  };
  walk(undefined, 0);

  const names = rows.map(({ s, depth }) => clip(`${'  '.repeat(depth)}${s.name}`, nameWidth));
  const nw = Math.max(4, ...names.map((n) => n.length));
  const layers = Math.max(5, ...rows.map(({ s }) => s.layer.length));
  const startW = Math.max(9, ...rows.map(({ s }) => ms(BigInt(s.start) - t0).length));
  const durW = Math.max(8, ...rows.map(({ s }) => ms(BigInt(s.end) - BigInt(s.start)).length));
  let out = `${'START(ms)'.padStart(startW)}  ${'TIME(ms)'.padStart(durW)}  ${'LAYER'.padEnd(layers)}  ${'SPAN'.padEnd(nw)}\n`;
  rows.forEach(({ s }, i) => {
    const start = BigInt(s.start) - t0;
    const end = BigInt(s.end) - t0;
    const err = s.error !== undefined ? `  error: ${clip(s.error.replace(/\s+/g, ' '), 100)}` : '';
    out += `${ms(start).padStart(startW)}  ${ms(end - start).padStart(durW)}  ${s.layer.padEnd(layers)}  ${names[i]!.padEnd(nw)}  ${bar(start, end, total, width)}${err}\n`;
  });
  return out;
}
