// Traces in the CLI: `berth run --trace` (this command's spans and berthd's, as one waterfall on stderr) and `berth inspect --trace` (a container's last start).
import { fromWireSpan, type WireTrace } from '../api/trace-wire.js';
import { OtlpExporter, otlpConfigFromEnv } from '../common/otlp.js';
import { tracer, type Span, type SpanData } from '../common/trace.js';
import { StatusError, type Io } from './command.js';
import type { Cli } from './context.js';
import { errorText } from './errors.js';
import { waterfall } from './format/waterfall.js';

/** GET a trace document from berthd; the request itself stays out of any trace. */
async function getTrace(cli: Cli, path: string): Promise<{ raw: string; trace: WireTrace; spans: SpanData[] }> {
  const client = await cli.client();
  const raw = await tracer.detached(async () => (await client.request('GET', path)).body.text());
  const trace = JSON.parse(raw) as WireTrace;
  const spans = (Array.isArray(trace?.Spans) ? trace.Spans : []).map(fromWireSpan).filter((s): s is SpanData => s !== undefined);
  return { raw, trace, spans };
}

/**
 * Print the whole trace `root` began on stderr: the spans this process recorded (the root cut at
 * now if still open) and berthd's for the same trace. berthd's part may be missing (an old or
 * remote daemon): what is known is printed anyway, with a note.
 */
export async function printRunTrace(cli: Cli, root: Span): Promise<void> {
  const spans = new Map<string, SpanData>();
  for (const s of tracer.spans(root.traceId)) spans.set(s.spanId, s);
  if (!spans.has(root.spanId)) spans.set(root.spanId, root.toData());
  let note = '';
  try {
    for (const s of (await getTrace(cli, `/traces/${root.traceId}`)).spans) spans.set(s.spanId, s);
  } catch (e) {
    note = `(berthd's spans are missing: ${errorText(e, cli)})\n`;
  }
  cli.err(`trace ${root.traceId}\n${waterfall([...spans.values()])}${note}`);
}

/** `inspect --trace`: the last start of each container, as a waterfall (or with `--format json`, the raw documents). */
export async function inspectTraces(cli: Cli, refs: string[], format: string | undefined): Promise<void> {
  if (format && format !== 'json') throw new StatusError(1, 'Error: --trace prints a waterfall, or the raw trace with --format json; it takes no template');
  const errors: string[] = [];
  const raws: string[] = [];
  for (const ref of refs) {
    try {
      const { raw, trace, spans } = await getTrace(cli, `/containers/${encodeURIComponent(ref)}/trace`);
      if (format === 'json') raws.push(raw.trim());
      else cli.out(`${ref} (${String(trace.ID ?? '').slice(0, 12)}): trace ${trace.TraceID}\n${waterfall(spans)}`);
    } catch (e) {
      errors.push(errorText(e, cli));
    }
  }
  if (format === 'json') cli.out(`[${raws.join(',')}]\n`);
  if (errors.length) throw new StatusError(1, errors.join('\n'));
}

/**
 * With OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT set, the command runs in a trace of its own (a root
 * span named after it) whose spans are exported; `end` finishes it and waits (2 s at most) for the
 * export, which never fails the command. Undefined when nobody asked for it.
 */
export function startCommandTrace(io: Io, name: string, version: string): { root: Span; end: (failure?: unknown) => Promise<void> } | undefined {
  const { config, problem } = otlpConfigFromEnv(io.env, 'berth');
  if (problem) io.stderr.write(`berth: tracing: ${problem}; spans are not exported\n`);
  if (!config) return undefined;
  const exporter = new OtlpExporter(config, { resource: { 'service.version': version, 'process.pid': process.pid }, scopeVersion: version });
  const undo = tracer.addSink((s) => exporter.add(s));
  const root = tracer.startRoot(name, 'cli');
  return {
    root,
    end: async (failure?: unknown) => {
      if (failure !== undefined) root.fail(failure);
      root.finish();
      undo();
      await exporter.shutdown(2000);
    },
  };
}
