// `berth run`: create, attach before start (-i/-t), start, wait; exits with the container's status (125/126/127 for failures before it runs).
import { now, tracer } from '../../../common/trace.js';
import type { Command } from '../../command.js';
import { StatusError } from '../../command.js';
import type { Cli } from '../../context.js';
import { errorText } from '../../errors.js';
import type { FlagValues } from '../../flags.js';
import { consoleSize, pumpStreams } from '../../streams.js';
import { printRunTrace } from '../../trace.js';
import { createContainer } from './create.js';
import { addContainerFlags, buildCreatePlan } from './opts.js';

/**
 * docker's exit status for a start failure: 127 when the command was not found, 126 when it
 * could not be invoked, else 125.
 */
export function startFailureStatus(message: string): number {
  const m = message.replace(/^Error response from daemon: /, '');
  // Case-insensitive: berthd quotes strerror ("No such file or directory") where runc says "no such file...".
  if (/executable file not found|no such file or directory|system cannot find the file specified/i.test(m)) return 127;
  if (/permission denied|is a directory/i.test(m)) return 126;
  return 125;
}

/** Resize the container's tty (POST /containers/{id}/resize), ignoring failures as docker does. */
export async function resizeContainer(cli: Cli, path: string, rows: number, cols: number): Promise<void> {
  const client = await cli.client();
  await client.json('POST', path, { query: { h: rows, w: cols } }).catch(() => undefined);
}

export const command: Command = {
  name: 'run',
  use: '[OPTIONS] IMAGE [COMMAND] [ARG...]',
  short: 'Create and run a new container from an image',
  args: { min: 1 },
  interspersed: false,
  flags(fs) {
    addContainerFlags(fs);
    fs.bool('detach', 'd', 'Run container in background and print container ID');
    fs.string('detach-keys', undefined, 'Override the key sequence for detaching a container');
    fs.add({ name: 'sig-proxy', kind: 'bool', usage: 'Proxy received signals to the process', default: true, defText: 'true' });
    fs.bool('trace', undefined, 'Print the trace of the run (every layer\'s steps, timed) on stderr when it ends');
  },
  async run(cli, flags, args) {
    if (!flags.bool('trace')) return runContainer(cli, flags, args);
    // Inside the command's trace when OTLP export made one; else a trace of its own.
    const outer = tracer.current();
    const root = outer ?? tracer.startRoot('berth run', 'cli');
    try {
      return await tracer.run(root, () => runContainer(cli, flags, args));
    } finally {
      if (!outer) root.finish();
      await printRunTrace(cli, root);
    }
  },
};

async function runContainer(cli: Cli, flags: FlagValues, args: string[]): Promise<number> {
  const detach = flags.bool('detach');
  const tty = flags.bool('tty');
  const plan = buildCreatePlan(flags, args, { env: cli.env, detach, consoleSize: tty ? consoleSize(cli.io) : undefined });
  const body = plan.body;
  if (!detach && tty && body.AttachStdin && cli.io.stdin.isTTY !== true) throw new Error('the input device is not a TTY');
  const client = await cli.client();
  const id = await createContainer(cli, plan, { quiet: flags.bool('quiet') });

  // Attach before start so no output is lost; wait before start so the exit is not missed.
  const attached = !detach && (body.AttachStdin || body.AttachStdout || body.AttachStderr);
  const hijacked = attached
    ? await client.hijack('POST', `/containers/${id}/attach`, undefined, {
        query: {
          stream: true,
          stdin: body.AttachStdin,
          stdout: body.AttachStdout,
          stderr: body.AttachStderr,
          detachKeys: flags.str('detach-keys'),
        },
      })
    : undefined;
  const autoRemove = body.HostConfig?.AutoRemove === true;
  // Aborted when start fails: a pending wait would keep the connection pool (and the process) alive.
  const waitAbort = new AbortController();
  const waitP = detach
    ? undefined
    : client.json<{ StatusCode: number; Error?: { Message?: string } | null }>('POST', `/containers/${id}/wait`, {
        query: { condition: autoRemove ? 'removed' : 'next-exit' },
        signal: waitAbort.signal,
      });
  waitP?.catch(() => undefined);
  // From the start request to the container's first byte of output (with a trace only).
  const firstOutput = tracer.start('first output', 'cli', { start: now() });
  try {
    await client.request('POST', `/containers/${id}/start`).then((r) => r.body.text());
  } catch (e) {
    hijacked?.stream.destroy();
    const text = errorText(e, cli);
    cli.err(`berth: ${text}\n\nRun '${cli.commandPath} --help' for more information\n`);
    // docker waits for --rm's removal; bounded here, in case the daemon keeps the never-started container.
    if (autoRemove && waitP) await Promise.race([waitP.catch(() => undefined), new Promise((r) => setTimeout(r, 3000).unref())]);
    waitAbort.abort();
    throw new StatusError(startFailureStatus(text));
  }
  if (detach) {
    cli.out(`${id}\n`);
    return 0;
  }
  let pump: Promise<{ detached: boolean }> = Promise.resolve({ detached: false });
  if (hijacked) {
    pump = pumpStreams(cli.io, hijacked, {
      stdin: body.AttachStdin === true,
      tty,
      detachKeys: flags.str('detach-keys'),
      resize: (rows, cols) => void resizeContainer(cli, `/containers/${id}/resize`, rows, cols),
      ...(firstOutput ? { onFirstOutput: () => firstOutput.finish() } : {}),
    });
    const size = consoleSize(cli.io);
    if (tty && size) void resizeContainer(cli, `/containers/${id}/resize`, size[0], size[1]);
  }
  // Detached with the keys: the container runs on, docker run returns 0 without a word.
  if ((await pump).detached) {
    waitAbort.abort();
    return 0;
  }
  const res = await waitP!;
  if (res.Error?.Message) cli.err(`${res.Error.Message}\n`);
  return res.StatusCode;
}
