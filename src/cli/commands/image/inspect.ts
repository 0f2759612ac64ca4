// `berth image inspect`: GET /images/{name}/json for each image.
import type { Command } from '../../command.js';
import { addInspectFlags, getRaw, inspectRefs } from '../system/inspect.js';

export const command: Command = {
  name: 'inspect',
  use: '[OPTIONS] IMAGE [IMAGE...]',
  short: 'Display detailed information on one or more images',
  args: { min: 1 },
  flags: (fs) => addInspectFlags(fs, false),
  async run(cli, flags, args) {
    await inspectRefs(cli, args, (ref) => getRaw(cli, `/images/${encodeURIComponent(ref)}/json`), flags.str('format'));
  },
};
