// The berth command line: global options, dispatch to commands/<group>/<verb>.ts, help, and docker's exit codes.
import { StatusError, type Command, type Group, type Io } from './command.js';
import { OptionError } from './commands/container/opts.js';
import { GROUPS, TOP_LEVEL, COMMON } from './commands/index.js';
import { Cli, defaultConfigDir, defaultHost } from './context.js';
import { FlagSet, HelpRequested, UsageError } from './flags.js';
import { errorText } from './errors.js';
import { startCommandTrace } from './trace.js';
import { tracer } from '../common/trace.js';

import { VERSION } from './version.js';
export { VERSION };
// docker wraps help text as pflag does for an 80-column terminal, which in practice breaks lines one column earlier.
const HELP_COLS = 79;

function globalFlags(env: Record<string, string | undefined>): FlagSet {
  const fs = new FlagSet();
  fs.string('config', undefined, 'Location of client config files', defaultConfigDir(env));
  fs.string('context', 'c', 'Name of the context to use to connect to the daemon (overrides DOCKER_HOST env var and default context set with "docker context use")');
  fs.bool('debug', 'D', 'Enable debug mode');
  fs.list('host', 'H', 'Daemon socket to connect to');
  fs.string('log-level', 'l', 'Set the logging level ("debug", "info", "warn", "error", "fatal")', 'info');
  fs.bool('no-autostart', undefined, 'Do not start berthd when no daemon answers on the default socket');
  fs.bool('version', 'v', 'Print version information and quit');
  return fs;
}

/** Docker's argument-count messages (cobra's Args validators as docker words them). */
function checkArgs(path: string, cmd: Command, n: number): void {
  const { min, max } = cmd.args ?? {};
  const plural = (k: number) => `${k} argument${k === 1 ? '' : 's'}`;
  if (max === 0 && n > 0) throw new UsageError(`'${path}' accepts no arguments`, 'args-run');
  if (min !== undefined && max !== undefined && min === max && n !== min) throw new UsageError(`'${path}' requires ${plural(min)}`, 'args-run');
  if (min !== undefined && max !== undefined && min !== max && (n < min || n > max)) throw new UsageError(`'${path}' requires at least ${min} and at most ${plural(max)}`, 'args-run');
  if (min !== undefined && n < min) throw new UsageError(`'${path}' requires at least ${plural(min)}`, 'args');
  if (max !== undefined && n > max) throw new UsageError(`'${path}' requires at most ${plural(max)}`, 'args');
}

function aliasesOf(cmd: Command): string[] {
  const out: string[] = [];
  for (const g of GROUPS) {
    if (g.commands.includes(cmd)) for (const n of [cmd.name, ...(cmd.aliases ?? [])]) out.push(`berth ${g.name} ${n}`);
  }
  for (const [name, c] of Object.entries(TOP_LEVEL)) if (c === cmd) out.push(`berth ${name}`);
  return out;
}

function commandHelp(path: string, cmd: Command, fs: FlagSet): string {
  let s = `Usage:  ${path} ${cmd.use}\n\n${cmd.short}\n`;
  const aliases = aliasesOf(cmd);
  if (aliases.length > 1) s += `\nAliases:\n  ${aliases.join(', ')}\n`;
  if (fs.specs.some((f) => !f.hidden)) s += `\nOptions:\n${fs.usages(HELP_COLS, fs.hasShort('h')).trimEnd()}\n`;
  return s;
}

function groupHelp(g: Group): string {
  // cobra pads names to the longest subcommand name, at least 11 columns.
  const w = Math.max(11, ...g.commands.map((c) => c.name.length));
  let s = `Usage:  berth ${g.name} COMMAND\n\n${g.short}\n\nCommands:\n`;
  for (const c of g.commands) s += `  ${c.name.padEnd(w)} ${c.short}\n`;
  s += `\nRun 'berth ${g.name} COMMAND --help' for more information on a command.\n`;
  return s;
}

function rootHelp(env: Record<string, string | undefined>): string {
  const line = (name: string, short: string) => `  ${name.padEnd(11)} ${short}\n`;
  let s = 'Usage:  berth [OPTIONS] COMMAND\n\nA self-sufficient runtime for containers\n\nCommon Commands:\n';
  for (const n of COMMON) s += line(n, TOP_LEVEL[n]!.short);
  s += '\nManagement Commands:\n';
  for (const g of GROUPS) s += line(g.name, g.short);
  s += '\nCommands:\n';
  for (const n of Object.keys(TOP_LEVEL).sort()) if (!COMMON.includes(n)) s += line(n, TOP_LEVEL[n]!.short);
  s += `\nGlobal Options:\n${globalFlags(env).usages(HELP_COLS).trimEnd()}\n`;
  s += "\nRun 'berth COMMAND --help' for more information on a command.\n";
  return s;
}

/** Hosts from -H, then DOCKER_HOST / BERTH_HOST, then the default socket. */
function resolveHost(hosts: string[], env: Record<string, string | undefined>): { host: string; explicit: boolean } {
  if (hosts.length > 1) throw new UsageError('Specify only one -H');
  if (hosts.length === 1) return { host: hosts[0]!, explicit: true };
  const envHost = env['DOCKER_HOST'] || env['BERTH_HOST'];
  if (envHost) return { host: envHost, explicit: true };
  return { host: defaultHost(env), explicit: false };
}

