// `berth network rm`: DELETE /networks/{id} for each network, printing each name removed; failures on stderr, exit 1.
import type { Command } from '../../command.js';
import { StatusError } from '../../command.js';
import { errorText } from '../../errors.js';
import { confirm } from '../../prompt.js';
import { isApiNotFound } from '../util.js';

const INGRESS_WARNING =
  'WARNING! Before removing the routing-mesh network, make sure all the nodes in your swarm run the same docker engine version. ' +
  'Otherwise, removal may not be effective and functionality of newly create ingress networks will be impaired.\nAre you sure you want to continue?';

export const command: Command = {
  name: 'rm',
  aliases: ['remove'],
  use: 'NETWORK [NETWORK...]',
  short: 'Remove one or more networks',
  args: { min: 1 },
  flags(fs) {
    fs.bool('force', 'f', 'Do not error if the network does not exist');
  },
  async run(cli, flags, args) {
    const client = await cli.client();
    let failed = false;
    for (const name of args) {
      // docker looks first, to ask before removing a swarm's routing-mesh network.
      const nw = await client.json<{ Ingress?: boolean }>('GET', `/networks/${encodeURIComponent(name)}`).catch(() => undefined);
      if (nw?.Ingress && !(await confirm(cli, INGRESS_WARNING))) continue;
      try {
        await client.json('DELETE', `/networks/${encodeURIComponent(name)}`);
      } catch (e) {
        if (flags.bool('force') && isApiNotFound(e)) continue;
        cli.err(`${errorText(e, cli)}\n`);
        failed = true;
        continue;
      }
      cli.out(`${name}\n`);
    }
    if (failed) throw new StatusError(1, 'exit status 1');
  },
};
