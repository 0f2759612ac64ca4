// berthd's settings: dockerd's flags and daemon.json keys (where they apply to Berth), merged and checked as dockerd does.
//
//   const { config, overrides } = loadConfig(process.argv.slice(2));   // flags + /etc/berth/daemon.json
//
// A flag overrides the file's key (dockerd refuses both; Berth lets a unit file's flag win over a shared
// daemon.json, and berthd logs each override). An unknown key or a bad value refuses to start: every
// message names the key. `berthd --validate` stops there.
import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { parseHost } from './api/server.js';
import { errInvalid } from './common/errors.js';
import { LEVELS, type Level } from './common/log.js';
import { ramInBytes } from './common/units.js';
import { LOG_DRIVERS, logSettings } from './engine/log-config.js';
import { buildRlimits } from './engine/spec-resources.js';
import { checkStateDirLength } from './lifecycle/task-sockets.js';
import type { Ulimit } from './engine/types.js';

export const DEFAULT_DATA_ROOT = '/var/lib/berth';
export const DEFAULT_EXEC_ROOT = '/run/berth';
export const DEFAULT_HOST = 'unix:///run/berth/berth.sock';
export const DEFAULT_CONFIG_FILE = '/etc/berth/daemon.json';
/** Berth's own runtime: berth-shim driving berth-init. Its name is reserved, as dockerd reserves `runc`. */
export const BERTH_RUNTIME = 'berth';
/** dockerd's defaults. */
export const DEFAULT_SHM_SIZE = 64 * 1024 * 1024;
export const DEFAULT_MAX_CONCURRENT_DOWNLOADS = 3;

/** A runc-compatible runtime from `runtimes` or `--add-runtime` (dockerd's legacy path runtimes). */
export interface RuntimeConfig {
  path: string;
  runtimeArgs?: string[];
}

/** One `default-address-pools` entry: networks of prefix `size` carved out of `base`. */
export interface AddressPool {
  base: string;
  size: number;
}

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
  /** Default log driver and options for containers that set none (dockerd's log-driver, log-opts). */
  logDriver: string;
  logOpts: Record<string, string>;
  defaultUlimits: Ulimit[];
  /** /dev/shm size of containers that set no ShmSize, in bytes. */
  defaultShmSize: number;
  maxConcurrentDownloads: number;
  /** Pools for networks created without a subnet (read by networking; empty = its built-in pools). */
  defaultAddressPools: AddressPool[];
  /** host:port of the Prometheus endpoint ('' = none). */
  metricsAddr: string;
  defaultRuntime: string;
  /** Runtimes besides `berth`, by name. */
  runtimes: Record<string, RuntimeConfig>;
  /** Stop every container when berthd stops (Berth's own; by default they keep running). */
  shutdownContainers: boolean;
  /** The default bridge network's Linux bridge (dockerd -b; created by the CNI bridge plugin when missing). */
  bridge?: string;
  /** dockerd --bip: the default bridge's gateway address and prefix. */
  bip?: string;
  /** dockerd --ip-masq: masquerade traffic leaving bridge networks. */
  ipMasq: boolean;
  /** Berth: the embedded DNS forwards names it does not know to the host's resolvers (a container's own --dns servers are asked either way). */
  dnsForward: boolean;
  /** dockerd --host-gateway-ip: the address `--add-host x:host-gateway` stands for (default: the default bridge's gateway). */
  hostGatewayIp?: string;
}

type Fields = Partial<DaemonConfig>;

/** A bad value: the key and what is wrong with it. */
class ValueError extends Error {}

const str = (v: unknown): string => {
  if (typeof v !== 'string') throw new ValueError('a string is expected');
  return v;
};
const nonEmpty = (v: unknown): string => {
  const s = str(v);
  if (s === '') throw new ValueError('must not be empty');
  return s;
};
const bool = (v: unknown): boolean => {
  if (typeof v !== 'boolean') throw new ValueError('true or false is expected');
  return v;
};
const strList = (v: unknown): string[] => {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new ValueError('a list of strings is expected');
  return v;
};
const int = (v: unknown): number => {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new ValueError('an integer is expected');
  return v;
};
/** Go's strconv.Atoi, for flag values. */
const atoi = (s: string): number => {
  if (!/^[+-]?\d+$/.test(s)) throw new ValueError(`strconv.ParseInt: parsing ${JSON.stringify(s)}: invalid syntax`);
  return Number(s);
};
/** Go's strconv.ParseBool, for `--flag=value`. */
const parseBoolFlag = (s: string): boolean => {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false;
  throw new ValueError(`strconv.ParseBool: parsing ${JSON.stringify(s)}: invalid syntax`);
};

