// `berth rename`: POST /containers/{id}/rename?name=.
import type { Command } from '../../command.js';
import { StatusError } from '../../command.js';
import { errorText } from '../../errors.js';

export const command: Command = {
  name: 'rename',
  use: 'CONTAINER NEW_NAME',
  short: 'Rename a container',
  args: { min: 2, max: 2 },
  async run(cli, _flags, args) {
    const [oldName, newName] = [args[0]!.trim(), args[1]!.trim()];
    if (!oldName || !newName) throw new Error('Error: Neither old nor new names may be empty');
    try {
      const client = await cli.client();
      await (await client.request('POST', `/containers/${encodeURIComponent(oldName)}/rename`, { query: { name: newName } })).body.text();
    } catch (e) {
      cli.err(`${errorText(e, cli)}\n`);
      throw new StatusError(1, `Error: failed to rename container named ${oldName}`);
    }
  },
};
