// `berth volume prune`: POST /volumes/prune after docker's confirmation; anonymous volumes only unless --all (API 1.42+).
import type { Command } from '../../command.js';
import type { Cli } from '../../context.js';
import { humanSize } from '../../format/units.js';
import { confirm } from '../../prompt.js';
import { filtersJSON } from '../util.js';
import { deletedReport } from '../filter-flag.js';

const UNUSED_WARNING = 'WARNING! This will remove anonymous local volumes not used by at least one container.\nAre you sure you want to continue?';
const ALL_WARNING = 'WARNING! This will remove all local volumes not used by at least one container.\nAre you sure you want to continue?';

/** docker's volume.RunPrune without the prompt: the bytes reclaimed and the report text (empty when nothing went). */
export async function pruneVolumes(cli: Cli, filters: string[]): Promise<{ space: number; output: string }> {
  const client = await cli.client();
  const r = await client.json<{ VolumesDeleted: string[] | null; SpaceReclaimed: number }>('POST', '/volumes/prune', { query: { filters: filtersJSON(filters) } });
  const output = deletedReport('Deleted Volumes', r.VolumesDeleted);
  return { space: output ? r.SpaceReclaimed : 0, output };
}

export const command: Command = {
  name: 'prune',
  use: '[OPTIONS]',
  short: 'Remove unused local volumes',
  args: { max: 0 },
  flags(fs) {
    fs.bool('all', 'a', 'Remove all unused volumes, not just anonymous ones');
    fs.list('filter', undefined, 'Provide filter values (e.g. "label=<label>")', 'filter');
    fs.bool('force', 'f', 'Do not prompt for confirmation');
  },
  async run(cli, flags) {
    const filters = [...flags.list('filter')];
    let warning = UNUSED_WARNING;
    if (flags.bool('all')) {
      if (filters.some((f) => f.trim().toLowerCase().startsWith('all='))) throw new Error('conflicting options: cannot specify both --all and --filter all=1');
      filters.push('all=true');
      warning = ALL_WARNING;
    }
    // docker: a declined prompt ends quietly, with status 0.
    if (!flags.bool('force') && !(await confirm(cli, warning))) return;
    const { space, output } = await pruneVolumes(cli, filters);
    if (output) cli.out(`${output}\n`);
    cli.out(`Total reclaimed space: ${humanSize(space)}\n`);
  },
};
