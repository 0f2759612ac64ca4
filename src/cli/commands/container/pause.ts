// `berth pause`: POST /containers/{id}/pause for each container.
import type { Command } from '../../command.js';
import { forEachRef } from '../util.js';

export const command: Command = {
  name: 'pause',
  use: 'CONTAINER [CONTAINER...]',
  short: 'Pause all processes within one or more containers',
  args: { min: 1 },
  async run(cli, _flags, args) {
    const client = await cli.client();
    await forEachRef(cli, args, async (ref) => {
      await (await client.request('POST', `/containers/${encodeURIComponent(ref)}/pause`)).body.text();
    });
  },
};
