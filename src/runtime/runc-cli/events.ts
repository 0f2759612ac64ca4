// berth-runc events: stats (once with --stats, else every --interval) and OOM events as JSON lines.
import { errInvalid } from '../../common/errors.js';
import type { Command } from './command.js';

function parseDuration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(s);
  if (!m) throw errInvalid(`invalid value "${s}" for flag -interval: parse error`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms'];
}

export const command: Command = {
  name: 'events',
  argsUsage: '<container-id>',
  flags: [
    { name: 'interval', type: 'string', usage: 'set the stats collection interval', default: '5s' },
    { name: 'stats', type: 'bool', usage: 'display the container\'s stats then exit' },
  ],
  args: 1,
  async run(ctx) {
    const rt = ctx.runtime();
    const id = ctx.args[0]!;
    const emit = async () => {
      const data = await rt.stats(id);
      process.stdout.write(JSON.stringify({ type: 'stats', id, data }) + '\n');
    };
    if (ctx.flags.stats) {
      await emit();
      return;
    }
    const interval = parseDuration(ctx.flags.interval as string);
    let oomSeen = await rt.oomKilled(id).catch(() => false);
    for (;;) {
      const st = await rt.state(id);
      if (st.status === 'stopped') return;
      const oom = await rt.oomKilled(id).catch(() => false);
      if (oom && !oomSeen) process.stdout.write(JSON.stringify({ type: 'oom', id }) + '\n');
      oomSeen = oom;
      await emit();
      await new Promise((r) => setTimeout(r, interval));
    }
  },
};
