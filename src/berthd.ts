// berthd: the daemon. Parses dockerd's flags and daemon.json, builds the object graph (engine, images, routes), serves the Engine API, stops gracefully.
//
// The one place that wires Berth together. Containers survive a berthd stop (live-restore):
// their shims keep running, and the next berthd reattaches.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BerthError, errInvalid } from './common/errors.js';
import { createLogger, LEVELS, type Level, type Logger } from './common/log.js';
import { registerPingRoutes } from './api/ping.js';
import { Router } from './api/router.js';
import { registerContainerRoutes } from './api/routes/containers.js';
import { registerEventRoutes } from './api/routes/events.js';
import { registerExecRoutes } from './api/routes/exec.js';
import { registerImageRoutes } from './api/routes/images.js';
import { registerSystemRoutes } from './api/routes/system.js';
import { registerNetworkRoutes } from './api/routes/networks.js';
import { registerVolumeRoutes } from './api/routes/volumes.js';
import { startApiServer, type ApiServer, type TlsOptions } from './api/server.js';
import type { ComponentVersion } from './api/version.js';
import { openEngine, type Engine } from './engine/engine.js';
import type { RegistryClientOptions } from './images/distribution/registry-client.js';

/** Repository root (works from src/ and dist/src/). */
const repoRoot = (() => {
  let d = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(d, 'package.json')) && dirname(d) !== d) d = dirname(d);
  return d;
})();

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version?: string }).version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

export const DEFAULT_DATA_ROOT = '/var/lib/berth';
export const DEFAULT_EXEC_ROOT = '/run/berth';
export const DEFAULT_HOST = 'unix:///run/berth/berth.sock';
export const DEFAULT_CONFIG_FILE = '/etc/berth/daemon.json';

/** The daemon's settings, after flags and daemon.json are merged. */
export interface DaemonConfig {
  dataRoot: string;
  execRoot: string;
  hosts: string[];
  pidfile: string;
  debug: boolean;
  logLevel: Level;
  tls: boolean;
  tlsVerify: boolean;
  tlsCaCert?: string;
  tlsCert?: string;
  tlsKey?: string;
  insecureRegistries: string[];
  registryMirrors: string[];
  /** Parent of every container's cgroup (dockerd's --cgroup-parent); relative = under berthd's own cgroup. */
  cgroupParent?: string;
  /** The default bridge network's Linux bridge (created by the CNI bridge plugin when missing). */
  bridge?: string;
  /** dockerd --bip: the default bridge's gateway address and prefix. */
  bip?: string;
  /** dockerd --ip-masq: masquerade traffic leaving bridge networks (default true). */
  ipMasq: boolean;
  /** Berth: the embedded DNS forwards names it does not know to the host's resolvers (default true). */
  dnsForward: boolean;
}

type Partialcfg = Partial<DaemonConfig>;

/** daemon.json keys Berth understands, with the config field each sets. Others refuse to start. */
const FILE_KEYS: Record<string, keyof DaemonConfig> = {
  'data-root': 'dataRoot',
  'exec-root': 'execRoot',
  hosts: 'hosts',
  pidfile: 'pidfile',
  debug: 'debug',
  'log-level': 'logLevel',
  tls: 'tls',
  tlsverify: 'tlsVerify',
  tlscacert: 'tlsCaCert',
  tlscert: 'tlsCert',
  tlskey: 'tlsKey',
  'insecure-registries': 'insecureRegistries',
  'registry-mirrors': 'registryMirrors',
  'cgroup-parent': 'cgroupParent',
  bridge: 'bridge',
  bip: 'bip',
  'ip-masq': 'ipMasq',
  'dns-forward': 'dnsForward',
};
const FLAG_OF: Record<string, string> = Object.fromEntries(Object.entries(FILE_KEYS).map(([k, v]) => [v, k]));

export const USAGE = `Usage: berthd [OPTIONS]

A self-sufficient runtime for containers (serves the Docker Engine API).

Options:
  -b, --bridge string          Linux bridge of the default "bridge" network (default "berth0")
      --bip string             Specify the default bridge network's IP (CIDR, e.g. 172.17.0.1/16)
      --cgroup-parent string   Set parent cgroup for all containers (default "berth", under berthd's own cgroup)
      --config-file string     Daemon configuration file (default "${DEFAULT_CONFIG_FILE}")
      --data-root string       Root directory of persistent Berth state (default "${DEFAULT_DATA_ROOT}")
  -D, --debug                  Enable debug mode
      --dns-forward            Let the embedded DNS forward unknown names to the host's resolvers (default true)
      --exec-root string       Root directory for execution state files (default "${DEFAULT_EXEC_ROOT}")
  -H, --host list              Daemon socket(s) to connect to (default ${DEFAULT_HOST})
      --insecure-registry list Enable insecure registry communication
      --ip-masq                Enable IP masquerading for bridge networks (default true)
  -l, --log-level string       Set the logging level ("debug"|"info"|"warn"|"error"|"fatal") (default "info")
  -p, --pidfile string         Path to use for daemon PID file (default "<exec-root>/berthd.pid")
      --registry-mirror list   Preferred registry mirror
      --tls                    Use TLS; implied by --tlsverify
      --tlscacert string       Trust certs signed only by this CA
      --tlscert string         Path to TLS certificate file
      --tlskey string          Path to TLS key file
      --tlsverify              Use TLS and verify the remote
  -v, --version                Print version information and quit
`;

