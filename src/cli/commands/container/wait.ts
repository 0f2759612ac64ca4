// `berth wait`: POST /containers/{id}/wait for each container and print its exit code.
import type { Command } from '../../command.js';
import { forEachRef } from '../util.js';

export const command: Command = {
  name: 'wait',
  use: 'CONTAINER [CONTAINER...]',
  short: 'Block until one or more containers stop, then print their exit codes',
  args: { min: 1 },
  async run(cli, _flags, args) {
    const client = await cli.client();
    await forEachRef(
      cli,
      args,
      async (ref) => {
        const r = await client.json<{ StatusCode: number; Error?: { Message?: string } | null }>('POST', `/containers/${encodeURIComponent(ref)}/wait`, {
          query: { condition: 'not-running' },
        });
        if (r.Error?.Message) throw new Error(r.Error.Message);
        cli.out(`${r.StatusCode}\n`);
      },
      { print: false },
    );
  },
};
