// berth-runc kill: send a signal (name or number, default SIGTERM) to the container's process(es).
import { errInvalid } from '../../common/errors.js';
import { parseSignal } from '../container/proc.js';
import type { Command } from './command.js';

export const command: Command = {
  name: 'kill',
  argsUsage: '<container-id> [signal]',
  flags: [{ name: 'all', alias: 'a', type: 'bool', usage: 'send the specified signal to all processes inside the container' }],
  args: [1, 2],
  async run(ctx) {
    const sigText = ctx.args[1] ?? 'SIGTERM';
    const sig = parseSignal(sigText);
    if (sig === undefined) throw errInvalid(`unknown signal "${sigText}"`);
    await ctx.runtime().kill(ctx.args[0]!, sig, !!ctx.flags.all);
  },
};