export interface ParsedArgs {
  flags: Partialcfg;
  configFile?: string;
  help: boolean;
  version: boolean;
}

/** Parse dockerd-style flags (`--x=v`, `--x v`, `-H v`, repeatable lists). */
export function parseArgs(argv: readonly string[]): ParsedArgs {
  const out: ParsedArgs = { flags: {}, help: false, version: false };
  const f = out.flags;
  const bools: Record<string, (v: boolean) => void> = {
    '--debug': (v) => { f.debug = v; },
    '-D': (v) => { f.debug = v; },
    '--tls': (v) => { f.tls = v; },
    '--tlsverify': (v) => { f.tlsVerify = v; },
    '--help': (v) => { out.help = v; },
    '-h': (v) => { out.help = v; },
    '--version': (v) => { out.version = v; },
    '--ip-masq': (v) => { f.ipMasq = v; },
    '--dns-forward': (v) => { f.dnsForward = v; },
    '-v': (v) => { out.version = v; },
  };
  const values: Record<string, (v: string) => void> = {
    '--data-root': (v) => { f.dataRoot = v; },
    '--cgroup-parent': (v) => { f.cgroupParent = v; },
    '--bridge': (v) => { f.bridge = v; },
    '-b': (v) => { f.bridge = v; },
    '--bip': (v) => { f.bip = v; },
    '--exec-root': (v) => { f.execRoot = v; },
    '--host': (v) => { (f.hosts ??= []).push(v); },
    '-H': (v) => { (f.hosts ??= []).push(v); },
    '--pidfile': (v) => { f.pidfile = v; },
    '-p': (v) => { f.pidfile = v; },
    '--config-file': (v) => { out.configFile = v; },
    '--log-level': (v) => { f.logLevel = parseLevel(v); },
    '-l': (v) => { f.logLevel = parseLevel(v); },
    '--tlscacert': (v) => { f.tlsCaCert = v; },
    '--tlscert': (v) => { f.tlsCert = v; },
    '--tlskey': (v) => { f.tlsKey = v; },
    '--insecure-registry': (v) => { (f.insecureRegistries ??= []).push(v); },
    '--registry-mirror': (v) => { (f.registryMirrors ??= []).push(v); },
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const inline = eq > 0 ? arg.slice(eq + 1) : undefined;
    if (name in bools) {
      bools[name]!(inline === undefined ? true : !/^(false|0)$/i.test(inline));
    } else if (name in values) {
      const v = inline ?? argv[++i];
      if (v === undefined) throw errInvalid(`flag needs an argument: ${name}`);
      values[name]!(v);
    } else if (/^-H./.test(arg)) {
      values['-H']!(arg.slice(2));
    } else {
      throw errInvalid(`unknown flag: ${arg}`);
    }
  }
  return out;
}

function parseLevel(v: string): Level {
  const l = (v === 'warning' ? 'warn' : v.toLowerCase()) as Level;
  if (!(l in LEVELS) || l === 'silent') throw errInvalid(`unable to parse logging level: ${v}`);
  return l;
}

/** Read daemon.json: only the keys Berth knows; any other key refuses to start, naming it. */
export function parseConfigFile(text: string, path: string): Partialcfg {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw errInvalid(`unable to configure the Berth daemon with file ${path}: ${(e as Error).message}`, e);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw errInvalid(`unable to configure the Berth daemon with file ${path}: not a JSON object`);
  const unknown = Object.keys(raw).filter((k) => !(k in FILE_KEYS));
  if (unknown.length) {
    throw errInvalid(`unable to configure the Berth daemon with file ${path}: the following directives don't match any configuration option: ${unknown.join(', ')}`);
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    const field = FILE_KEYS[k]!;
    const bad = () => errInvalid(`unable to configure the Berth daemon with file ${path}: ${k}: invalid value ${JSON.stringify(v)}`);
    if (field === 'hosts' || field === 'insecureRegistries' || field === 'registryMirrors') {
      if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw bad();
      out[field] = v;
    } else if (field === 'debug' || field === 'tls' || field === 'tlsVerify' || field === 'ipMasq' || field === 'dnsForward') {
      if (typeof v !== 'boolean') throw bad();
      out[field] = v;
    } else if (field === 'logLevel') {
      if (typeof v !== 'string') throw bad();
      out[field] = parseLevel(v);
    } else {
      if (typeof v !== 'string' || v === '') throw bad();
      out[field] = v;
    }
  }
  return out as Partialcfg;
}

