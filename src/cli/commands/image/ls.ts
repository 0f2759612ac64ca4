// `berth images` / `berth image ls`: GET /images/json rendered with docker's image rows (one per repository:tag).
import type { Command } from '../../command.js';
import { formatRows, DEFAULT_QUIET_FORMAT } from '../../format/formatter.js';
import { humanDuration, humanSize, humanSizeWithPrecision } from '../../format/units.js';
import { addFormatFlag, familiar } from '../container/ps.js';
import { filtersJSON, goTimeString, shortId } from '../util.js';

/** The fields of GET /images/json the table uses. */
export interface ImageSummary {
  Id: string;
  ParentId?: string;
  RepoTags: string[] | null;
  RepoDigests: string[] | null;
  Created: number;
  Size: number;
  SharedSize?: number;
  VirtualSize?: number;
  Labels?: Record<string, string> | null;
  Containers?: number;
}

/** One `images` row: docker's template fields. */
export class ImageRow {
  readonly #i: ImageSummary;
  readonly #trunc: boolean;
  readonly #now: number;
  constructor(
    i: ImageSummary,
    readonly Repository: string,
    readonly Tag: string,
    readonly Digest: string,
    trunc: boolean,
    now = Date.now(),
  ) {
    this.#i = i;
    this.#trunc = trunc;
    this.#now = now;
  }
  get ID(): string {
    return this.#trunc ? shortId(this.#i.Id) : this.#i.Id;
  }
  get CreatedSince(): string {
    return humanDuration(this.#now - this.#i.Created * 1000) + ' ago';
  }
  get CreatedAt(): string {
    return goTimeString(new Date(this.#i.Created * 1000));
  }
  get Size(): string {
    return humanSizeWithPrecision(this.#i.Size, 3);
  }
  get VirtualSize(): string {
    return humanSize(this.#i.VirtualSize ?? this.#i.Size);
  }
  get SharedSize(): string {
    const s = this.#i.SharedSize ?? -1;
    return s === -1 ? 'N/A' : humanSizeWithPrecision(s, 3);
  }
  get UniqueSize(): string {
    const s = this.#i.SharedSize ?? -1;
    return s === -1 ? 'N/A' : humanSizeWithPrecision(this.#i.Size - s, 3);
  }
  get Containers(): string {
    const c = this.#i.Containers ?? -1;
    return c === -1 ? 'N/A' : String(c);
  }
}

function familiarName(ref: string): string {
  return familiar(ref);
}

/** Expand images into rows as docker does: one per repo:tag, digest-only repos as `<none>`, dangling as `<none>:<none>`. */
export function imageRows(images: ImageSummary[], opts: { digests: boolean; trunc: boolean; now?: number }): ImageRow[] {
  const rows: ImageRow[] = [];
  for (const img of images) {
    const repoTags = new Map<string, string[]>();
    const repoDigests = new Map<string, string[]>();
    for (const t of img.RepoTags ?? []) {
      if (t === '<none>:<none>') continue;
      const slash = t.lastIndexOf('/');
      const colon = t.lastIndexOf(':');
      if (colon <= slash) continue;
      const name = familiarName(t.slice(0, colon));
      repoTags.set(name, [...(repoTags.get(name) ?? []), t.slice(colon + 1)]);
    }
    for (const d of img.RepoDigests ?? []) {
      const at = d.indexOf('@');
      if (at < 0 || d === '<none>@<none>') continue;
      const name = familiarName(d.slice(0, at));
      repoDigests.set(name, [...(repoDigests.get(name) ?? []), d.slice(at + 1)]);
    }
    const out: ImageRow[] = [];
    for (const [repo, tags] of repoTags) {
      let digests = repoDigests.get(repo) ?? [];
      repoDigests.delete(repo);
      if (!opts.digests) digests = [];
      for (const tag of tags) {
        if (!digests.length) out.push(new ImageRow(img, repo, tag, '<none>', opts.trunc, opts.now));
        else for (const d of digests) out.push(new ImageRow(img, repo, tag, d, opts.trunc, opts.now));
      }
    }
    for (const [repo, digests] of repoDigests) {
      if (opts.digests) for (const d of digests) out.push(new ImageRow(img, repo, '<none>', d, opts.trunc, opts.now));
      else out.push(new ImageRow(img, repo, '<none>', '', opts.trunc, opts.now));
    }
    if (!out.length) out.push(new ImageRow(img, '<none>', '<none>', '<none>', opts.trunc, opts.now));
    rows.push(...out);
  }
  return rows;
}

export const IMAGES_HEADER: Record<string, string> = {
  ID: 'IMAGE ID',
  Repository: 'REPOSITORY',
  Tag: 'TAG',
  Digest: 'DIGEST',
  CreatedSince: 'CREATED',
  CreatedAt: 'CREATED AT',
  Size: 'SIZE',
  VirtualSize: 'VIRTUAL SIZE',
  SharedSize: 'SHARED SIZE',
  UniqueSize: 'UNIQUE SIZE',
  Containers: 'CONTAINERS',
};

/** Render images for `format` (default table; --digests adds DIGEST; -q IDs). */
export function formatImages(images: ImageSummary[], opts: { format?: string; quiet?: boolean; digests?: boolean; trunc: boolean; now?: number }): string {
  let format = opts.format || 'table';
  if (opts.quiet) format = DEFAULT_QUIET_FORMAT;
  if (format === 'table') {
    format = opts.digests
      ? 'table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}'
      : 'table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}';
  }
  const rows = imageRows(images, { digests: !!opts.digests || /\.Digest\b/.test(format), trunc: opts.trunc, now: opts.now });
  return formatRows(format, rows, { header: IMAGES_HEADER });
}

export const command: Command = {
  name: 'ls',
  aliases: ['list'],
  use: '[OPTIONS] [REPOSITORY[:TAG]]',
  short: 'List images',
  args: { max: 1 },
  flags(fs) {
    fs.bool('all', 'a', 'Show all images (default hides intermediate images)');
    fs.bool('digests', undefined, 'Show digests');
    fs.list('filter', 'f', 'Filter output based on conditions provided', 'filter');
    addFormatFlag(fs);
    fs.bool('no-trunc', undefined, "Don't truncate output");
    fs.bool('quiet', 'q', 'Only show image IDs');
    fs.bool('tree', undefined, 'List multi-platform images as a tree (EXPERIMENTAL)');
  },
  async run(cli, flags, args) {
    if (flags.bool('tree')) throw new Error('--tree is not supported by berth');
    const client = await cli.client();
    const filters = [...flags.list('filter')];
    if (args[0]) filters.push(`reference=${args[0]}`);
    const images = await client.json<ImageSummary[]>('GET', '/images/json', {
      query: { all: flags.bool('all') || undefined, filters: filtersJSON(filters) },
    });
    cli.out(formatImages(images, { format: flags.str('format'), quiet: flags.bool('quiet'), digests: flags.bool('digests'), trunc: !flags.bool('no-trunc') }));
  },
};
