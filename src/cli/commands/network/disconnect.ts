// `berth network disconnect`: POST /networks/{id}/disconnect.
import type { Command } from '../../command.js';

export const command: Command = {
  name: 'disconnect',
  use: '[OPTIONS] NETWORK CONTAINER',
  short: 'Disconnect a container from a network',
  args: { min: 2, max: 2 },
  flags(fs) {
    fs.bool('force', 'f', 'Force the container to disconnect from a network');
  },
  async run(cli, flags, args) {
    const [network, container] = args as [string, string];
    const client = await cli.client();
    await client.json('POST', `/networks/${encodeURIComponent(network)}/disconnect`, { body: { Container: container, Force: flags.bool('force') } });
  },
};
