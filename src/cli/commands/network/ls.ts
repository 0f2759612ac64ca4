// `berth network ls`: GET /networks rendered with docker's network columns (NETWORK ID, NAME, DRIVER, SCOPE).
import type { Command } from '../../command.js';
import type { Cli } from '../../context.js';
import { DEFAULT_QUIET_FORMAT, formatRows } from '../../format/formatter.js';
import { naturalCompare } from '../../format/natural-order.js';
import { FORMAT_USAGE } from '../container/ps.js';
import { filtersJSON, shortId } from '../util.js';
import { addFilterFlag, filterValues } from '../filter-flag.js';

/** The fields of a network in GET /networks (Engine API `Network`) the columns use. */
export interface NetworkSummary {
  Name: string;
  Id: string;
  Created?: string;
  Scope?: string;
  Driver?: string;
  EnableIPv4?: boolean;
  EnableIPv6?: boolean;
  Internal?: boolean;
  Labels?: Record<string, string> | null;
}

/**
 * Go's time.Time String() for an RFC 3339 timestamp as the daemon sends it, kept in its own
 * offset: `2016-10-19 04:33:30.360899459 +0000 UTC`; an offset that is not the local zone has
 * no name, so Go prints it twice (`+0200 +0200`).
 */
export function goTimeFromRFC3339(s: string | undefined): string {
  const m = /^(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|z|[+-]\d{2}:\d{2})$/.exec(s ?? '');
  if (!m) return '0001-01-01 00:00:00 +0000 UTC';
  const frac = (m[3] ?? '').slice(0, 9).replace(/0+$/, '');
  const base = `${m[1]} ${m[2]}${frac ? '.' + frac : ''}`;
  if (m[4]!.toUpperCase() === 'Z') return `${base} +0000 UTC`;
  const off = m[4]!.replace(':', '');
  const minutes = (off[0] === '-' ? -1 : 1) * (Number(off.slice(1, 3)) * 60 + Number(off.slice(3)));
  const local = -new Date(s!).getTimezoneOffset();
  return minutes === local && minutes === 0 ? `${base} +0000 UTC` : `${base} ${off} ${off}`;
}

/** One `network ls` row: docker's networkContext fields. */
export class NetworkRow {
  readonly #n: NetworkSummary;
  readonly #trunc: boolean;
  constructor(n: NetworkSummary, trunc: boolean) {
    this.#n = n;
    this.#trunc = trunc;
  }
  get ID(): string {
    return this.#trunc ? shortId(this.#n.Id) : this.#n.Id;
  }
  get Name(): string {
    return this.#n.Name;
  }
  get Driver(): string {
    return this.#n.Driver ?? '';
  }
  get Scope(): string {
    return this.#n.Scope ?? '';
  }
  get IPv4(): string {
    return String(!!this.#n.EnableIPv4);
  }
  get IPv6(): string {
    return String(!!this.#n.EnableIPv6);
  }
  get Internal(): string {
    return String(!!this.#n.Internal);
  }
  /** docker joins a Go map here (random order); sorted is one of its orders and stable. */
  get Labels(): string {
    return Object.entries(this.#n.Labels ?? {})
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
  }
  Label(name: string): string {
    return this.#n.Labels?.[name] ?? '';
  }
  get CreatedAt(): string {
    return goTimeFromRFC3339(this.#n.Created);
  }
}

export const NETWORKS_HEADER: Record<string, string> = {
  ID: 'NETWORK ID',
  Name: 'NAME',
  Driver: 'DRIVER',
  Scope: 'SCOPE',
  IPv4: 'IPV4',
  IPv6: 'IPV6',
  Internal: 'INTERNAL',
  Labels: 'LABELS',
  CreatedAt: 'CREATED AT',
};

const DEFAULT_TABLE = 'table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}';

/** Render networks as docker's `network ls` does: sorted by name in natural order, `-q` as IDs. */
export function formatNetworks(list: NetworkSummary[], opts: { format?: string; quiet?: boolean; trunc: boolean }): string {
  let format = opts.format || 'table';
  if (format === 'table') format = opts.quiet ? DEFAULT_QUIET_FORMAT : DEFAULT_TABLE;
  else if (format === 'raw') {
    format = opts.quiet ? 'network_id: {{.ID}}' : 'network_id: {{.ID}}\\nname: {{.Name}}\\ndriver: {{.Driver}}\\nscope: {{.Scope}}\\n';
  }
  const sorted = [...list].sort((a, b) => naturalCompare(a.Name, b.Name));
  return formatRows(format, sorted.map((n) => new NetworkRow(n, opts.trunc)), { header: NETWORKS_HEADER });
}

async function networksFormatFromConfig(cli: Cli): Promise<string | undefined> {
  try {
    const { readFileSync } = await import('node:fs');
    const cfg = JSON.parse(readFileSync(`${cli.globals.configDir}/config.json`, 'utf8')) as { networksFormat?: string };
    return cfg.networksFormat || undefined;
  } catch {
    return undefined;
  }
}

export const command: Command = {
  name: 'ls',
  aliases: ['list'],
  use: '[OPTIONS]',
  short: 'List networks',
  args: { max: 0 },
  flags(fs) {
    addFilterFlag(fs, 'f', 'Provide filter values (e.g. "driver=bridge")');
    fs.string('format', undefined, FORMAT_USAGE);
    fs.bool('no-trunc', undefined, 'Do not truncate the output');
    fs.bool('quiet', 'q', 'Only display network IDs');
  },
  async run(cli, flags) {
    const client = await cli.client();
    const list = await client.json<NetworkSummary[]>('GET', '/networks', { query: { filters: filtersJSON(filterValues(flags.list('filter'))) } });
    const quiet = flags.bool('quiet');
    const format = flags.str('format') || (quiet ? undefined : await networksFormatFromConfig(cli));
    cli.out(formatNetworks(list ?? [], { format, quiet, trunc: !flags.bool('no-trunc') }));
  },
};
