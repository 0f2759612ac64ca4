// berth-runc run: create and start a container, then wait for it (or detach with -d).
import type { Command } from './command.js';
import { CREATE_FLAGS, preservedFds } from './create.js';

const FORWARDED = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'] as const;

export const command: Command = {
  name: 'run',
  argsUsage: '<container-id>',
  flags: [
    ...CREATE_FLAGS,
    { name: 'detach', alias: 'd', type: 'bool', usage: 'detach from the container\'s process' },
    { name: 'keep', type: 'bool', usage: 'do not delete the container after it exits' },
  ],
  args: 1,
  async run(ctx) {
    const rt = ctx.runtime();
    const f = ctx.flags;
    const id = ctx.args[0]!;
    const common = {
      consoleSocket: f['console-socket'] as string | undefined,
      pidFile: f['pid-file'] as string | undefined,
      noPivot: !!f['no-pivot'],
      preserveFds: preservedFds(f['preserve-fds'] as number),
    };
    if (f.detach) {
      await rt.create(id, f.bundle as string, { ...common, detach: true });
      await rt.start(id);
      return 0;
    }
    // berth-init stays as the container's parent and forwards these to it; no exec fifo unless
    // startContainer hooks need the stop between create and start.
    const { child, immediate } = await rt.createForRun(id, f.bundle as string, common);
    for (const s of FORWARDED) process.on(s, () => child.kill(s));
    const exited = new Promise<number>((res) => {
      if (child.exitCode !== null) return res(child.exitCode);
      child.on('exit', (code, sig) => res(code ?? (sig === 'SIGKILL' ? 137 : 128)));
    });
    await rt.startForRun(id, immediate);
    const code = await exited;
    if (!f.keep) await rt.delete(id, true);
    return code;
  },
};
