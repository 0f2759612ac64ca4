// `berth image prune`: dangling images (all unused ones with -a) through POST /images/prune, printed as docker does.
import type { Command } from '../../command.js';
import type { Cli } from '../../context.js';
import { humanSize } from '../../format/units.js';
import { confirm } from '../../prompt.js';
import { filtersJSON } from '../util.js';
import { addFilterFlag, filterValues, withConfigPruneFilters } from '../filter-flag.js';

const DANGLING_WARNING = 'WARNING! This will remove all dangling images.\nAre you sure you want to continue?';
const ALL_WARNING = 'WARNING! This will remove all images without at least one container associated to them.\nAre you sure you want to continue?';

/** docker's image.RunPrune without the prompt: `dangling=true` unless `all`; untagged and deleted lines in the daemon's order. */
export async function pruneImages(cli: Cli, all: boolean, filters: string[]): Promise<{ space: number; output: string }> {
  const client = await cli.client();
  const given = withConfigPruneFilters(cli.globals.configDir, [...filters, `dangling=${!all}`]);
  const r = await client.json<{ ImagesDeleted?: Array<{ Untagged?: string; Deleted?: string }> | null; SpaceReclaimed?: number }>('POST', '/images/prune', {
    query: { filters: filtersJSON(given) },
  });
  if (!r.ImagesDeleted?.length) return { space: 0, output: '' };
  const lines = r.ImagesDeleted.map((d) => (d.Untagged ? `untagged: ${d.Untagged}\n` : `deleted: ${d.Deleted ?? ''}\n`));
  return { space: r.SpaceReclaimed ?? 0, output: `Deleted Images:\n${lines.join('')}` };
}

export const command: Command = {
  name: 'prune',
  use: '[OPTIONS]',
  short: 'Remove unused images',
  args: { max: 0 },
  flags(fs) {
    fs.bool('all', 'a', 'Remove all unused images, not just dangling ones');
    addFilterFlag(fs, undefined, 'Provide filter values (e.g. "until=<timestamp>")');
    fs.bool('force', 'f', 'Do not prompt for confirmation');
  },
  async run(cli, flags) {
    const all = flags.bool('all');
    if (!flags.bool('force') && !(await confirm(cli, all ? ALL_WARNING : DANGLING_WARNING))) return;
    const { space, output } = await pruneImages(cli, all, filterValues(flags.list('filter')));
    if (output) cli.out(`${output}\n`);
    cli.out(`Total reclaimed space: ${humanSize(space)}\n`);
  },
};
