// `berth exec`: POST /containers/{id}/exec then /exec/{id}/start (hijacked unless -d); exits with the command's status.
import type { Command } from '../../command.js';
import { StatusError } from '../../command.js';
import type { ExecConfig, ExecInspect } from '../../../engine/types.js';
import { consoleSize, pumpStreams } from '../../streams.js';
import { expandEnv, parseEnvFile } from './opts.js';
import { readFileSync } from 'node:fs';
import { resizeContainer } from './run.js';

export const command: Command = {
  name: 'exec',
  use: '[OPTIONS] CONTAINER COMMAND [ARG...]',
  short: 'Execute a command in a running container',
  args: { min: 2 },
  interspersed: false,
  flags(fs) {
    fs.bool('detach', 'd', 'Detached mode: run command in the background');
    fs.string('detach-keys', undefined, 'Override the key sequence for detaching a container');
    fs.list('env', 'e', 'Set environment variables');
    fs.list('env-file', undefined, 'Read in a file of environment variables');
    fs.bool('interactive', 'i', 'Keep STDIN open even if not attached');
    fs.bool('privileged', undefined, 'Give extended privileges to the command');
    fs.bool('tty', 't', 'Allocate a pseudo-TTY');
    fs.string('user', 'u', 'Username or UID (format: "<name|uid>[:<group|gid>]")');
    fs.string('workdir', 'w', 'Working directory inside the container');
  },
  async run(cli, flags, args) {
    const [ref, ...cmd] = args;
    const detach = flags.bool('detach');
    const tty = flags.bool('tty');
    const interactive = flags.bool('interactive');
    if (!detach && tty && interactive && cli.io.stdin.isTTY !== true) throw new Error('the input device is not a TTY');
    const env: string[] = [];
    for (const f of flags.list('env-file')) env.push(...parseEnvFile(readFileSync(f, 'utf8'), cli.env, f));
    for (const e of flags.list('env')) env.push(expandEnv(e, cli.env));
    const size = tty ? consoleSize(cli.io) : undefined;
    const cfg: ExecConfig & Record<string, unknown> = {
      User: flags.str('user') ?? '',
      Privileged: flags.bool('privileged'),
      Tty: tty,
      ConsoleSize: size ?? null,
      AttachStdin: interactive && !detach,
      AttachStderr: !detach,
      AttachStdout: !detach,
      DetachKeys: flags.str('detach-keys') ?? '',
      Env: env.length ? env : null,
      WorkingDir: flags.str('workdir') ?? '',
      Cmd: cmd,
    };
    const client = await cli.client();
    const { Id } = await client.json<{ Id: string }>('POST', `/containers/${encodeURIComponent(ref!)}/exec`, { body: cfg });
    if (detach) {
      await (await client.request('POST', `/exec/${Id}/start`, { body: { Detach: true, Tty: tty, ConsoleSize: size ?? null } })).body.text();
      return 0;
    }
    const h = await client.hijack('POST', `/exec/${Id}/start`, { Detach: false, Tty: tty, ConsoleSize: size ?? null });
    const pump = pumpStreams(cli.io, h, { stdin: interactive, tty, detachKeys: flags.str('detach-keys'), resize: (r, w) => void resizeContainer(cli, `/exec/${Id}/resize`, r, w) });
    if (tty && size) void resizeContainer(cli, `/exec/${Id}/resize`, size[0], size[1]);
    // As docker exec: a detach from a terminal is reported as its error, status 1.
    if ((await pump).detached) throw new Error('read escape sequence');
    const ins = await client.json<ExecInspect>('GET', `/exec/${Id}/json`);
    if (ins.ExitCode === null && ins.Running) throw new StatusError(0);
    return ins.ExitCode ?? 0;
  },
};
