// berth-runc start: release a created container into its user process.
import type { Command } from './command.js';

export const command: Command = {
  name: 'start',
  argsUsage: '<container-id>',
  flags: [],
  args: 1,
  async run(ctx) {
    await ctx.runtime().start(ctx.args[0]!);
  },
};