/** Run the CLI on `argv` (without the program name); resolves to the process exit code. */
export async function main(argv: string[], io: Io): Promise<number> {
  const gfs = globalFlags(io.env);
  let parsed;
  try {
    parsed = gfs.parse(argv, { interspersed: false });
  } catch (e) {
    if (e instanceof HelpRequested) {
      io.stdout.write(rootHelp(io.env));
      return 0;
    }
    if (e instanceof UsageError) {
      io.stderr.write(`${e.message}\n\nUsage:  berth [OPTIONS] COMMAND\n\nRun 'berth --help' for more information\n`);
      return 125;
    }
    throw e;
  }
  const g = parsed.flags;
  if (g.bool('version')) {
    io.stdout.write(`Berth version ${VERSION}\n`);
    return 0;
  }
  const [name, ...rest] = parsed.args;
  if (!name || name === 'help') {
    io.stdout.write(rootHelp(io.env));
    return 0;
  }
  let cmd: Command | undefined = TOP_LEVEL[name];
  let path = `berth ${name}`;
  let args = rest;
  const group = GROUPS.find((x) => x.name === name);
  if (group) {
    const sub = rest[0];
    if (!sub || sub === '--help' || sub === '-h' || sub === 'help') {
      // docker shows a bare `docker network` its help on stderr (cobra's ShowHelp), asked-for help on stdout.
      (sub ? io.stdout : io.stderr).write(groupHelp(group));
      return 0;
    }
    cmd = group.commands.find((c) => c.name === sub || c.aliases?.includes(sub));
    if (!cmd) {
      io.stderr.write(`berth: unknown command: berth ${name} ${sub}\n\nUsage:  berth ${name}\n\nRun 'berth ${name} --help' for more information\n`);
      return 1;
    }
    path = `berth ${name} ${sub}`;
    args = rest.slice(1);
  }
  if (!cmd) {
    io.stderr.write(`berth: unknown command: berth ${name}\n\nRun 'berth --help' for more information\n`);
    return 1;
  }
  let hostInfo;
  try {
    hostInfo = resolveHost(g.list('host'), io.env);
  } catch (e) {
    io.stderr.write(`${(e as Error).message}\n`);
    return 125;
  }
  const noAutostart = g.bool('no-autostart') || ['1', 'true', 'yes'].includes((io.env['BERTH_NO_AUTOSTART'] ?? '').toLowerCase());
  const cli = new Cli(io, {
    host: hostInfo.host,
    hostExplicit: hostInfo.explicit,
    configDir: g.str('config') ?? defaultConfigDir(io.env),
    debug: g.bool('debug'),
    logLevel: g.str('log-level') ?? 'info',
    noAutostart,
  });
  cli.commandPath = path;
  cli.commandUse = cmd.use;
  const fs = new FlagSet();
  cmd.flags?.(fs);
  let trace: ReturnType<typeof startCommandTrace>;
  let failure: unknown;
  try {
    const { flags, args: positional } = fs.parse(args, { interspersed: cmd.interspersed ?? true });
    if (flags.bool('help') && fs.lookup('help')) throw new HelpRequested();
    checkArgs(path, cmd, positional.length);
    trace = startCommandTrace(io, path, VERSION);
    const c = cmd;
    const code = trace ? await tracer.run(trace.root, () => c.run(cli, flags, positional)) : await c.run(cli, flags, positional);
    return code ?? 0;
  } catch (e) {
    failure = e;
    return report(e, cli, cmd, fs, path);
  } finally {
    await trace?.end(failure);
    await cli.close();
  }
}

/** Print an error the way docker does for this command and return the exit code. */
function report(e: unknown, cli: Cli, cmd: Command, fs: FlagSet, path: string): number {
  if (e instanceof HelpRequested) {
    cli.out(commandHelp(path, cmd, fs));
    return 0;
  }
  if (e instanceof UsageError) {
    if (e.kind !== 'flag') {
      cli.err(`berth: ${e.message}\n\nUsage:  ${path} ${cmd.use}\n\n${e.kind === 'args' ? 'See' : 'Run'} '${path} --help' for more information\n`);
      return 1;
    }
    cli.err(`${e.message}\n\nUsage:  ${path} ${cmd.use}\n\nRun '${path} --help' for more information\n`);
    return 125;
  }
  if (e instanceof StatusError) {
    if (e.message) cli.err(e.message.endsWith('\n') ? e.message : `${e.message}\n`);
    return e.status;
  }
  const text = errorText(e, cli);
  // run and create report every failure before the container runs as docker does: exit 125.
  if (e instanceof OptionError || cmd === TOP_LEVEL['run'] || cmd === TOP_LEVEL['create']) {
    cli.err(`berth: ${text}\n\nRun '${path} --help' for more information\n`);
    return 125;
  }
  cli.err(`${text}\n`);
  return 1;
}
