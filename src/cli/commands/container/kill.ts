// `berth kill`: POST /containers/{id}/kill with -s for each container.
import type { Command } from '../../command.js';
import { forEachRef } from '../util.js';

export const command: Command = {
  name: 'kill',
  use: '[OPTIONS] CONTAINER [CONTAINER...]',
  short: 'Kill one or more running containers',
  args: { min: 1 },
  flags(fs) {
    fs.string('signal', 's', 'Signal to send to the container');
  },
  async run(cli, flags, args) {
    const client = await cli.client();
    await forEachRef(cli, args, async (ref) => {
      await (await client.request('POST', `/containers/${encodeURIComponent(ref)}/kill`, { query: { signal: flags.str('signal') || undefined } })).body.text();
    });
  },
};