/** Flags and file together; a setting given in both refuses to start (as dockerd). */
export function mergeConfig(flags: Partialcfg, file: Partialcfg): DaemonConfig {
  const both = Object.keys(file).filter((k) => (flags as Record<string, unknown>)[k] !== undefined);
  if (both.length) {
    const list = both.map((k) => `${FLAG_OF[k] ?? k}: (from flag: ${JSON.stringify((flags as Record<string, unknown>)[k])}, from file: ${JSON.stringify((file as Record<string, unknown>)[k])})`);
    throw errInvalid(`the following directives are specified both as a flag and in the configuration file: ${list.join(', ')}`);
  }
  const m = { ...file, ...flags };
  const execRoot = resolve(m.execRoot ?? DEFAULT_EXEC_ROOT);
  const debug = m.debug ?? false;
  const tlsVerify = m.tlsVerify ?? false;
  return {
    dataRoot: resolve(m.dataRoot ?? DEFAULT_DATA_ROOT),
    execRoot,
    hosts: m.hosts?.length ? m.hosts : [DEFAULT_HOST],
    pidfile: resolve(m.pidfile ?? join(execRoot, 'berthd.pid')),
    debug,
    logLevel: m.logLevel ?? (debug ? 'debug' : 'info'),
    tls: (m.tls ?? false) || tlsVerify,
    tlsVerify,
    tlsCaCert: m.tlsCaCert,
    tlsCert: m.tlsCert,
    tlsKey: m.tlsKey,
    insecureRegistries: m.insecureRegistries ?? [],
    registryMirrors: m.registryMirrors ?? [],
    cgroupParent: m.cgroupParent,
    bridge: m.bridge,
    bip: m.bip,
    ipMasq: m.ipMasq ?? true,
    dnsForward: m.dnsForward ?? true,
  };
}

/** Flags + config file -> the config (the file is optional only when it is the default one). */
export function loadConfig(argv: readonly string[]): { config: DaemonConfig; parsed: ParsedArgs } {
  const parsed = parseArgs(argv);
  const path = parsed.configFile ?? DEFAULT_CONFIG_FILE;
  let file: Partialcfg = {};
  if (parsed.configFile !== undefined || existsSync(path)) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      throw errInvalid(`unable to configure the Berth daemon with file ${path}: ${(e as Error).message}`, e);
    }
    file = parseConfigFile(text, path);
  }
  return { config: mergeConfig(parsed.flags, file), parsed };
}