function parseLevel(v: string): Level {
  const l = (v.toLowerCase() === 'warning' ? 'warn' : v.toLowerCase()) as Level;
  if (!(l in LEVELS) || l === 'silent') throw new ValueError(`unable to parse logging level: ${v}`);
  return l;
}

function shmSize(s: string): number {
  try {
    const n = ramInBytes(s);
    if (n <= 0) throw new ValueError(`invalid size: '${s}'`);
    return n;
  } catch (e) {
    throw new ValueError((e as Error).message);
  }
}

// distribution/reference's domain: dot-separated names or a bracketed IPv6 address, then an optional port.
const COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const HOST_PORT = new RegExp(`^(?:${COMPONENT}(?:\\.${COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?$`);

/** Go's net.ParseCIDR, masked as IPNet.String() prints it (IPv6 as given); undefined when not a CIDR. */
function parseCidr(s: string): string | undefined {
  const m = /^([^/]+)\/(0|[1-9][0-9]{0,2})$/.exec(s);
  const family = m ? isIP(m[1]!) : 0;
  if (!m || !family || Number(m[2]) > (family === 4 ? 32 : 128)) return undefined;
  if (family === 6) return s.toLowerCase();
  const bits = Number(m[2]);
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  const n = (m[1]!.split('.').reduce((a, o) => (a << 8) + Number(o), 0) & mask) >>> 0;
  return `${[24, 16, 8, 0].map((sh) => (n >>> sh) & 255).join('.')}/${bits}`;
}

/**
 * dockerd's loadInsecureRegistries: each entry a CIDR (masked, once) or a host[:port]; a leading http:// or
 * https:// is dropped with a warning, any other scheme refused (taken as is, "http://reg:5000" would be a CIDR
 * that matches nothing and the registry would silently stay secure).
 */
export function insecureRegistries(list: readonly string[], warn: (msg: string) => void = () => {}): string[] {
  const out: string[] = [];
  for (const entry of list) {
    let r = entry === 'index.docker.io' ? 'docker.io' : entry;
    if (r.startsWith('-') || r.endsWith('-')) throw new ValueError(`invalid index name (${r}). Cannot begin or end with a hyphen`);
    const scheme = /^https?:\/\//i.exec(r)?.[0].toLowerCase();
    if (scheme) {
      warn(`insecure registry ${r} should not contain '${scheme}' and '${scheme}' has been removed from the insecure registry config`);
      r = r.slice(scheme.length);
    } else if (r.includes('://')) throw new ValueError(`insecure registry ${r} should not contain '://'`);
    const cidr = parseCidr(r);
    if (cidr) {
      if (!out.includes(cidr)) out.push(cidr);
      continue;
    }
    // Go's net.SplitHostPort, else all of it is the host.
    const [, host = r, port = ''] = /^\[([^\]]*)\]:([^:]*)$/.exec(r) ?? /^([^:[\]]*):([^:]*)$/.exec(r) ?? [];
    const invalid = (what: string) => new ValueError(`insecure registry ${r} is not valid: ${what}`);
    if (!HOST_PORT.test(r) && !isIP(host)) throw invalid(`invalid host ${JSON.stringify(host)}`);
    if (port !== '' && !/^[+-]?\d+$/.test(port)) throw invalid(`strconv.Atoi: parsing ${JSON.stringify(port)}: invalid syntax`);
    if (port !== '' && !(Number(port) >= 0 && Number(port) <= 65535)) throw invalid(`invalid port ${JSON.stringify(port)}`);
    out.push(r);
  }
  return out;
}

/** `--default-ulimit nofile=1024:2048` (hard defaults to soft). */
function ulimitFlag(s: string): Ulimit {
  const eq = s.indexOf('=');
  if (eq <= 0) throw new ValueError(`invalid ulimit argument: ${s}`);
  const parts = s.slice(eq + 1).split(':');
  if (parts.length > 2) throw new ValueError(`too many limit value arguments - ${s.slice(eq + 1)}, can only have up to two, \`soft[:hard]\``);
  const soft = atoi(parts[0]!);
  return { Name: s.slice(0, eq), Soft: soft, Hard: parts.length === 2 ? atoi(parts[1]!) : soft };
}

