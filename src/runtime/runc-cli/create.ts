// berth-runc create: set up a container from a bundle; its process waits for `start`.
import type { Command } from './command.js';

export const CREATE_FLAGS = [
  { name: 'bundle', alias: 'b', type: 'string', usage: 'path to the root of the bundle directory, defaults to the current directory', default: '.' },
  { name: 'console-socket', type: 'string', usage: "path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal" },
  { name: 'pid-file', type: 'string', usage: 'specify the file to write the process id to' },
  { name: 'no-pivot', type: 'bool', usage: 'do not use pivot root to jail process inside rootfs.  This should be used whenever the rootfs is on top of a ramdisk' },
  { name: 'no-new-keyring', type: 'bool', usage: 'do not create a new session keyring for the container (accepted; Berth creates none)' },
  { name: 'preserve-fds', type: 'int', usage: 'Pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total)', default: 0 },
] as const satisfies Command['flags'];

/** LISTEN_FDS from systemd socket activation adds to --preserve-fds, as runc does. */
export function preservedFds(n: number): number {
  const listen = Number(process.env.LISTEN_FDS ?? 0);
  return n + (Number.isInteger(listen) && listen > 0 ? listen : 0);
}

export const command: Command = {
  name: 'create',
  argsUsage: '<container-id>',
  description: 'The create command creates an instance of a container for a bundle.',
  flags: [...CREATE_FLAGS],
  args: 1,
  async run(ctx) {
    const f = ctx.flags;
    await ctx.runtime().create(ctx.args[0]!, f.bundle as string, {
      consoleSocket: f['console-socket'] as string | undefined,
      pidFile: f['pid-file'] as string | undefined,
      noPivot: !!f['no-pivot'],
      preserveFds: preservedFds(f['preserve-fds'] as number),
      detach: true,
    });
  },
};