/** Write the pidfile; refuse when it names a live process (another daemon with this pidfile). */
function writePidfile(path: string): void {
  try {
    const old = Number(readFileSync(path, 'utf8').trim());
    if (Number.isInteger(old) && old > 0 && old !== process.pid) {
      let alive = false;
      try {
        process.kill(old, 0);
        alive = existsSync(`/proc/${old}`);
      } catch {
        alive = false;
      }
      if (alive) throw new BerthError('already-exists', `pid file found, ensure berthd is not running or delete ${path}`);
    }
  } catch (e) {
    if (e instanceof BerthError) throw e;
  }
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${process.pid}`);
}

export interface Daemon {
  config: DaemonConfig;
  server: ApiServer;
  engine: Engine;
  /** Stop serving, close the engine (containers keep running), remove the pidfile. */
  stop(): Promise<void>;
}

/** Build everything and listen. */
export async function startDaemon(config: DaemonConfig, log: Logger): Promise<Daemon> {
  const version = packageVersion();
  mkdirSync(config.execRoot, { recursive: true, mode: 0o700 });
  mkdirSync(config.dataRoot, { recursive: true, mode: 0o711 });
  writePidfile(config.pidfile);
  const registry: RegistryClientOptions = {
    insecureRegistries: config.insecureRegistries,
    mirrors: config.registryMirrors,
    // The daemon never reads a user's ~/.docker/config.json: credentials come with each request.
    credentials: () => undefined,
  };
  let engine: Engine | undefined;
  try {
    engine = await openEngine({ dataRoot: config.dataRoot, execRoot: config.execRoot, log: log.child({ component: 'engine' }), registry, ...(config.cgroupParent ? { cgroupParent: config.cgroupParent } : {}),
      network: { ...(config.bridge ? { defaultBridge: config.bridge } : {}), ...(config.bip ? { bip: config.bip } : {}), ipMasq: config.ipMasq, ...(config.dnsForward ? {} : { dnsUpstreams: [] }) },
    });
    const eng = engine;
    const containers = eng.containers;
    const router = new Router();
    registerPingRoutes(router);
    const runtimePath = join(repoRoot, 'bin', 'berth-runc.cjs');
    const components = (): ComponentVersion[] => [
      { Name: 'berth-lifecycle', Version: version, Details: { GitCommit: '' } },
      { Name: 'berth-shim', Version: version, Details: { GitCommit: '' } },
      { Name: 'berth-runtime', Version: version, Details: { GitCommit: '' } },
      { Name: 'berth-init', Version: version, Details: { GitCommit: '' } },
    ];
    registerSystemRoutes(router, {
      images: eng.images,
      containers,
      daemon: {
        id: '',
        dataRoot: config.dataRoot,
        execRoot: config.execRoot,
        version,
        debug: config.debug,
        runtimePath,
        insecureRegistries: config.insecureRegistries,
        mirrors: config.registryMirrors,
      },
      versionInfo: { platformName: 'Berth Engine', version, gitCommit: 'unknown', buildTime: new Date(0).toUTCString(), experimental: false },
      components,
      // The engine reports what it runs; the daemon's own settings (version, debug, runtime name) are berthd's.
      engineInfo: async () => ({
        ...(await eng.info()),
        ServerVersion: version,
        Debug: config.debug,
        Runtimes: { berth: { path: runtimePath } },
        DefaultRuntime: 'berth',
      }),
      engineDf: () => eng.df(),
    });
    registerEventRoutes(router, eng.events);
    registerImageRoutes(router, {
      images: eng.images,
      events: eng.events,
      registry,
      tmpDir: config.execRoot,
      containerCounts: async () => {
        const m = new Map<string, number>();
        for (const c of await containers.list({ all: true })) m.set(c.ImageID, (m.get(c.ImageID) ?? 0) + 1);
        return m;
      },
    });
    registerContainerRoutes(router, containers);
    registerNetworkRoutes(router, { networks: eng.networks, containers, events: eng.events });
    registerExecRoutes(router, containers);
    registerVolumeRoutes(router, eng.volumes);
    let tls: TlsOptions | undefined;
    if (config.tls) {
      if (!config.tlsCert || !config.tlsKey) throw errInvalid('--tls needs --tlscert and --tlskey');
      if (config.tlsVerify && !config.tlsCaCert) throw errInvalid('--tlsverify needs --tlscacert');
      tls = { caFile: config.tlsCaCert ?? config.tlsCert, certFile: config.tlsCert, keyFile: config.tlsKey, verifyClients: config.tlsVerify };
    }
    const server = await startApiServer({ router, hosts: config.hosts, log, ...(tls ? { tls } : {}), daemonVersion: version });
    let stopping: Promise<void> | undefined;
    const stop = () => (stopping ??= (async () => {
      log.info('stopping: containers keep running (live-restore)');
      await server.close({ graceMs: 5000 });
      await eng.close();
      rmSync(config.pidfile, { force: true });
      log.info('berthd stopped');
    })());
    log.info('berthd started', { version, dataRoot: config.dataRoot, execRoot: config.execRoot, hosts: config.hosts, pid: process.pid });
    return { config, server, engine: eng, stop };
  } catch (e) {
    await engine?.close();
    rmSync(config.pidfile, { force: true });
    throw e;
  }
}

/** The berthd command: returns the exit code once stopped by SIGTERM/SIGINT. */
export async function main(argv: readonly string[]): Promise<number> {
  let loaded: ReturnType<typeof loadConfig>;
  try {
    loaded = loadConfig(argv);
  } catch (e) {
    process.stderr.write(`berthd: ${(e as Error).message}\n`);
    return 1;
  }
  if (loaded.parsed.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (loaded.parsed.version) {
    process.stdout.write(`Berth version ${packageVersion()}\n`);
    return 0;
  }
  const { config } = loaded;
  const log = createLogger({ level: config.logLevel, fields: { name: 'berthd' } });
  let daemon: Daemon;
  try {
    daemon = await startDaemon(config, log);
  } catch (e) {
    log.fatal('failed to start daemon', { err: e });
    process.stderr.write(`berthd: failed to start daemon: ${(e as Error).message}\n`);
    return 1;
  }
  return new Promise<number>((resolveExit) => {
    let signals = 0;
    const onSignal = (sig: NodeJS.Signals) => {
      signals++;
      if (signals > 2) {
        log.warn('forced exit', { signal: sig });
        process.exit(130);
      }
      if (signals > 1) return;
      log.info('signal received, shutting down', { signal: sig });
      daemon.stop().then(() => resolveExit(0), (e: unknown) => {
        log.error('shutdown failed', { err: e });
        resolveExit(1);
      });
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    // dockerd reloads its config on SIGHUP; Berth has nothing reloadable yet, so it is ignored.
    process.on('SIGHUP', () => log.info('SIGHUP: nothing to reload'));
  });
}