/** daemon.json's `default-ulimits`: `{"nofile": {"Name": "nofile", "Soft": 1024, "Hard": 2048}}`. */
function ulimitsFile(v: unknown): Ulimit[] {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new ValueError('an object of ulimits by name is expected');
  return Object.entries(v as Record<string, unknown>).map(([name, u]) => {
    if (!u || typeof u !== 'object') throw new ValueError(`${name}: {"Name", "Soft", "Hard"} is expected`);
    const o = u as Record<string, unknown>;
    const soft = o.Soft ?? 0;
    const hard = o.Hard ?? 0;
    if (typeof soft !== 'number' || typeof hard !== 'number' || !Number.isInteger(soft) || !Number.isInteger(hard)) throw new ValueError(`${name}: Soft and Hard must be integers`);
    return { Name: typeof o.Name === 'string' && o.Name ? o.Name : name, Soft: soft, Hard: hard };
  });
}

/** `--default-address-pool base=10.10.0.0/16,size=24`. */
function poolFlag(s: string): AddressPool {
  const kv = Object.fromEntries(s.split(',').map((p) => {
    const i = p.indexOf('=');
    if (i <= 0) throw new ValueError(`invalid field ${JSON.stringify(p)} must be a key=value pair`);
    return [p.slice(0, i).toLowerCase(), p.slice(i + 1)];
  }));
  for (const k of Object.keys(kv)) if (k !== 'base' && k !== 'size') throw new ValueError(`unexpected key '${k}' in '${s}'`);
  return checkPool({ base: kv.base ?? '', size: kv.size === undefined ? NaN : atoi(kv.size) });
}

function poolsFile(v: unknown): AddressPool[] {
  if (!Array.isArray(v)) throw new ValueError('a list of {"base": CIDR, "size": prefix length} is expected');
  return v.map((p) => {
    if (!p || typeof p !== 'object') throw new ValueError('a list of {"base": CIDR, "size": prefix length} is expected');
    const o = p as Record<string, unknown>;
    if (typeof o.base !== 'string' || typeof o.size !== 'number') throw new ValueError('each pool needs "base" (a CIDR) and "size" (a prefix length)');
    return checkPool({ base: o.base, size: o.size });
  });
}

function checkPool(p: AddressPool): AddressPool {
  const m = /^([^/]+)\/(\d+)$/.exec(p.base);
  const family = m ? isIP(m[1]!) : 0;
  if (!m || !family) throw new ValueError(`invalid base pool ${JSON.stringify(p.base)}: a CIDR such as 10.10.0.0/16 is expected`);
  const bits = Number(m[2]);
  const max = family === 4 ? 32 : 128;
  if (bits > max) throw new ValueError(`invalid base pool ${JSON.stringify(p.base)}: prefix length above ${max}`);
  if (!Number.isInteger(p.size) || p.size < bits || p.size > max) {
    throw new ValueError(`invalid pool size ${p.size} for ${p.base}: it must be between the base's prefix length (${bits}) and ${max}`);
  }
  return p;
}

/** host:port, as dockerd's metrics listener takes it. */
/** An IP address, with pflag's IP flag text when it is not one. */
function ipAddress(v: unknown): string {
  const s = str(v);
  if (!isIP(s)) throw new ValueError(`invalid string being converted to IP address: ${s}`);
  return s;
}

function metricsAddr(v: unknown): string {
  const s = str(v);
  if (s === '') return s;
  const m = /^(\[[^\]]+\]|[^:]*):(\d+)$/.exec(s);
  if (!m || Number(m[2]) > 65535) throw new ValueError(`${JSON.stringify(s)}: host:port is expected (e.g. 127.0.0.1:9323)`);
  return s;
}

/** `--add-runtime name=path`. */
function runtimeFlag(s: string, prev: unknown): Record<string, RuntimeConfig> {
  const i = s.indexOf('=');
  if (i <= 0 || i === s.length - 1) throw new ValueError(`invalid runtime argument: ${s}`);
  const out = { ...((prev as Record<string, RuntimeConfig> | undefined) ?? {}) };
  const name = s.slice(0, i);
  if (out[name]) throw new ValueError(`runtime name '${name}' is already registered`);
  out[name] = { path: s.slice(i + 1) };
  return out;
}

