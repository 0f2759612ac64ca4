// `berth container prune`: docker's confirmation, then POST /containers/prune and the `Deleted Containers:` list.
import type { Command } from '../../command.js';
import type { Cli } from '../../context.js';
import { humanSize } from '../../format/units.js';
import { confirm } from '../../prompt.js';
import { filtersJSON } from '../util.js';
import { addFilterFlag, deletedReport, filterValues, withConfigPruneFilters } from '../filter-flag.js';

const WARNING = 'WARNING! This will remove all stopped containers.\nAre you sure you want to continue?';

/** docker's container.RunPrune without the prompt: the bytes reclaimed and the report text (empty when nothing went). */
export async function pruneContainers(cli: Cli, filters: string[]): Promise<{ space: number; output: string }> {
  const client = await cli.client();
  const r = await client.json<{ ContainersDeleted?: string[] | null; SpaceReclaimed?: number }>('POST', '/containers/prune', {
    query: { filters: filtersJSON(withConfigPruneFilters(cli.globals.configDir, filters)) },
  });
  const output = deletedReport('Deleted Containers', r.ContainersDeleted);
  return { space: output ? r.SpaceReclaimed ?? 0 : 0, output };
}

export const command: Command = {
  name: 'prune',
  use: '[OPTIONS]',
  short: 'Remove all stopped containers',
  args: { max: 0 },
  flags(fs) {
    addFilterFlag(fs, undefined, 'Provide filter values (e.g. "until=<timestamp>")');
    fs.bool('force', 'f', 'Do not prompt for confirmation');
  },
  async run(cli, flags) {
    // docker: a declined prompt ends quietly, with status 0.
    if (!flags.bool('force') && !(await confirm(cli, WARNING))) return;
    const { space, output } = await pruneContainers(cli, filterValues(flags.list('filter')));
    if (output) cli.out(`${output}\n`);
    cli.out(`Total reclaimed space: ${humanSize(space)}\n`);
  },
};
