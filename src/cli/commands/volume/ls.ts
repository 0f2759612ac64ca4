// `berth volume ls`: GET /volumes, sorted by name (natural order) and rendered as docker's volume table (`DRIVER    VOLUME NAME`).
import type { Command } from '../../command.js';
import { formatRows } from '../../format/formatter.js';
import { humanSize } from '../../format/units.js';
import { addFormatFlag } from '../container/ps.js';
import { filtersJSON } from '../util.js';

/** The fields of a volume the CLI reads. */
export interface VolumeJSON {
  Name: string;
  Driver: string;
  Mountpoint: string;
  Scope: string;
  Labels: Record<string, string> | null;
  CreatedAt?: string;
  UsageData?: { Size: number; RefCount: number } | null;
}

/** One row: docker's volumeContext fields. */
export class VolumeRow {
  readonly #v: VolumeJSON;
  constructor(v: VolumeJSON) {
    this.#v = v;
  }
  get Name(): string { return this.#v.Name; }
  get Driver(): string { return this.#v.Driver; }
  get Scope(): string { return this.#v.Scope; }
  get Mountpoint(): string { return this.#v.Mountpoint; }
  get Labels(): string {
    return Object.entries(this.#v.Labels ?? {}).map(([k, v]) => `${k}=${v}`).sort().join(',');
  }
  Label(name: string): string {
    return this.#v.Labels?.[name] ?? '';
  }
  get Links(): string {
    return this.#v.UsageData ? String(this.#v.UsageData.RefCount) : 'N/A';
  }
  get Size(): string {
    return this.#v.UsageData ? humanSize(this.#v.UsageData.Size) : 'N/A';
  }
  get Group(): string { return 'N/A'; }
  get Availability(): string { return 'N/A'; }
  get Status(): string { return 'N/A'; }
}

export const VOLUME_HEADER: Record<string, string> = {
  ID: 'ID', Name: 'VOLUME NAME', Group: 'GROUP', Driver: 'DRIVER', Scope: 'SCOPE', Availability: 'AVAILABILITY',
  Mountpoint: 'MOUNTPOINT', Labels: 'LABELS', Links: 'LINKS', Size: 'SIZE', Status: 'STATUS',
};

const isDigit = (c: number) => c >= 48 && c <= 57;

/**
 * fvbommel/sortorder's NaturalLess, which docker sorts volume names with: bytes compare as bytes,
 * a run of digits as a number (digits sort before other characters; with equal values, fewer
 * leading zeros first); a prefix sorts first.
 */
export function naturalLess(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  let i = 0;
  let j = 0;
  while (i < x.length && j < y.length) {
    const dx = isDigit(x[i]!);
    const dy = isDigit(y[j]!);
    if (dx !== dy) return dx;
    if (!dx) {
      if (x[i] !== y[j]) return x[i]! < y[j]!;
      i++;
      j++;
      continue;
    }
    while (i < x.length && x[i] === 48) i++;
    while (j < y.length && y[j] === 48) j++;
    const si = i;
    const sj = j;
    while (i < x.length && isDigit(x[i]!)) i++;
    while (j < y.length && isDigit(y[j]!)) j++;
    if (i - si !== j - sj) return i - si < j - sj;
    const nx = x.toString('latin1', si, i);
    const ny = y.toString('latin1', sj, j);
    if (nx !== ny) return nx < ny;
    if (si !== sj) return si < sj;
  }
  return x.length - i < y.length - j;
}

/** Render volumes for `format` (default table; -q names; `raw`). */
export function formatVolumes(volumes: VolumeJSON[], opts: { format?: string; quiet?: boolean }): string {
  let format = opts.format || 'table';
  if (format === 'table') format = opts.quiet ? '{{.Name}}' : 'table {{.Driver}}\t{{.Name}}';
  else if (format === 'raw') format = opts.quiet ? 'name: {{.Name}}' : 'name: {{.Name}}\ndriver: {{.Driver}}\n';
  const sorted = [...volumes].sort((a, b) => (naturalLess(a.Name, b.Name) ? -1 : naturalLess(b.Name, a.Name) ? 1 : 0));
  return formatRows(format, sorted.map((v) => new VolumeRow(v)), { header: VOLUME_HEADER });
}

export const command: Command = {
  name: 'ls',
  aliases: ['list'],
  use: '[OPTIONS]',
  short: 'List volumes',
  args: { max: 0 },
  flags(fs) {
    fs.bool('cluster', undefined, 'Display only cluster volumes, and use cluster volume list formatting');
    fs.list('filter', 'f', 'Provide filter values (e.g. "dangling=true")', 'filter');
    addFormatFlag(fs);
    fs.bool('quiet', 'q', 'Only display volume names');
  },
  async run(cli, flags) {
    const client = await cli.client();
    const r = await client.json<{ Volumes: VolumeJSON[] | null }>('GET', '/volumes', { query: { filters: filtersJSON(flags.list('filter')) } });
    // Berth has no cluster volumes: --cluster lists none.
    const vols = flags.bool('cluster') ? [] : r.Volumes ?? [];
    cli.out(formatVolumes(vols, { format: flags.str('format'), quiet: flags.bool('quiet') }));
  },
};