function runtimesFile(v: unknown): Record<string, RuntimeConfig> {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new ValueError('an object of runtimes by name is expected');
  const out: Record<string, RuntimeConfig> = {};
  for (const [name, r] of Object.entries(v as Record<string, unknown>)) {
    if (!r || typeof r !== 'object' || Array.isArray(r)) throw new ValueError(`runtime ${name}: {"path": ..., "runtimeArgs": [...]} is expected`);
    const o = r as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      if (k === 'runtimeType' || k === 'options') throw new ValueError(`runtime ${name}: ${k} (a containerd shim) is not supported by Berth; give the path of a runc-compatible binary`);
      if (k !== 'path' && k !== 'runtimeArgs') throw new ValueError(`runtime ${name}: unknown field ${JSON.stringify(k)}`);
    }
    if (o.path === undefined || o.path === '') throw new ValueError(`runtime ${name}: either a runtimeType or a path must be configured`);
    if (typeof o.path !== 'string') throw new ValueError(`runtime ${name}: path must be a string`);
    if (o.runtimeArgs !== undefined && (!Array.isArray(o.runtimeArgs) || !o.runtimeArgs.every((x) => typeof x === 'string'))) {
      throw new ValueError(`runtime ${name}: runtimeArgs must be a list of strings`);
    }
    out[name] = { path: o.path, ...(o.runtimeArgs && (o.runtimeArgs as string[]).length ? { runtimeArgs: o.runtimeArgs as string[] } : {}) };
  }
  return out;
}

function logOptFlag(s: string, prev: unknown): Record<string, string> {
  const i = s.indexOf('=');
  if (i <= 0) throw new ValueError(`invalid key value pair format in ${JSON.stringify(s)}`);
  return { ...((prev as Record<string, string> | undefined) ?? {}), [s.slice(0, i)]: s.slice(i + 1) };
}

function logOptsFile(v: unknown): Record<string, string> {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new ValueError('an object of string values is expected');
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) if (typeof x !== 'string') throw new ValueError(`${k}: a string is expected (e.g. "10m")`);
  return { ...(v as Record<string, string>) };
}

/** One setting: its daemon.json key, its flags, and how each form is read. */
interface Option {
  key: string;
  /** Where the value goes; none for a key that is only checked. */
  field?: keyof DaemonConfig;
  flags: string[];
  /** A boolean flag takes no argument (`--debug`, or `--debug=false`). */
  bool?: boolean;
  file(v: unknown): unknown;
  /** `prev`: the value so far (repeated list and map flags accumulate). */
  flag?(v: string, prev: unknown): unknown;
}

const append = (v: string, prev: unknown) => [...((prev as string[] | undefined) ?? []), v];

