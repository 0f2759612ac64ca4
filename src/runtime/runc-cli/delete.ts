// berth-runc delete: remove a container's resources (--force kills a running one first).
import { isNotFound } from '../../common/errors.js';
import type { Command } from './command.js';

export const command: Command = {
  name: 'delete',
  argsUsage: '<container-id>',
  flags: [{ name: 'force', alias: 'f', type: 'bool', usage: 'Forcibly deletes the container if it is still running (uses SIGKILL)' }],
  args: 1,
  async run(ctx) {
    try {
      await ctx.runtime().delete(ctx.args[0]!, !!ctx.flags.force);
    } catch (e) {
      // runc: deleting a container that does not exist with --force is not an error.
      if (ctx.flags.force && isNotFound(e)) return;
      throw e;
    }
  },
};
