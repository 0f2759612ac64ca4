// berth-runc resume: thaw a paused container.
import type { Command } from './command.js';

export const command: Command = {
  name: 'resume',
  argsUsage: '<container-id>',
  flags: [],
  args: 1,
  async run(ctx) {
    await ctx.runtime().resume(ctx.args[0]!);
  },
};
