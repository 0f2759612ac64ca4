// `berth network inspect`: GET /networks/{id} for each network, printed as docker's inspect does (indented JSON array or --format).
import type { Command } from '../../command.js';
import { addInspectFlags, getRaw, inspectRefs } from '../system/inspect.js';

export const command: Command = {
  name: 'inspect',
  use: '[OPTIONS] NETWORK [NETWORK...]',
  short: 'Display detailed information on one or more networks',
  args: { min: 1 },
  flags(fs) {
    addInspectFlags(fs, false);
    fs.bool('verbose', 'v', 'Verbose output for diagnostics');
  },
  async run(cli, flags, args) {
    // docker spells the flag `verbose=true`, not the client's usual `1`.
    const query = flags.bool('verbose') ? '?verbose=true' : '';
    await inspectRefs(cli, args, (ref) => getRaw(cli, `/networks/${encodeURIComponent(ref)}${query}`), flags.str('format'));
  },
};
