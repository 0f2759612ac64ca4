// `berth volume rm`: DELETE /volumes/{name} for each; prints each removed name, each failure on stderr, exit 1 if any failed.
import type { Command } from '../../command.js';
import { forEachRef } from '../util.js';

export const command: Command = {
  name: 'rm',
  aliases: ['remove'],
  use: '[OPTIONS] VOLUME [VOLUME...]',
  short: 'Remove one or more volumes',
  args: { min: 1 },
  flags(fs) {
    fs.bool('force', 'f', 'Force the removal of one or more volumes');
  },
  async run(cli, flags, args) {
    const client = await cli.client();
    const force = flags.bool('force') || undefined;
    await forEachRef(cli, args, async (name) => {
      await (await client.request('DELETE', `/volumes/${encodeURIComponent(name)}`, { query: { force } })).body.text();
    });
  },
};
