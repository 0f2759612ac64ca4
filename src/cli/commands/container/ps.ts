// `berth ps`: GET /containers/json rendered with docker's container columns (ID, IMAGE, COMMAND, ... NAMES).
import type { ContainerSummary } from '../../../engine/types.js';
import type { Command } from '../../command.js';
import type { Cli } from '../../context.js';
import { formatRows, DEFAULT_QUIET_FORMAT } from '../../format/formatter.js';
import { humanDuration, humanSizeWithPrecision } from '../../format/units.js';
import { stringWidth } from '../../format/tabwriter.js';
import type { FlagSet } from '../../flags.js';
import { filtersJSON, goTimeString, shortId } from '../util.js';

/** The --format help text docker's list commands share. */
export const FORMAT_USAGE =
  "Format output using a custom template:\n'table':            Print output in table format with column headers (default)\n'table TEMPLATE':   Print output in table format using the given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template.\nRefer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates";

/** Adds `--format` with docker's help text. */
export function addFormatFlag(fs: FlagSet): void {
  fs.string('format', undefined, FORMAT_USAGE);
}

/** docker's Ellipsis: cut to `max` display columns, the last one an ellipsis. */
export function ellipsis(s: string, max: number): string {
  if (stringWidth(s) <= max) return s;
  let out = '';
  let w = 0;
  for (const ch of s) {
    const cw = stringWidth(ch);
    if (w + cw > max - 1) break;
    out += ch;
    w += cw;
  }
  return out + '…';
}

