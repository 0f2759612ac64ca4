// `berth top`: GET /containers/{id}/top, printed with docker's top tabwriter (minwidth 20).
import type { Command } from '../../command.js';
import { DOCKER_TOP, tabwrite } from '../../format/tabwriter.js';

export const command: Command = {
  name: 'top',
  use: 'CONTAINER [ps OPTIONS]',
  short: 'Display the running processes of a container',
  args: { min: 1 },
  interspersed: false,
  async run(cli, _flags, args) {
    const client = await cli.client();
    const [ref, ...psArgs] = args;
    const r = await client.json<{ Titles: string[]; Processes: string[][] }>('GET', `/containers/${encodeURIComponent(ref!)}/top`, {
      query: { ps_args: psArgs.length ? psArgs.join(' ') : undefined },
    });
    let text = r.Titles.join('\t') + '\n';
    for (const p of r.Processes ?? []) text += p.join('\t') + '\n';
    cli.out(tabwrite(text, DOCKER_TOP));
  },
};
