// `berth events`: GET /events (NDJSON), one line per event in docker's layout, or --format.
import type { EventMessage } from '../../../engine/types.js';
import type { Command } from '../../command.js';
import { parseFormat } from '../../format/formatter.js';
import { filtersJSON, parseTimestamp } from '../util.js';

/** RFC 3339 with 9 fraction digits in UTC (docker's RFC3339NanoFixed with a UTC zone). */
export function rfc3339NanoFixed(timeNano: bigint): string {
  const sec = timeNano / 1_000_000_000n;
  const frac = timeNano % 1_000_000_000n;
  return new Date(Number(sec) * 1000).toISOString().replace(/\.\d{3}Z$/, `.${String(frac).padStart(9, '0')}Z`);
}

/** One event as docker prints it: `TIME TYPE ACTION ID (k=v, ...)`. */
export function formatEvent(e: EventMessage, timeNano?: bigint): string {
  let s = '';
  if (timeNano) s += `${rfc3339NanoFixed(timeNano)} `;
  else if (e.timeNano) s += `${rfc3339NanoFixed(BigInt(Math.round(e.timeNano)))} `;
  else if (e.time) s += `${rfc3339NanoFixed(BigInt(e.time) * 1_000_000_000n)} `;
  s += `${e.Type} ${e.Action} ${e.Actor?.ID ?? ''}`;
  const attrs = e.Actor?.Attributes ?? {};
  const keys = Object.keys(attrs).sort();
  if (keys.length) s += ` (${keys.map((k) => `${k}=${attrs[k]}`).join(', ')})`;
  return s + '\n';
}

export const command: Command = {
  name: 'events',
  use: '[OPTIONS]',
  short: 'Get real time events from the server',
  args: { max: 0 },
  flags(fs) {
    fs.list('filter', 'f', 'Filter output based on conditions provided', 'filter');
    fs.string('format', undefined, "Format output using a custom template:\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template.\nRefer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates");
    fs.string('since', undefined, 'Show all events created since timestamp');
    fs.string('until', undefined, 'Stream events until this timestamp');
  },
  async run(cli, flags) {
    const format = flags.str('format');
    const tmpl = format ? parseFormat(format === 'json' ? '{{json .}}' : format) : undefined;
    const since = flags.str('since');
    const until = flags.str('until');
    const client = await cli.client();
    const ac = new AbortController();
    const onSig = () => ac.abort();
    process.once('SIGINT', onSig);
    try {
      const res = await client.request('GET', '/events', {
        query: { since: since ? parseTimestamp(since) : undefined, until: until ? parseTimestamp(until) : undefined, filters: filtersJSON(flags.list('filter')) },
        signal: ac.signal,
      });
      let buf = '';
      for await (const chunk of res.body) {
        buf += (chunk as Buffer).toString();
        let nl;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (!line) continue;
          const e = JSON.parse(line) as EventMessage;
          // timeNano exceeds 2^53: take its digits from the text, not from the parsed double.
          const nano = /"timeNano":\s*(\d+)/.exec(line)?.[1];
          cli.out(tmpl ? tmpl.execute(e) + '\n' : formatEvent(e, nano ? BigInt(nano) : undefined));
        }
      }
    } catch (e) {
      if (!ac.signal.aborted) throw e;
    } finally {
      process.off('SIGINT', onSig);
    }
  },
};
