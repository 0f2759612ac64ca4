// `berth history`: GET /images/{name}/history with docker's columns (IMAGE, CREATED, CREATED BY, SIZE, COMMENT).
import type { Command } from '../../command.js';
import { formatRows } from '../../format/formatter.js';
import { humanAgo, humanSizeWithPrecision } from '../../format/units.js';
import { addFormatFlag, ellipsis } from '../container/ps.js';
import { shortId } from '../util.js';

interface HistoryItem { Id: string; Created: number; CreatedBy: string; Tags: string[] | null; Size: number; Comment: string }

/** One history row: docker's template fields. */
export class HistoryRow {
  readonly #h: HistoryItem;
  readonly #trunc: boolean;
  readonly #human: boolean;
  constructor(h: HistoryItem, trunc: boolean, human: boolean) {
    this.#h = h;
    this.#trunc = trunc;
    this.#human = human;
  }
  get ID(): string {
    if (this.#h.Id === '<missing>') return '<missing>';
    return this.#trunc ? shortId(this.#h.Id) : this.#h.Id;
  }
  get CreatedSince(): string {
    if (!this.#human) return this.CreatedAt;
    // docker prints N/A for a layer without a date (reproducible builds' epoch 0).
    if (this.#h.Created <= 0) return 'N/A';
    return humanAgo(this.#h.Created * 1000);
  }
  /** RFC 3339, as docker's history formatter prints it. */
  get CreatedAt(): string {
    return new Date(this.#h.Created * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
  }
  get CreatedBy(): string {
    const s = this.#h.CreatedBy.replace(/\t/g, ' ');
    return this.#trunc ? ellipsis(s, 45) : s;
  }
  get Size(): string {
    return this.#human ? humanSizeWithPrecision(this.#h.Size, 3) : String(this.#h.Size);
  }
  get Comment(): string {
    return this.#h.Comment;
  }
}

export const command: Command = {
  name: 'history',
  use: '[OPTIONS] IMAGE',
  short: 'Show the history of an image',
  args: { min: 1, max: 1 },
  flags(fs) {
    addFormatFlag(fs);
    fs.add({ name: 'human', short: 'H', kind: 'bool', usage: 'Print sizes and dates in human readable format', default: true, defText: 'true' });
    fs.bool('no-trunc', undefined, "Don't truncate output");
    fs.string('platform', undefined, 'Show history for the given platform. Formatted as "os[/arch[/variant]]" (e.g., "linux/amd64")');
    fs.bool('quiet', 'q', 'Only show image IDs');
  },
  async run(cli, flags, args) {
    const client = await cli.client();
    const items = await client.json<HistoryItem[]>('GET', `/images/${encodeURIComponent(args[0]!)}/history`, { query: { platform: flags.str('platform') || undefined } });
    let format = flags.str('format') || 'table';
    if (flags.bool('quiet')) format = '{{.ID}}';
    if (format === 'table') format = 'table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}';
    const rows = items.map((h) => new HistoryRow(h, !flags.bool('no-trunc'), flags.bool('human')));
    cli.out(formatRows(format, rows, { header: { ID: 'IMAGE', CreatedSince: 'CREATED', CreatedAt: 'CREATED AT', CreatedBy: 'CREATED BY', Size: 'SIZE', Comment: 'COMMENT' } }));
  },
};
