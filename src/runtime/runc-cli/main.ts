// berth-runc: runc's command line over the runtime library, so containerd and Docker can drive Berth.
import { appendFileSync } from 'node:fs';
import { BerthError } from '../../common/errors.js';
import { formatFlags, parseFlags, UsageError, type FlagDef } from './args.js';
import type { Command, Context } from './command.js';

export const VERSION = '0.1.0';
export const SPEC_VERSION = '1.2.0';

const GLOBAL_FLAGS: FlagDef[] = [
  { name: 'debug', type: 'bool', usage: 'enable debug logging' },
  { name: 'log', type: 'string', usage: 'set the log file to write runc logs to (default is \'/dev/stderr\')' },
  { name: 'log-format', type: 'string', usage: 'set the log format (\'text\' (default), or \'json\')', default: 'text' },
  { name: 'root', type: 'string', usage: 'root directory for storage of container state (this should be located in tmpfs)', default: '/run/berth-runc' },
  { name: 'criu', type: 'string', usage: 'path to the criu binary used for checkpoint and restore (not supported)', default: 'criu' },
  { name: 'systemd-cgroup', type: 'bool', usage: 'enable systemd cgroup support, expects cgroupsPath to be of form "slice:prefix:name" (converted to a cgroupfs path)' },
  { name: 'rootless', type: 'string', usage: 'ignore cgroup permission errors (\'true\', \'false\', or \'auto\')', default: 'auto' },
  { name: 'help', alias: 'h', type: 'bool', usage: 'show help' },
  { name: 'version', alias: 'v', type: 'bool', usage: 'print the version' },
];

/** Verb -> [summary, loader]; modules load only when used, to keep a command's start short. */
const COMMANDS: Record<string, [string, () => Promise<{ command: Command }>]> = {
  create: ['create a container', () => import('./create.js')],
  delete: ['delete any resources held by the container often used with detached container', () => import('./delete.js')],
  events: ['display container events such as OOM notifications, cpu, memory, and IO usage statistics', () => import('./events.js')],
  exec: ['execute new process inside the container', () => import('./exec.js')],
  features: ['show the enabled features', () => import('./features.js')],
  kill: ['kill sends the specified signal (default: SIGTERM) to the container\'s init process', () => import('./kill.js')],
  list: ['lists containers started by runc with the given root', () => import('./list.js')],
  pause: ['pause suspends all processes inside the container', () => import('./pause.js')],
  ps: ['ps displays the processes running inside a container', () => import('./ps.js')],
  resume: ['resumes all processes that have been previously paused', () => import('./resume.js')],
  run: ['create and run a container', () => import('./run.js')],
  spec: ['create a new specification file', () => import('./spec.js')],
  start: ['executes the user defined process in a created container', () => import('./start.js')],
  state: ['output the state of a container', () => import('./state.js')],
  update: ['update container resource constraints', () => import('./update.js')],
};

function versionText(): string {
  return `berth-runc version ${VERSION}\nspec: ${SPEC_VERSION}\n`;
}

function helpText(): string {
  const w = Math.max(...Object.keys(COMMANDS).map((k) => k.length)) + 2;
  return `NAME:
   berth-runc - Open Container Initiative runtime (Berth)

USAGE:
   berth-runc [global options] command [command options] [arguments...]

VERSION:
   ${VERSION}
spec: ${SPEC_VERSION}

COMMANDS:
${Object.entries(COMMANDS).map(([k, [s]]) => `   ${k.padEnd(w)}${s}`).join('\n')}
   help, h${' '.repeat(Math.max(1, w - 7))}Shows a list of commands or help for one command

GLOBAL OPTIONS:
${formatFlags(GLOBAL_FLAGS)}
`;
}

function commandHelp(c: Command, summary: string): string {
  return `NAME:
   berth-runc ${c.name} - ${summary}

USAGE:
   berth-runc ${c.name} [command options] ${c.argsUsage}
${c.description ? `\nDESCRIPTION:\n   ${c.description}\n` : ''}
OPTIONS:
${formatFlags(c.flags)}
`;
}

/** Log an error as runc does: JSON or logrus text to --log, else logrus text on stderr. */
function reportError(global: Record<string, unknown>, msg: string): void {
  const time = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const logFile = global.log as string | undefined;
  const line = global['log-format'] === 'json'
    ? JSON.stringify({ level: 'error', msg, time }) + '\n'
    : `time="${time}" level=error msg=${JSON.stringify(msg)}\n`;
  if (logFile && logFile !== '/dev/stderr') {
    try { appendFileSync(logFile, line); } catch { /* stderr below still says it */ }
    process.stderr.write(msg + '\n');
  } else {
    process.stderr.write(line);
  }
}

export async function main(argv: string[]): Promise<number> {
  let global: Record<string, unknown> = {};
  try {
    const g = parseFlags(argv, GLOBAL_FLAGS, true);
    global = g.flags;
    if (g.flags.version) {
      process.stdout.write(versionText());
      return 0;
    }
    let [verb, ...rest] = g.args;
    if (!verb || verb === 'help' || verb === 'h' || g.flags.help) {
      if ((verb === 'help' || verb === 'h') && rest[0] && COMMANDS[rest[0]]) {
        const { command } = await COMMANDS[rest[0]]![1]();
        process.stdout.write(commandHelp(command, COMMANDS[rest[0]]![0]));
      } else process.stdout.write(helpText());
      return 0;
    }
    const entry = COMMANDS[verb];
    if (!entry) {
      reportError(global, `No help topic for '${verb}'`);
      return 1;
    }
    const { command } = await entry[1]();
    const p = parseFlags(rest, [...command.flags, { name: 'help', alias: 'h', type: 'bool', usage: 'show help' }], command.stopAtFirstArg);
    if (p.flags.help) {
      process.stdout.write(commandHelp(command, entry[0]));
      return 0;
    }
    const [min, max] = typeof command.args === 'number' ? [command.args, command.args] : command.args;
    if (p.args.length < min || (max >= 0 && p.args.length > max)) {
      const what = min === max ? `exactly ${min}` : p.args.length < min ? `a minimum of ${min}` : `a maximum of ${max}`;
      process.stdout.write(commandHelp(command, entry[0]));
      reportError(global, `${verb}: "${verb}" requires ${what} argument(s)`);
      return 1;
    }
    let rt: import('../container/runtime.js').Runtime | undefined;
    const { Runtime } = await import('../container/runtime.js');
    const ctx: Context = {
      runtime: () => (rt ??= new Runtime({ root: global.root as string, systemdCgroup: !!global['systemd-cgroup'] })),
      global: g.flags,
      flags: p.flags,
      args: p.args,
      debug: (m) => { if (global.debug) process.stderr.write(`time="${new Date().toISOString()}" level=debug msg=${JSON.stringify(m)}\n`); },
    };
    return (await command.run(ctx)) ?? 0;
  } catch (e) {
    const msg = e instanceof BerthError || e instanceof UsageError ? e.message : e instanceof Error ? e.message : String(e);
    reportError(global, msg);
    if (global.debug && e instanceof Error && e.stack) process.stderr.write(e.stack + '\n');
    return 1;
  }
}