/** Go's strconv.Quote for the COMMAND column. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += '\\' + ch;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (cp < 0x20 || cp === 0x7f) out += '\\x' + cp.toString(16).padStart(2, '0');
    else out += ch;
  }
  return out + '"';
}

type Port = ContainerSummary['Ports'][number];

/** docker's DisplayablePorts: consecutive ports grouped into ranges, host mappings last. */
export function displayablePorts(ports: Port[]): string {
  const sorted = [...ports].sort((a, b) => {
    if (a.PrivatePort !== b.PrivatePort) return a.PrivatePort - b.PrivatePort;
    if ((a.IP ?? '') !== (b.IP ?? '')) return (a.IP ?? '') < (b.IP ?? '') ? -1 : 1;
    if ((a.PublicPort ?? 0) !== (b.PublicPort ?? 0)) return (a.PublicPort ?? 0) - (b.PublicPort ?? 0);
    return a.Type < b.Type ? -1 : a.Type > b.Type ? 1 : 0;
  });
  const groups = new Map<string, { first: number; last: number }>();
  const order: string[] = [];
  const result: string[] = [];
  const hostMappings: string[] = [];
  const joinHostPort = (ip: string, port: number) => (ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`);
  const formGroup = (key: string, first: number, last: number) => {
    const slash = key.lastIndexOf('/');
    const ip = slash >= 0 ? key.slice(0, slash) : '';
    const type = slash >= 0 ? key.slice(slash + 1) : key;
    let g = first === last ? String(first) : `${first}-${last}`;
    if (ip) g = `${ip.includes(':') ? `[${ip}]` : ip}:${g}->${g}`;
    return `${g}/${type}`;
  };
  for (const p of sorted) {
    let key = p.Type;
    if (p.IP) {
      if (p.PublicPort !== p.PrivatePort) {
        hostMappings.push(`${joinHostPort(p.IP, p.PublicPort ?? 0)}->${p.PrivatePort}/${p.Type}`);
        continue;
      }
      key = `${p.IP}/${p.Type}`;
    }
    const g = groups.get(key);
    if (!g) {
      groups.set(key, { first: p.PrivatePort, last: p.PrivatePort });
      order.push(key);
      continue;
    }
    if (p.PrivatePort === g.last + 1) {
      g.last = p.PrivatePort;
      continue;
    }
    result.push(formGroup(key, g.first, g.last));
    groups.set(key, { first: p.PrivatePort, last: p.PrivatePort });
  }
  for (const k of order) {
    const g = groups.get(k)!;
    result.push(formGroup(k, g.first, g.last));
  }
  return [...result, ...hostMappings].join(', ');
}

/** `docker.io/library/busybox:latest` → `busybox:latest` (reference.FamiliarString, roughly). */
export function familiar(ref: string): string {
  return ref.replace(/^docker\.io\/library\//, '').replace(/^docker\.io\//, '');
}

/** One `ps` row; the getters are the template fields docker offers. */
export class ContainerRow {
  readonly #c: ContainerSummary;
  readonly #trunc: boolean;
  readonly #now: number;
  constructor(c: ContainerSummary, trunc: boolean, now = Date.now()) {
    this.#c = c;
    this.#trunc = trunc;
    this.#now = now;
  }
  get ID(): string {
    return this.#trunc ? shortId(this.#c.Id) : this.#c.Id;
  }
  get Names(): string {
    let names = (this.#c.Names ?? []).map((n) => n.replace(/^\//, ''));
    if (this.#trunc) {
      const top = names.find((n) => n.split('/').length === 1);
      if (top !== undefined) names = [top];
    }
    return names.join(',');
  }
  get Image(): string {
    const c = this.#c;
    if (!c.Image) return '<no image>';
    if (this.#trunc) {
      if (shortId(c.ImageID ?? '') === shortId(c.Image)) return shortId(c.Image);
      if (/^sha256:[0-9a-f]{64}$/.test(c.Image)) return c.Image;
      return familiar(c.Image.replace(/@sha256:[0-9a-f]+$/, ''));
    }
    return c.Image;
  }
  get Command(): string {
    const cmd = this.#trunc ? ellipsis(this.#c.Command ?? '', 20) : (this.#c.Command ?? '');
    return goQuote(cmd);
  }
  get CreatedAt(): string {
    return goTimeString(new Date(this.#c.Created * 1000));
  }
  get RunningFor(): string {
    return humanDuration(this.#now - this.#c.Created * 1000) + ' ago';
  }
  /** docker 28's image platform (the daemon's ImageManifestDescriptor); none here. */
  get Platform(): null {
    return null;
  }
  get Ports(): string {
    return displayablePorts(this.#c.Ports ?? []);
  }
  get State(): string {
    return this.#c.State;
  }
  get Status(): string {
    return this.#c.Status;
  }
  get Size(): string {
    const rw = humanSizeWithPrecision(this.#c.SizeRw ?? 0, 3);
    const rootfs = this.#c.SizeRootFs ?? 0;
    return rootfs > 0 ? `${rw} (virtual ${humanSizeWithPrecision(rootfs, 3)})` : rw;
  }
  get Labels(): string {
    return Object.entries(this.#c.Labels ?? {})
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
  }
  Label(name: string): string {
    return this.#c.Labels?.[name] ?? '';
  }
  get Mounts(): string {
    return (this.#c.Mounts ?? []).map((m) => (this.#trunc ? ellipsis(m.Name || m.Source, 15) : m.Name || m.Source)).join(',');
  }
  get LocalVolumes(): string {
    return String((this.#c.Mounts ?? []).filter((m) => m.Driver === 'local').length);
  }
  get Networks(): string {
    return Object.keys(this.#c.NetworkSettings?.Networks ?? {}).sort().join(',');
  }
}

export const PS_HEADER: Record<string, string> = {
  ID: 'CONTAINER ID',
  Image: 'IMAGE',
  Command: 'COMMAND',
  CreatedAt: 'CREATED AT',
  RunningFor: 'CREATED',
  Ports: 'PORTS',
  State: 'STATE',
  Status: 'STATUS',
  Size: 'SIZE',
  Names: 'NAMES',
  Labels: 'LABELS',
  Mounts: 'MOUNTS',
  LocalVolumes: 'LOCAL VOLUMES',
  Networks: 'NETWORKS',
};

export const PS_DEFAULT = 'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}';

/** Render `ps` rows as docker does for `format` (`table`, `json`, a template; `quiet` → IDs). */
export function formatContainers(list: ContainerSummary[], opts: { format?: string; quiet?: boolean; trunc: boolean; size?: boolean; now?: number }): string {
  let format = opts.format || 'table';
  if (opts.quiet && !opts.format) format = DEFAULT_QUIET_FORMAT;
  if (format === 'table') format = opts.size ? `${PS_DEFAULT}\t{{.Size}}` : PS_DEFAULT;
  const rows = list.map((c) => new ContainerRow(c, opts.trunc, opts.now));
  return formatRows(format, rows, { header: PS_HEADER });
}

async function psFormatFromConfig(cli: Cli): Promise<string | undefined> {
  try {
    const { readFileSync } = await import('node:fs');
    const cfg = JSON.parse(readFileSync(`${cli.globals.configDir}/config.json`, 'utf8')) as { psFormat?: string };
    return cfg.psFormat || undefined;
  } catch {
    return undefined;
  }
}

export const command: Command = {
  name: 'ls',
  aliases: ['list', 'ps'],
  use: '[OPTIONS]',
  short: 'List containers',
  args: { max: 0 },
  flags(fs) {
    fs.bool('all', 'a', 'Show all containers (default shows just running)');
    fs.list('filter', 'f', 'Filter output based on conditions provided', 'filter');
    addFormatFlag(fs);
    fs.int('last', 'n', 'Show n last created containers (includes all states)', -1);
    fs.bool('latest', 'l', 'Show the latest created container (includes all states)');
    fs.bool('no-trunc', undefined, "Don't truncate output");
    fs.bool('quiet', 'q', 'Only display container IDs');
    fs.bool('size', 's', 'Display total file sizes');
  },
  async run(cli, flags) {
    const client = await cli.client();
    const format = flags.str('format') || (flags.bool('quiet') ? undefined : await psFormatFromConfig(cli));
    const last = flags.num('last') ?? -1;
    const limit = flags.bool('latest') ? 1 : last;
    const size = flags.bool('size') || (!!format && /\.Size\b/.test(format));
    const list = await client.json<ContainerSummary[]>('GET', '/containers/json', {
      query: {
        all: flags.bool('all') || limit > 0 ? true : undefined,
        limit: limit > 0 ? limit : undefined,
        size: size || undefined,
        filters: filtersJSON(flags.list('filter')),
      },
    });
    cli.out(formatContainers(list, { format, quiet: flags.bool('quiet'), trunc: !flags.bool('no-trunc'), size: flags.bool('size') }));
  },
};
