// `berth unpause`: POST /containers/{id}/unpause for each container.
import type { Command } from '../../command.js';
import { forEachRef } from '../util.js';

export const command: Command = {
  name: 'unpause',
  use: 'CONTAINER [CONTAINER...]',
  short: 'Unpause all processes within one or more containers',
  args: { min: 1 },
  async run(cli, _flags, args) {
    const client = await cli.client();
    await forEachRef(cli, args, async (ref) => {
      await (await client.request('POST', `/containers/${encodeURIComponent(ref)}/unpause`)).body.text();
    });
  },
};
