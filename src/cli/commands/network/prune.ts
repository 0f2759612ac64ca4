// `berth network prune`: docker's confirmation prompt, then POST /networks/prune and the `Deleted Networks:` list.
import { readFileSync } from 'node:fs';
import type { Command } from '../../command.js';
import { confirm } from '../../prompt.js';
import { filtersJSON } from '../util.js';
import { addFilterFlag, filterValues, withConfigPruneFilters } from '../filter-flag.js';

const WARNING = 'WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue?';

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
    const filters = withConfigPruneFilters(cli.globals.configDir, filterValues(flags.list('filter')), (p) => readFileSync(p, 'utf8'));
    // docker asks before it talks to the daemon; a "no" ends quietly with status 0.
    if (!flags.bool('force') && !(await confirm(cli, WARNING))) return;
    const client = await cli.client();
    const report = await client.json<{ NetworksDeleted?: string[] | null }>('POST', '/networks/prune', { query: { filters: filtersJSON(filters) } });
    const deleted = report?.NetworksDeleted ?? [];
    if (deleted.length) cli.out(`Deleted Networks:\n${deleted.map((id) => `${id}\n`).join('')}\n`);
  },
};
