// `berth system prune`: containers, networks, (anonymous volumes,) images and build cache in docker's order, one prompt.
import type { Command } from '../../command.js';
import type { Cli } from '../../context.js';
import { humanSize } from '../../format/units.js';
import { confirm } from '../../prompt.js';
import { pruneContainers } from '../container/prune.js';
import { pruneImages } from '../image/prune.js';
import { pruneNetworks } from '../network/prune.js';
import { pruneVolumes } from '../volume/prune.js';
import { filtersJSON } from '../util.js';
import { addFilterFlag, deletedReport, filterKey, filterValues } from '../filter-flag.js';

/** docker's confirmationMessage: the warnings, then the label/until filters it will apply, sorted. */
function warning(all: boolean, volumes: boolean, filters: string[]): string {
  const items = ['all stopped containers', 'all networks not used by at least one container'];
  if (volumes) items.push('all anonymous volumes not used by at least one container');
  items.push(all ? 'all images without at least one container associated to them' : 'all dangling images');
  items.push(all ? 'all build cache' : 'unused build cache');
  let text = `WARNING! This will remove:\n${items.map((w) => `  - ${w}\n`).join('')}`;
  const shown = filters.filter((f) => ['label', 'label!', 'until'].includes(filterKey(f))).sort();
  if (shown.length) text += `\n  Items to be pruned will be filtered with:\n${shown.map((f) => `  - ${f}\n`).join('')}`;
  return `${text}\nAre you sure you want to continue?`;
}

/** docker's builder.CachePrune; berthd keeps no build cache, so this is nearly always empty. */
async function pruneBuildCache(cli: Cli, all: boolean, filters: string[]): Promise<{ space: number; output: string }> {
  const client = await cli.client();
  const r = await client.json<{ CachesDeleted?: string[] | null; SpaceReclaimed?: number }>('POST', '/build/prune', {
    query: { all: all || undefined, filters: filtersJSON(filters) },
  });
  return { space: r.SpaceReclaimed ?? 0, output: deletedReport('Deleted build cache objects', r.CachesDeleted) };
}

export const command: Command = {
  name: 'prune',
  use: '[OPTIONS]',
  short: 'Remove unused data',
  args: { max: 0 },
  flags(fs) {
    fs.bool('all', 'a', 'Remove all unused images not just dangling ones');
    addFilterFlag(fs, undefined, 'Provide filter values (e.g. "label=<key>=<value>")');
    fs.bool('force', 'f', 'Do not prompt for confirmation');
    fs.bool('volumes', undefined, 'Prune anonymous volumes');
  },
  async run(cli, flags) {
    const all = flags.bool('all');
    const volumes = flags.bool('volumes');
    const filters = filterValues(flags.list('filter'));
    if (volumes && filters.some((f) => filterKey(f) === 'until')) {
      throw new Error('ERROR: The "until" filter is not supported with "--volumes"');
    }
    if (!flags.bool('force') && !(await confirm(cli, warning(all, volumes, filters)))) return;
    const steps: Array<() => Promise<{ space: number; output: string }>> = [
      () => pruneContainers(cli, filters),
      async () => ({ space: 0, output: await pruneNetworks(cli, filters) }),
      ...(volumes ? [() => pruneVolumes(cli, filters)] : []),
      () => pruneImages(cli, all, filters),
      () => pruneBuildCache(cli, all, filters),
    ];
    let space = 0;
    for (const step of steps) {
      const r = await step();
      space += r.space;
      if (r.output) cli.out(`${r.output}\n`);
    }
    cli.out(`Total reclaimed space: ${humanSize(space)}\n`);
  },
};
