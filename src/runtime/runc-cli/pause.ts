// berth-runc pause: freeze every process of the container (cgroup freezer).
import type { Command } from './command.js';

export const command: Command = {
  name: 'pause',
  argsUsage: '<container-id>',
  flags: [],
  args: 1,
  async run(ctx) {
    await ctx.runtime().pause(ctx.args[0]!);
  },
};
