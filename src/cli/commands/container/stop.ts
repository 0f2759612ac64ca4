// `berth stop`: POST /containers/{id}/stop for each container, printing each name as docker does.
import type { Command } from '../../command.js';
import { forEachRef } from '../util.js';

export const command: Command = {
  name: 'stop',
  use: '[OPTIONS] CONTAINER [CONTAINER...]',
  short: 'Stop one or more running containers',
  args: { min: 1 },
  flags(fs) {
    fs.string('signal', 's', 'Signal to send to the container');
    fs.int('timeout', 't', 'Seconds to wait before killing the container');
  },
  async run(cli, flags, args) {
    const client = await cli.client();
    const query = { signal: flags.str('signal') || undefined, t: flags.has('timeout') ? flags.num('timeout') : undefined };
    await forEachRef(cli, args, async (ref) => {
      await (await client.request('POST', `/containers/${encodeURIComponent(ref)}/stop`, { query })).body.text();
    });
  },
};
