// `berth restart`: POST /containers/{id}/restart for each container.
import type { Command } from '../../command.js';
import { forEachRef } from '../util.js';

export const command: Command = {
  name: 'restart',
  use: '[OPTIONS] CONTAINER [CONTAINER...]',
  short: 'Restart one or more containers',
  args: { min: 1 },
  flags(fs) {
    fs.string('signal', 's', 'Signal to send to the container');
    fs.int('timeout', 't', 'Seconds to wait before killing the container');
  },
  async run(cli, flags, args) {
    const client = await cli.client();
    const query = { signal: flags.str('signal') || undefined, t: flags.has('timeout') ? flags.num('timeout') : undefined };
    await forEachRef(cli, args, async (ref) => {
      await (await client.request('POST', `/containers/${encodeURIComponent(ref)}/restart`, { query })).body.text();
    });
  },
};