const OPTIONS: Option[] = [
  { key: 'data-root', field: 'dataRoot', flags: ['--data-root'], file: nonEmpty },
  { key: 'exec-root', field: 'execRoot', flags: ['--exec-root'], file: nonEmpty },
  { key: 'hosts', field: 'hosts', flags: ['--host', '-H'], file: strList, flag: append },
  { key: 'pidfile', field: 'pidfile', flags: ['--pidfile', '-p'], file: nonEmpty },
  { key: 'debug', field: 'debug', flags: ['--debug', '-D'], bool: true, file: bool },
  { key: 'log-level', field: 'logLevel', flags: ['--log-level', '-l'], file: (v) => parseLevel(str(v)), flag: parseLevel },
  { key: 'tls', field: 'tls', flags: ['--tls'], bool: true, file: bool },
  { key: 'tlsverify', field: 'tlsVerify', flags: ['--tlsverify'], bool: true, file: bool },
  { key: 'tlscacert', field: 'tlsCaCert', flags: ['--tlscacert'], file: nonEmpty },
  { key: 'tlscert', field: 'tlsCert', flags: ['--tlscert'], file: nonEmpty },
  { key: 'tlskey', field: 'tlsKey', flags: ['--tlskey'], file: nonEmpty },
  { key: 'insecure-registries', field: 'insecureRegistries', flags: ['--insecure-registry'], file: strList, flag: append },
  { key: 'registry-mirrors', field: 'registryMirrors', flags: ['--registry-mirror'], file: strList, flag: append },
  { key: 'cgroup-parent', field: 'cgroupParent', flags: ['--cgroup-parent'], file: nonEmpty },
  { key: 'log-driver', field: 'logDriver', flags: ['--log-driver'], file: nonEmpty },
  { key: 'log-opts', field: 'logOpts', flags: ['--log-opt'], file: logOptsFile, flag: logOptFlag },
  { key: 'default-ulimits', field: 'defaultUlimits', flags: ['--default-ulimit'], file: ulimitsFile, flag: (v, prev) => {
    const u = ulimitFlag(v);
    return [...((prev as Ulimit[] | undefined) ?? []).filter((x) => x.Name !== u.Name), u];
  } },
  { key: 'default-shm-size', field: 'defaultShmSize', flags: ['--default-shm-size'], file: (v) => shmSize(str(v)), flag: shmSize },
  { key: 'max-concurrent-downloads', field: 'maxConcurrentDownloads', flags: ['--max-concurrent-downloads'], file: int, flag: atoi },
  { key: 'default-address-pools', field: 'defaultAddressPools', flags: ['--default-address-pool'], file: poolsFile, flag: (v, prev) => [...((prev as AddressPool[] | undefined) ?? []), poolFlag(v)] },
  { key: 'metrics-addr', field: 'metricsAddr', flags: ['--metrics-addr'], file: metricsAddr, flag: metricsAddr },
  { key: 'default-runtime', field: 'defaultRuntime', flags: ['--default-runtime'], file: nonEmpty },
  { key: 'runtimes', field: 'runtimes', flags: ['--add-runtime'], file: runtimesFile, flag: runtimeFlag },
  { key: 'bridge', field: 'bridge', flags: ['--bridge', '-b'], file: nonEmpty },
  { key: 'bip', field: 'bip', flags: ['--bip'], file: nonEmpty },
  { key: 'ip-masq', field: 'ipMasq', flags: ['--ip-masq'], bool: true, file: bool },
  { key: 'dns-forward', field: 'dnsForward', flags: ['--dns-forward'], bool: true, file: bool },
  { key: 'host-gateway-ip', field: 'hostGatewayIp', flags: ['--host-gateway-ip'], file: ipAddress, flag: ipAddress },
  { key: 'shutdown-containers', field: 'shutdownContainers', flags: ['--shutdown-containers'], bool: true, file: bool },
  // Berth always restores containers; accepted so a Docker daemon.json with it set carries over.
  { key: 'live-restore', flags: ['--live-restore'], bool: true, file: liveRestore, flag: (v) => liveRestore(parseBoolFlag(v)) },
];

function liveRestore(v: unknown): undefined {
  if (bool(v) === false) throw new ValueError('Berth always keeps containers running across a daemon restart; use shutdown-containers to stop them with the daemon');
  return undefined;
}

const BY_FLAG = new Map(OPTIONS.flatMap((o) => o.flags.map((f) => [f, o] as const)));
const BY_KEY = new Map(OPTIONS.map((o) => [o.key, o]));

