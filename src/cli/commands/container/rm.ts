// `berth rm`: DELETE /containers/{id}; with -f a missing container is not an error (docker's behaviour).
import type { Command } from '../../command.js';
import { forEachRef, isApiNotFound } from '../util.js';

export const command: Command = {
  name: 'rm',
  aliases: ['remove'],
  use: '[OPTIONS] CONTAINER [CONTAINER...]',
  short: 'Remove one or more containers',
  args: { min: 1 },
  flags(fs) {
    fs.bool('force', 'f', 'Force the removal of a running container (uses SIGKILL)');
    fs.bool('link', 'l', 'Remove the specified link');
    fs.bool('volumes', 'v', 'Remove anonymous volumes associated with the container');
  },
  async run(cli, flags, args) {
    const client = await cli.client();
    const force = flags.bool('force');
    const query = { v: flags.bool('volumes') || undefined, link: flags.bool('link') || undefined, force: force || undefined };
    await forEachRef(
      cli,
      args,
      async (ref) => {
        await (await client.request('DELETE', `/containers/${encodeURIComponent(ref.replace(/^\//, ''))}`, { query })).body.text();
      },
      {
        ignore: (e) => {
          if (force && isApiNotFound(e)) {
            cli.err(`Error response from daemon: ${(e as Error).message}\n`);
            return true;
          }
          return false;
        },
      },
    );
  },
};
