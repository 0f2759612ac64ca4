// `berth logs`: GET /containers/{id}/logs, demultiplexed unless the container has a tty.
import type { ContainerInspect } from '../../../engine/types.js';
import { demux } from '../../../common/stdcopy.js';
import type { Command } from '../../command.js';
import { parseTimestamp, pipeTo } from '../util.js';

export const command: Command = {
  name: 'logs',
  use: '[OPTIONS] CONTAINER',
  short: 'Fetch the logs of a container',
  args: { min: 1, max: 1 },
  flags(fs) {
    fs.bool('details', undefined, 'Show extra details provided to logs');
    fs.bool('follow', 'f', 'Follow log output');
    fs.string('since', undefined, 'Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)');
    fs.string('tail', 'n', 'Number of lines to show from the end of the logs', 'all');
    fs.bool('timestamps', 't', 'Show timestamps');
    fs.string('until', undefined, 'Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)');
  },
  async run(cli, flags, args) {
    const client = await cli.client();
    const c = await client.json<ContainerInspect>('GET', `/containers/${encodeURIComponent(args[0]!)}/json`);
    const since = flags.str('since');
    const until = flags.str('until');
    const res = await client.request('GET', `/containers/${c.Id}/logs`, {
      query: {
        stdout: true,
        stderr: true,
        since: since ? parseTimestamp(since) : undefined,
        until: until ? parseTimestamp(until) : undefined,
        timestamps: flags.bool('timestamps') || undefined,
        follow: flags.bool('follow') || undefined,
        tail: flags.str('tail'),
        details: flags.bool('details') || undefined,
      },
    });
    if (c.Config.Tty) await pipeTo(res.body, cli.io.stdout);
    else await demux(res.body, cli.io.stdout, cli.io.stderr);
  },
};