export const USAGE = `Usage: berthd [OPTIONS]

A self-sufficient runtime for containers (serves the Docker Engine API).

Commands:
  check       Check that the state on disk matches what runs on the host (berthd check --help)

Options:
      --add-runtime runtime                   Register an additional OCI compatible runtime (name=path)
  -b, --bridge string                         Linux bridge of the default "bridge" network (default "berth0")
      --bip string                            Specify the default bridge network's IP (CIDR, e.g. 172.17.0.1/16)
      --cgroup-parent string                  Set parent cgroup for all containers (default "berth", under berthd's own cgroup)
      --config-file string                    Daemon configuration file (default "${DEFAULT_CONFIG_FILE}")
      --data-root string                      Root directory of persistent Berth state (default "${DEFAULT_DATA_ROOT}")
  -D, --debug                                 Enable debug mode
      --dns-forward                           Let the embedded DNS forward unknown names to the host's resolvers (default true;
                                              a container's own --dns servers are asked either way)
      --default-address-pool pool-options     Default address pools for node specific local networks
      --default-runtime string                Default OCI runtime for containers (default "${BERTH_RUNTIME}")
      --default-shm-size bytes                Default shm size for containers (default 64MiB)
      --default-ulimit ulimit                 Default ulimits for containers (default [])
      --exec-root string                      Root directory for execution state files (default "${DEFAULT_EXEC_ROOT}")
      --host-gateway-ip ip                    IP address that the special 'host-gateway' string in --add-host resolves to
                                              (default: the default bridge's gateway)
  -H, --host list                             Daemon socket(s) to connect to (default ${DEFAULT_HOST})
      --insecure-registry list                Enable insecure registry communication
      --ip-masq                               Enable IP masquerading for bridge networks (default true)
      --log-driver string                     Default driver for container logs (default "json-file")
  -l, --log-level string                      Set the logging level ("debug"|"info"|"warn"|"error"|"fatal") (default "info")
      --live-restore                          Keep containers running across a daemon restart (always on in Berth)
      --log-opt map                           Default log driver options for containers (default map[])
      --max-concurrent-downloads int          Set the max concurrent downloads (default ${DEFAULT_MAX_CONCURRENT_DOWNLOADS})
      --metrics-addr string                   Set default address and port to serve the metrics api on
  -p, --pidfile string                        Path to use for daemon PID file (default "<exec-root>/berthd.pid")
      --registry-mirror list                  Preferred registry mirror
      --shutdown-containers                   Stop all containers when the daemon stops (default: they keep running)
      --tls                                   Use TLS; implied by --tlsverify
      --tlscacert string                      Trust certs signed only by this CA
      --tlscert string                        Path to TLS certificate file
      --tlskey string                         Path to TLS key file
      --tlsverify                             Use TLS and verify the remote
      --validate                              Validate daemon configuration and exit
  -v, --version                               Print version information and quit
`;

export interface ParsedArgs {
  /** Settings given as flags, by field. */
  flags: Fields;
  /** The daemon.json key of each setting given as a flag (for the overrides berthd logs), with the flag's value as dockerd prints it. */
  given: Map<string, string>;
  configFile?: string;
  help: boolean;
  version: boolean;
  validate: boolean;
}

/** Go's %v of a setting's value, as dockerd's conflict message prints it (and berthd's override notes). */
function goValue(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(goValue).join(' ')}]`;
  if (v && typeof v === 'object') return `map[${Object.keys(v).sort().map((k) => `${k}:${goValue((v as Record<string, unknown>)[k])}`).join(' ')}]`;
  return String(v);
}

/** Parse dockerd-style flags (`--x=v`, `--x v`, `-H v`, `-Hv`, repeatable lists and maps). */
export function parseArgs(argv: readonly string[]): ParsedArgs {
  const out: ParsedArgs = { flags: {}, given: new Map(), help: false, version: false, validate: false };
  const f = out.flags as Record<string, unknown>;
  const own: Record<string, (v: boolean) => void> = {
    '--help': (v) => { out.help = v; },
    '-h': (v) => { out.help = v; },
    '--version': (v) => { out.version = v; },
    '-v': (v) => { out.version = v; },
    '--validate': (v) => { out.validate = v; },
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    let name = eq > 0 ? arg.slice(0, eq) : arg;
    let inline = eq > 0 ? arg.slice(eq + 1) : undefined;
    // -Hunix:///x: a short flag with its value attached.
    if (!arg.startsWith('--') && arg.length > 2 && BY_FLAG.has(arg.slice(0, 2)) && !BY_FLAG.get(arg.slice(0, 2))!.bool) {
      name = arg.slice(0, 2);
      inline = arg.slice(2);
    }
    const invalid = (v: string, e: unknown) => errInvalid(`invalid argument ${JSON.stringify(v)} for "${name}" flag: ${(e as Error).message}`);
    if (name in own) {
      try {
        own[name]!(inline === undefined ? true : parseBoolFlag(inline));
      } catch (e) {
        throw invalid(inline!, e);
      }
      continue;
    }
    if (name === '--config-file') {
      const v = inline ?? argv[++i];
      if (v === undefined) throw errInvalid(`flag needs an argument: ${name}`);
      out.configFile = v;
      continue;
    }
    const o = BY_FLAG.get(name);
    if (!o) throw errInvalid(`unknown flag: ${arg}`);
    let value: unknown;
    let shown: string;
    if (o.bool) {
      try {
        value = o.flag ? o.flag(inline ?? 'true', o.field && f[o.field]) : inline === undefined ? true : parseBoolFlag(inline);
      } catch (e) {
        throw invalid(inline ?? 'true', e);
      }
      shown = String(value ?? true);
    } else {
      const v = inline ?? argv[++i];
      if (v === undefined) throw errInvalid(`flag needs an argument: ${name}`);
      try {
        value = o.flag ? o.flag(v, o.field && f[o.field]) : v;
      } catch (e) {
        throw invalid(v, e);
      }
      shown = goValue(value);
    }
    if (value !== undefined && o.field) f[o.field] = value;
    out.given.set(o.key, shown);
  }
  return out;
}

/** Read daemon.json: only the keys Berth knows; any other key, or a bad value, refuses to start, naming it. */
export function parseConfigFile(text: string, path: string): { fields: Fields; keys: Map<string, unknown> } {
  const fail = (msg: string, cause?: unknown) => errInvalid(`unable to configure the Berth daemon with file ${path}: ${msg}`, cause);
  // dockerd takes an empty file (or only whitespace, after a BOM) as no settings.
  const body = text.replace(/^\uFEFF/, '').trim();
  if (body === '') return { fields: {}, keys: new Map() };
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch (e) {
    throw fail(`invalid JSON: ${(e as Error).message}`, e);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw fail('invalid JSON: not a JSON object');
  const entries = Object.entries(raw as Record<string, unknown>);
  const unknown = entries.map(([k]) => k).filter((k) => !BY_KEY.has(k));
  if (unknown.length) throw fail(`the following directives don't match any configuration option: ${unknown.join(', ')}`);
  const fields: Record<string, unknown> = {};
  for (const [k, v] of entries) {
    const o = BY_KEY.get(k)!;
    let value: unknown;
    try {
      value = o.file(v);
    } catch (e) {
      if (!(e instanceof ValueError)) throw e;
      throw fail(`${k}: invalid value ${JSON.stringify(v)}: ${e.message}`);
    }
    if (value !== undefined && o.field) fields[o.field] = value;
  }
  return { fields: fields as Fields, keys: new Map(entries) };
}

