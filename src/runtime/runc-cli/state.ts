// berth-runc state: print the OCI state of a container as runc does (indented JSON).
import type { Command } from './command.js';

export const command: Command = {
  name: 'state',
  argsUsage: '<container-id>',
  flags: [],
  args: 1,
  async run(ctx) {
    const s = await ctx.runtime().state(ctx.args[0]!);
    process.stdout.write(JSON.stringify(s, null, '  ') + '\n');
  },
};
