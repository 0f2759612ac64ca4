// `berth container inspect`: GET /containers/{id}/json for each container.
import type { Command } from '../../command.js';
import { inspectTraces } from '../../trace.js';
import { addInspectFlags, getRaw, inspectRefs } from '../system/inspect.js';

export const command: Command = {
  name: 'inspect',
  use: '[OPTIONS] CONTAINER [CONTAINER...]',
  short: 'Display detailed information on one or more containers',
  args: { min: 1 },
  flags: (fs) => {
    addInspectFlags(fs, true);
    fs.bool('trace', undefined, "Print the trace of each container's last start (a waterfall of every layer's steps)");
  },
  async run(cli, flags, args) {
    if (flags.bool('trace')) return inspectTraces(cli, args, flags.str('format'));
    const size = flags.bool('size') || undefined;
    await inspectRefs(cli, args, (ref) => getRaw(cli, `/containers/${encodeURIComponent(ref)}/json`, { size }), flags.str('format'));
  },
};
