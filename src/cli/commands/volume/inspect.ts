// `berth volume inspect`: GET /volumes/{name} for each volume, indented as docker does, or --format.
import type { Command } from '../../command.js';
import { addInspectFlags, getRaw, inspectRefs } from '../system/inspect.js';

export const command: Command = {
  name: 'inspect',
  use: '[OPTIONS] VOLUME [VOLUME...]',
  short: 'Display detailed information on one or more volumes',
  args: { min: 1 },
  flags: (fs) => addInspectFlags(fs, false),
  async run(cli, flags, args) {
    await inspectRefs(cli, args, (name) => getRaw(cli, `/volumes/${encodeURIComponent(name)}`), flags.str('format'));
  },
};