/** A daemon.json key that a flag overrode, with both values as dockerd prints them. */
export interface Override {
  key: string;
  flag: string;
  file: string;
}

type FileSettings = { fields: Fields; keys: Map<string, unknown> };

/** The file's keys that flags override; for `runtimes`, the names `--add-runtime` gives too (`runtimes.NAME`). */
export function overriddenKeys(args: Pick<ParsedArgs, 'flags' | 'given'>, file: FileSettings = { fields: {}, keys: new Map() }): Override[] {
  const out = [...args.given.keys()].filter((k) => file.keys.has(k) && k !== 'runtimes')
    .map((k) => ({ key: k, flag: args.given.get(k)!, file: goValue(file.keys.get(k)) }));
  for (const [name, r] of Object.entries(args.flags.runtimes ?? {})) {
    const f = file.fields.runtimes?.[name];
    if (f) out.push({ key: `runtimes.${name}`, flag: r.path, file: f.path });
  }
  return out;
}

/**
 * Flags and file together, with the defaults; then dockerd's checks of the whole. A flag replaces the
 * file's value of its key (lists and maps too); `runtimes` are merged by name, a flag's entry winning.
 * `warn` hears what dockerd accepts with a warning.
 */
export function mergeConfig(args: Pick<ParsedArgs, 'flags' | 'given'>, file: FileSettings = { fields: {}, keys: new Map() }, warn?: (msg: string) => void): DaemonConfig {
  const runtimes = { ...(file.fields.runtimes ?? {}), ...(args.flags.runtimes ?? {}) };
  const m: Fields = { ...file.fields, ...args.flags, runtimes };
  const execRoot = resolve(m.execRoot ?? DEFAULT_EXEC_ROOT);
  const debug = m.debug ?? false;
  const tlsVerify = m.tlsVerify ?? false;
  const config: DaemonConfig = {
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
    insecureRegistries: keyed('insecure-registries', () => insecureRegistries(m.insecureRegistries ?? [], warn)),
    registryMirrors: m.registryMirrors ?? [],
    cgroupParent: m.cgroupParent,
    logDriver: m.logDriver ?? 'json-file',
    logOpts: m.logOpts ?? {},
    defaultUlimits: m.defaultUlimits ?? [],
    defaultShmSize: m.defaultShmSize ?? DEFAULT_SHM_SIZE,
    maxConcurrentDownloads: m.maxConcurrentDownloads ?? DEFAULT_MAX_CONCURRENT_DOWNLOADS,
    defaultAddressPools: m.defaultAddressPools ?? [],
    metricsAddr: m.metricsAddr ?? '',
    defaultRuntime: m.defaultRuntime ?? BERTH_RUNTIME,
    runtimes,
    shutdownContainers: m.shutdownContainers ?? false,
    bridge: m.bridge,
    bip: m.bip,
    ipMasq: m.ipMasq ?? true,
    dnsForward: m.dnsForward ?? true,
    ...(m.hostGatewayIp ? { hostGatewayIp: m.hostGatewayIp } : {}),
  };
  validateConfig(config);
  return config;
}

