// `berth network prune`: docker's confirmation prompt, then POST /networks/prune and the `Deleted Networks:` list.
import type { Command } from '../../command.js';
import type { Cli } from '../../context.js';
import { confirm } from '../../prompt.js';
import { filtersJSON } from '../util.js';
import { addFilterFlag, deletedReport, filterValues, withConfigPruneFilters } from '../filter-flag.js';

const WARNING = 'WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue?';

/** docker's network.RunPrune without the prompt: the report text, empty when nothing went. */
export async function pruneNetworks(cli: Cli, filters: string[]): Promise<string> {
  const client = await cli.client();
  const report = await client.json<{ NetworksDeleted?: string[] | null }>('POST', '/networks/prune', {
    query: { filters: filtersJSON(withConfigPruneFilters(cli.globals.configDir, filters)) },
  });
  return deletedReport('Deleted Networks', report?.NetworksDeleted);
}

export const command: Command = {
  name: 'prune',
  use: '[OPTIONS]',
  short: 'Remove all unused networks',
  args: { max: 0 },
  flags(fs) {
    addFilterFlag(fs, undefined, 'Provide filter values (e.g. "until=<timestamp>")');
    fs.bool('force', 'f', 'Do not prompt for confirmation');
  },
  async run(cli, flags) {
    // docker asks before it talks to the daemon; a "no" ends quietly with status 0.
    if (!flags.bool('force') && !(await confirm(cli, WARNING))) return;
    const output = await pruneNetworks(cli, filterValues(flags.list('filter')));
    if (output) cli.out(`${output}\n`);
  },
};
