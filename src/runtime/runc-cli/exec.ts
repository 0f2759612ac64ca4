// berth-runc exec: run another process in a running container (from flags or a process.json).
import { readFileSync } from 'node:fs';
import { errInvalid } from '../../common/errors.js';
import type { Process } from '../spec/types.js';
import type { Command } from './command.js';
import { preservedFds } from './create.js';

const FORWARDED = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'] as const;

export const command: Command = {
  name: 'exec',
  argsUsage: '<container-id> <command> [command options]  || -p process.json <container-id>',
  stopAtFirstArg: true,
  flags: [
    { name: 'console-socket', type: 'string', usage: "path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal" },
    { name: 'cwd', type: 'string', usage: 'current working directory in the container' },
    { name: 'env', alias: 'e', type: 'list', usage: 'set environment variables' },
    { name: 'tty', alias: 't', type: 'bool', usage: 'allocate a pseudo-TTY' },
    { name: 'user', alias: 'u', type: 'string', usage: 'UID (format: <uid>[:<gid>])' },
    { name: 'additional-gids', alias: 'g', type: 'list', usage: 'additional gids' },
    { name: 'process', alias: 'p', type: 'string', usage: 'path to the process.json' },
    { name: 'detach', alias: 'd', type: 'bool', usage: 'detach from the container\'s process' },
    { name: 'pid-file', type: 'string', usage: 'specify the file to write the process id to' },
    { name: 'process-label', type: 'string', usage: 'set the asm process label for the process commonly used with selinux' },
    { name: 'apparmor', type: 'string', usage: 'set the apparmor profile for the process' },
    { name: 'no-new-privs', type: 'bool', usage: 'set the no new privileges value for the process' },
    { name: 'cap', alias: 'c', type: 'list', usage: 'add a capability to the bounding set for the process' },
    { name: 'preserve-fds', type: 'int', usage: 'Pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total)', default: 0 },
    { name: 'cgroup', type: 'list', usage: 'run the process in an (existing) sub-cgroup(s) (accepted, ignored)' },
  ],
  args: [1, -1],
  async run(ctx) {
    const rt = ctx.runtime();
    const f = ctx.flags;
    const [id, ...argv] = ctx.args as [string, ...string[]];
    let proc: Process;
    if (f.process) {
      try {
        proc = JSON.parse(readFileSync(f.process as string, 'utf8')) as Process;
      } catch (e) {
        throw errInvalid(`process.json ${f.process as string}: ${(e as Error).message}`, e);
      }
    } else {
      if (argv.length === 0) throw errInvalid('exec: args must not be empty');
      // runc starts from the container's own process and overrides what the flags say.
      const base = (await rt.states.load(id)).spec.process!;
      proc = structuredClone(base);
      proc.args = argv;
      proc.terminal = !!f.tty;
      if (f.cwd) proc.cwd = f.cwd as string;
      if (f.env) proc.env = [...(proc.env ?? []), ...(f.env as string[])];
      if (f.user) {
        const [u, g] = (f.user as string).split(':');
        if (!/^\d+$/.test(u ?? '') || (g !== undefined && !/^\d+$/.test(g))) throw errInvalid(`parsing ${f.user as string} as int for uid failed`);
        proc.user = { ...proc.user, uid: Number(u), gid: g === undefined ? proc.user.gid : Number(g) };
      }
      if (f['additional-gids']) proc.user.additionalGids = (f['additional-gids'] as string[]).map(Number);
      if (f['no-new-privs']) proc.noNewPrivileges = true;
      if (f.cap) {
        const caps = (proc.capabilities ??= {});
        for (const c of f.cap as string[]) for (const set of ['bounding', 'effective', 'permitted', 'ambient', 'inheritable'] as const) {
          (caps[set] ??= []).includes(c) || caps[set]!.push(c);
        }
      }
    }
    const detach = !!f.detach;
    const { child } = await rt.exec(id, proc, {
      consoleSocket: f['console-socket'] as string | undefined,
      pidFile: f['pid-file'] as string | undefined,
      preserveFds: preservedFds(f['preserve-fds'] as number),
      detach,
    });
    if (detach) return 0;
    for (const s of FORWARDED) process.on(s, () => child.kill(s));
    return new Promise<number>((res) => {
      if (child.exitCode !== null) return res(child.exitCode);
      child.on('exit', (code) => res(code ?? 255));
    });
  },
};
