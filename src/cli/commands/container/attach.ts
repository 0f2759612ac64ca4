// `berth attach`: hijack POST /containers/{id}/attach to the local terminal; exits with the container's status.
import type { Command } from '../../command.js';
import type { ContainerInspect } from '../../../engine/types.js';
import { consoleSize, pumpStreams } from '../../streams.js';
import { resizeContainer } from './run.js';

export const command: Command = {
  name: 'attach',
  use: '[OPTIONS] CONTAINER',
  short: 'Attach local standard input, output, and error streams to a running container',
  args: { min: 1, max: 1 },
  flags(fs) {
    fs.string('detach-keys', undefined, 'Override the key sequence for detaching a container');
    fs.bool('no-stdin', undefined, 'Do not attach STDIN');
    fs.add({ name: 'sig-proxy', kind: 'bool', usage: 'Proxy all received signals to the process', default: true, defText: 'true' });
  },
  async run(cli, flags, args) {
    const client = await cli.client();
    const c = await client.json<ContainerInspect>('GET', `/containers/${encodeURIComponent(args[0]!)}/json`);
    if (!c.State.Running) throw new Error('You cannot attach to a stopped container, start it first');
    if (c.State.Paused) throw new Error('You cannot attach to a paused container, unpause it first');
    if (c.State.Restarting) throw new Error('You cannot attach to a restarting container, wait until it is running');
    const tty = c.Config.Tty === true;
    const stdin = !flags.bool('no-stdin') && c.Config.OpenStdin === true;
    if (tty && stdin && cli.io.stdin.isTTY !== true) throw new Error('the input device is not a TTY');
    const h = await client.hijack('POST', `/containers/${c.Id}/attach`, undefined, {
      query: { stream: true, stdin, stdout: true, stderr: true, detachKeys: flags.str('detach-keys') },
    });
    const size = consoleSize(cli.io);
    if (tty && size) void resizeContainer(cli, `/containers/${c.Id}/resize`, size[0], size[1]);
    const { detached } = await pumpStreams(cli.io, h, { stdin, tty, detachKeys: flags.str('detach-keys'), resize: (r, w) => void resizeContainer(cli, `/containers/${c.Id}/resize`, r, w) });
    // docker attach reports a detach from a terminal as its error (term.EscapeError), status 1.
    if (detached) throw new Error('read escape sequence');
    // After the stream ends, the container's exit status (docker's getExitStatus).
    const after = await client.json<ContainerInspect>('GET', `/containers/${c.Id}/json`).catch(() => undefined);
    if (after && !after.State.Running) return after.State.ExitCode;
    return 0;
  },
};
