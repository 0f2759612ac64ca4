// berth-runc ps: the processes of a container, as pids (json) or filtered `ps` output (table).
import { execFileSync } from 'node:child_process';
import type { Command } from './command.js';

export const command: Command = {
  name: 'ps',
  argsUsage: '<container-id> [ps options]',
  stopAtFirstArg: true,
  flags: [{ name: 'format', alias: 'f', type: 'string', usage: 'select one of: table or json', default: 'table' }],
  args: [1, -1],
  async run(ctx) {
    const [id, ...psArgs] = ctx.args as [string, ...string[]];
    const pids = await ctx.runtime().ps(id);
    if (ctx.flags.format === 'json') {
      process.stdout.write(JSON.stringify(pids) + '\n');
      return;
    }
    if (ctx.flags.format !== 'table') throw new Error('invalid format option');
    const out = execFileSync('ps', psArgs.length ? psArgs : ['-ef'], { encoding: 'utf8' });
    const [header, ...lines] = out.split('\n');
    const col = header!.trim().split(/\s+/).indexOf('PID');
    if (col < 0) throw new Error("couldn't find PID field in ps output");
    const want = new Set(pids.map(String));
    process.stdout.write(header + '\n');
    for (const l of lines) if (l && want.has(l.trim().split(/\s+/)[col]!)) process.stdout.write(l + '\n');
  },
};