/** `f()`, its ValueError named by `key`. */
function keyed<T>(key: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof ValueError) throw errInvalid(`${key}: ${e.message}`);
    throw e;
  }
}

/** dockerd's Validate, for the settings Berth has; each message names the key. */
export function validateConfig(c: DaemonConfig): void {
  const bad = (key: string, msg: string) => errInvalid(`${key}: ${msg}`);
  try {
    checkStateDirLength(c.execRoot, 'exec root');
  } catch (e) {
    throw bad('exec-root', (e as Error).message);
  }
  for (const h of c.hosts) {
    let kind: string;
    try {
      kind = parseHost(h).kind;
    } catch (e) {
      throw bad('hosts', (e as Error).message);
    }
    // Whoever reaches the API has root on this host: on tcp only clients with a certificate from the CA get in.
    if (kind === 'tcp' && !c.tlsVerify) {
      throw bad('hosts', `${h}: tcp is served only with --tlsverify (client certificates checked against --tlscacert)${c.tls ? '; --tls alone would let in any client' : ''}`);
    }
  }
  for (const mirror of c.registryMirrors) {
    let u: URL | undefined;
    try { u = new URL(mirror); } catch { u = undefined; }
    if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:')) throw bad('registry-mirrors', `invalid mirror: ${JSON.stringify(mirror)} is not a valid URI: http:// or https:// is expected`);
    if (u.pathname !== '/' && u.pathname !== '') throw bad('registry-mirrors', `invalid mirror: path, query, or fragment at end of the URI ${JSON.stringify(mirror)}`);
  }
  if (c.maxConcurrentDownloads < 0) throw bad('max-concurrent-downloads', `invalid max concurrent downloads: ${c.maxConcurrentDownloads}`);
  if (!LOG_DRIVERS.includes(c.logDriver)) throw bad('log-driver', `logger: no log driver named '${c.logDriver}' is registered (Berth has ${LOG_DRIVERS.join(', ')})`);
  try {
    logSettings(c.logDriver, c.logOpts);
  } catch (e) {
    throw bad('log-opts', (e as Error).message);
  }
  try {
    buildRlimits(c.defaultUlimits);
  } catch (e) {
    throw bad('default-ulimits', (e as Error).message);
  }
  if (c.runtimes[BERTH_RUNTIME]) throw bad('runtimes', `runtime name '${BERTH_RUNTIME}' is reserved`);
  for (const [name, r] of Object.entries(c.runtimes)) {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) throw bad('runtimes', `invalid runtime name ${JSON.stringify(name)}`);
    if (!r.path) throw bad('runtimes', `runtime ${name}: either a runtimeType or a path must be configured`);
  }
  if (c.defaultRuntime !== BERTH_RUNTIME && !c.runtimes[c.defaultRuntime]) throw bad('default-runtime', `specified default runtime '${c.defaultRuntime}' does not exist`);
}

/** Flags + config file -> the config (the file is optional only when it is the default one), and dockerd's warnings about it. */
export function loadConfig(argv: readonly string[]): { config: DaemonConfig; parsed: ParsedArgs; overrides: Override[]; warnings: string[] } {
  const parsed = parseArgs(argv);
  const path = parsed.configFile ?? DEFAULT_CONFIG_FILE;
  let file: ReturnType<typeof parseConfigFile> | undefined;
  if (parsed.configFile !== undefined || existsSync(path)) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      throw errInvalid(`unable to configure the Berth daemon with file ${path}: ${(e as Error).message}`, e);
    }
    file = parseConfigFile(text, path);
  }
  const warnings: string[] = [];
  return { config: mergeConfig(parsed, file, (w) => warnings.push(w)), parsed, overrides: overriddenKeys(parsed, file), warnings };
}
