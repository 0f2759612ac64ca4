// `berth start`: POST /containers/{id}/start; with -a/-i attach first and exit with the container's status, like `run`.
import type { Command } from '../../command.js';
import { StatusError } from '../../command.js';
import type { ContainerInspect } from '../../../engine/types.js';
import { consoleSize, pumpStreams } from '../../streams.js';
import { errorText } from '../../errors.js';
import { resizeContainer } from './run.js';

export const command: Command = {
  name: 'start',
  use: '[OPTIONS] CONTAINER [CONTAINER...]',
  short: 'Start one or more stopped containers',
  args: { min: 1 },
  flags(fs) {
    fs.bool('attach', 'a', 'Attach STDOUT/STDERR and forward signals');
    fs.string('detach-keys', undefined, 'Override the key sequence for detaching a container');
    fs.bool('interactive', 'i', "Attach container's STDIN");
  },
  async run(cli, flags, args) {
    const client = await cli.client();
    const attach = flags.bool('attach') || flags.bool('interactive');
    if (attach) {
      if (args.length > 1) throw new Error('you cannot start and attach multiple containers at once');
      const ref = args[0]!;
      const c = await client.json<ContainerInspect>('GET', `/containers/${encodeURIComponent(ref)}/json`);
      const tty = c.Config.Tty === true;
      const stdin = flags.bool('interactive') && c.Config.OpenStdin === true;
      if (tty && stdin && cli.io.stdin.isTTY !== true) throw new Error('the input device is not a TTY');
      const h = await client.hijack('POST', `/containers/${c.Id}/attach`, undefined, {
        query: { stream: true, stdin, stdout: true, stderr: true, detachKeys: flags.str('detach-keys') },
      });
      const waitAbort = new AbortController();
      const waitP = client.json<{ StatusCode: number }>('POST', `/containers/${c.Id}/wait`, {
        query: { condition: c.HostConfig.AutoRemove ? 'removed' : 'next-exit' },
        signal: waitAbort.signal,
      });
      waitP.catch(() => undefined);
      try {
        await (await client.request('POST', `/containers/${c.Id}/start`)).body.text();
      } catch (e) {
        h.stream.destroy();
        waitAbort.abort();
        throw e;
      }
      const pump = pumpStreams(cli.io, h, { stdin, tty, detachKeys: flags.str('detach-keys'), resize: (r, w) => void resizeContainer(cli, `/containers/${c.Id}/resize`, r, w) });
      const size = consoleSize(cli.io);
      if (tty && size) void resizeContainer(cli, `/containers/${c.Id}/resize`, size[0], size[1]);
      if ((await pump).detached) {
        waitAbort.abort();
        return 0;
      }
      return (await waitP).StatusCode;
    }
    const failed: string[] = [];
    for (const ref of args) {
      try {
        await (await client.request('POST', `/containers/${encodeURIComponent(ref)}/start`)).body.text();
        cli.out(`${ref}\n`);
      } catch (e) {
        cli.err(`${errorText(e, cli)}\n`);
        failed.push(ref);
      }
    }
    if (failed.length) throw new StatusError(1, `Error: failed to start containers: ${failed.join(', ')}`);
  },
};
