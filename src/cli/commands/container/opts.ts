// The flags of `run`/`create` and the POST /containers/create body they stand for, shaped as the docker CLI sends it.
import { readFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import type { ContainerCreateRequest, DeviceMapping, HealthConfig, MountSpec, PortBinding, Ulimit } from '../../../engine/types.js';
import { FlagSet, UsageError, parseGoInt, type FlagValues } from '../../flags.js';
import { StatusError } from '../../command.js';
import { parseGoDuration } from '../../../common/units.js';
import { buildEndpoints, isValidMac, parseNetworkFlag, validateExtraHost, validateLink } from './network-opts.js';

/** Thrown for a run/create option the docker CLI rejects after flag parsing (`docker: ...`, exit 125). */
export class OptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OptionError';
  }
}

const SIZE_SUFFIX: Record<string, number> = { '': 1, b: 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40, p: 2 ** 50 };

/** go-units RAMInBytes with its error texts (`invalid suffix: 'x'`, `invalid size: 'x'`). */
export function parseRamBytes(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s?(.*)$/.exec(s);
  if (!m) throw new Error(`invalid size: '${s}'`);
  let suffix = m[2]!.toLowerCase();
  if (suffix.length > 1 && suffix.endsWith('b')) suffix = suffix.slice(0, -1);
  if (suffix.length > 1 && suffix.endsWith('i')) suffix = suffix.slice(0, -1);
  const mul = SIZE_SUFFIX[suffix];
  if (mul === undefined) throw new Error(`invalid suffix: '${m[2]}'`);
  return Math.trunc(Number(m[1]) * mul);
}

/** docker's MemSwapBytes: `-1` (unlimited) or a size. */
export function parseSwapBytes(s: string): number {
  return s === '-1' ? -1 : parseRamBytes(s);
}

/** docker's NanoCPUs: `1.5` → 1500000000; more than 9 decimals is "value is too precise". */
export function parseNanoCpus(s: string): number {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(s);
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) throw new Error(`failed to parse ${s} as a rational number`);
  const frac = (m[3] ?? '').replace(/0+$/, '');
  if (frac.length > 9) throw new Error('value is too precise');
  const n = Number(m[2] || '0') * 1e9 + Number(frac.padEnd(9, '0') || '0');
  return m[1] === '-' ? -n : n;
}

/** `--ulimit nofile=1024:2048` (hard defaults to soft). */
export function parseUlimit(s: string): Ulimit {
  const eq = s.indexOf('=');
  if (eq < 0) throw new Error(`invalid ulimit argument: ${s}`);
  const name = s.slice(0, eq);
  const parts = s.slice(eq + 1).split(':');
  if (parts.length > 2) throw new Error(`too many limit value arguments - ${s.slice(eq + 1)}, can only have up to two, \`soft[:hard]\``);
  const soft = parseGoInt(parts[0]!);
  const hard = parts.length === 2 ? parseGoInt(parts[1]!) : soft;
  if (soft > hard) throw new Error(`ulimit soft limit must be less than or equal to hard limit: ${soft} > ${hard}`);
  return { Name: name, Hard: hard, Soft: soft };
}

/** `--mount type=bind,src=/a,dst=/b,readonly` (docker's csv mount syntax). */
export function parseMount(s: string): MountSpec {
  const m: MountSpec & Record<string, unknown> = { Type: 'volume', Target: '' } as MountSpec & Record<string, unknown>;
  let type = 'volume';
  const bind: NonNullable<MountSpec['BindOptions']> = {};
  const vol: NonNullable<MountSpec['VolumeOptions']> = {};
  const tmpfs: NonNullable<MountSpec['TmpfsOptions']> = {};
  const fields: Record<string, string | undefined> = {};
  for (const field of s.split(',')) {
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).trim().toLowerCase();
    const val = eq < 0 ? undefined : field.slice(eq + 1);
    if (val === undefined && key !== 'readonly' && key !== 'ro' && key !== 'volume-nocopy' && key !== 'bind-nonrecursive') {
      throw new Error(`invalid field '${field}' must be a key=value pair`);
    }
    fields[key] = val;
    const truthy = () => {
      if (val === undefined) return true;
      if (['1', 'true'].includes(val.toLowerCase())) return true;
      if (['0', 'false'].includes(val.toLowerCase())) return false;
      throw new Error(`invalid value for ${key}: ${val}`);
    };
    switch (key) {
      case 'type':
        type = val!;
        break;
      case 'source': case 'src':
        m.Source = val;
        break;
      case 'target': case 'dst': case 'destination':
        m.Target = val!;
        break;
      case 'readonly': case 'ro':
        m.ReadOnly = truthy();
        break;
      case 'consistency':
        m['Consistency'] = val;
        break;
      case 'bind-propagation':
        bind.Propagation = val;
        break;
      case 'bind-nonrecursive':
        bind.NonRecursive = truthy();
        break;
      case 'volume-nocopy':
        vol.NoCopy = truthy();
        break;
      case 'volume-label': {
        const [k, v] = splitKV(val!);
        (vol.Labels ??= {})[k] = v ?? '';
        break;
      }
      case 'volume-driver':
        (vol.DriverConfig ??= {}).Name = val;
        break;
      case 'volume-opt': {
        const [k, v] = splitKV(val!);
        ((vol.DriverConfig ??= {}).Options ??= {})[k] = v ?? '';
        break;
      }
      case 'tmpfs-size':
        tmpfs.SizeBytes = parseRamBytes(val!);
        break;
      case 'tmpfs-mode':
        tmpfs.Mode = parseInt(val!, 8);
        break;
      default:
        throw new Error(`unexpected key '${key}' in '${field}'`);
    }
  }
  if (!['bind', 'volume', 'tmpfs', 'npipe', 'image', 'cluster'].includes(type)) throw new Error(`invalid mount type '${type}'`);
  m.Type = type as MountSpec['Type'];
  if (!m.Target) throw new Error('target is required');
  if (Object.keys(bind).length) {
    if (type !== 'bind') throw new Error(`cannot mix 'bind-*' options with mount type '${type}'`);
    m.BindOptions = bind;
  }
  if (Object.keys(vol).length) {
    vol.DriverConfig ??= {};
    if (type !== 'volume') throw new Error(`cannot mix 'volume-*' options with mount type '${type}'`);
    m.VolumeOptions = vol;
  }
  if (Object.keys(tmpfs).length) {
    if (type !== 'tmpfs') throw new Error(`cannot mix 'tmpfs-*' options with mount type '${type}'`);
    m.TmpfsOptions = tmpfs;
  }
  // docker's field order: Type, Source, Target, ReadOnly, ...
  const ordered: Record<string, unknown> = { Type: m.Type };
  if (m.Source !== undefined) ordered['Source'] = m.Source;
  ordered['Target'] = m.Target;
  for (const [k, v] of Object.entries(m)) if (!(k in ordered)) ordered[k] = v;
  return ordered as unknown as MountSpec;
}

function splitKV(s: string): [string, string | undefined] {
  const eq = s.indexOf('=');
  return eq < 0 ? [s, undefined] : [s.slice(0, eq), s.slice(eq + 1)];
}

/** `--device /dev/a[:/dev/b][:rwm]`. */
export function parseDevice(s: string): DeviceMapping {
  const parts = s.split(':');
  let perms = 'rwm';
  let src = parts[0]!;
  let dst = src;
  const isPerms = (p: string) => /^[rwm]{1,3}$/.test(p);
  if (parts.length === 3) {
    dst = parts[1]!;
    if (!isPerms(parts[2]!)) throw new Error(`bad mode specified: ${parts[2]}`);
    perms = parts[2]!;
  } else if (parts.length === 2) {
    if (isPerms(parts[1]!)) perms = parts[1]!;
    else dst = parts[1]!;
  } else if (parts.length !== 1) {
    throw new Error(`invalid device specification: ${s}`);
  }
  if (!src) throw new Error(`invalid device specification: ${s}`);
  if (!dst.startsWith('/')) dst = src;
  return { PathOnHost: src, PathInContainer: dst, CgroupPermissions: perms };
}

/** One `-p` spec expanded to (container port/proto, binding) pairs, as docker's nat.ParsePortSpec does. */
export function parsePortSpec(spec: string): Array<{ port: string; binding: PortBinding }> {
  let rawIP = '';
  let hostPort = '';
  let containerPort: string;
  let proto = 'tcp';
  let rest = spec;
  const slash = rest.lastIndexOf('/');
  if (slash >= 0 && !rest.slice(slash).includes(':')) {
    proto = rest.slice(slash + 1).toLowerCase();
    rest = rest.slice(0, slash);
  }
  // An IPv6 host ip is bracketed: [::1]:53:53.
  if (rest.startsWith('[')) {
    const end = rest.indexOf(']');
    rawIP = rest.slice(1, end);
    rest = rest.slice(end + 2);
    const parts = rest.split(':');
    if (parts.length === 1) containerPort = parts[0]!;
    else [hostPort, containerPort] = [parts[0]!, parts[1]!];
  } else {
    const parts = rest.split(':');
    if (parts.length === 1) containerPort = parts[0]!;
    else if (parts.length === 2) [hostPort, containerPort] = [parts[0]!, parts[1]!];
    else if (parts.length === 3) [rawIP, hostPort, containerPort] = [parts[0]!, parts[1]!, parts[2]!];
    else {
      // An unbracketed IPv6 address: everything before the last two fields.
      containerPort = parts.pop()!;
      hostPort = parts.pop()!;
      rawIP = parts.join(':');
    }
  }
  if (rawIP && !/^[0-9.]+$|:/.test(rawIP)) throw new OptionError(`invalid IP address: ${rawIP}`);
  if (!containerPort) throw new OptionError(`no port specified: ${spec}<empty>`);
  const range = (s: string, what: string): [number, number] => {
    const m = /^(\d+)(?:-(\d+))?$/.exec(s);
    const a = m ? Number(m[1]) : NaN;
    const b = m ? Number(m[2] ?? m[1]) : NaN;
    if (!m || a > 65535 || b > 65535 || a > b) throw new OptionError(`invalid ${what}: ${s}`);
    return [a, b];
  };
  const [cs, ce] = range(containerPort, 'containerPort');
  let hs = 0, he = 0;
  if (hostPort) [hs, he] = range(hostPort, 'hostPort');
  if (!['tcp', 'udp', 'sctp'].includes(proto)) throw new OptionError(`invalid proto: ${proto}`);
  const n = ce - cs + 1;
  if (hostPort && he - hs + 1 !== n && n !== 1) throw new OptionError(`invalid ranges specified for container and host Ports: ${containerPort} and ${hostPort}`);
  const out: Array<{ port: string; binding: PortBinding }> = [];
  for (let i = 0; i < n; i++) {
    let hp = '';
    if (hostPort) hp = n === 1 && he !== hs ? `${hs}-${he}` : String(hs + i);
    out.push({ port: `${cs + i}/${proto}`, binding: { HostIp: rawIP, HostPort: hp } });
  }
  return out;
}

/** docker's env-file format: `KEY=value` lines; `#` comments and blank lines skipped; a bare `KEY` takes the caller's value, if set. */
export function parseEnvFile(text: string, env: Record<string, string | undefined>, file: string): string[] {
  const out: string[] = [];
  let lineNo = 0;
  for (const raw of text.split('\n')) {
    lineNo++;
    let line = raw.replace(/\r$/, '').replace(/^[ \t]+/, '');
    if (lineNo === 1) line = line.replace(/^\uFEFF/, '');
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    const key = eq < 0 ? line : line.slice(0, eq);
    if (key === '') throw new OptionError(`no variable name on line '${line}'`);
    if (/\s/.test(key)) throw new OptionError(`variable '${key}' contains whitespaces`);
    if (eq >= 0) out.push(line);
    else if (env[key] !== undefined) out.push(`${key}=${env[key]}`);
  }
  void file;
  return out;
}

/** docker's ValidateEnv for `-e`: a bare `KEY` takes the caller's value when set, else stays bare. */
export function expandEnv(value: string, env: Record<string, string | undefined>): string {
  if (value.includes('=')) return value;
  const v = env[value];
  return v === undefined ? value : `${value}=${v}`;
}

/**
 * docker 28 merges env entries by name (the last value wins); its order comes from a Go map, so
 * it is not stable. Berth keeps each name where it first appeared.
 */
export function dedupEnv(list: string[]): void {
  const pos = new Map<string, number>();
  const out: string[] = [];
  for (const e of list) {
    const eq = e.indexOf('=');
    const k = eq < 0 ? e : e.slice(0, eq);
    const at = pos.get(k);
    if (at === undefined) {
      pos.set(k, out.length);
      out.push(e);
    } else out[at] = e;
  }
  list.splice(0, list.length, ...out);
}

/** A pflag duration flag's value in ns, with Go's time.ParseDuration error texts. */
function parseDurationNs(s: string): number {
  const ms = parseGoDuration(s);
  if (ms !== undefined) return Math.round(ms * 1e6);
  const unit = /^[-+]?[\d.]+([^\d.]*)/.exec(s)?.[1];
  if (unit === '') throw new Error(`time: missing unit in duration ${JSON.stringify(s)}`);
  if (unit) throw new Error(`time: unknown unit ${JSON.stringify(unit)} in duration ${JSON.stringify(s)}`);
  throw new Error(`time: invalid duration ${JSON.stringify(s)}`);
}

/** CAP_ prefix and upper case, except ALL (docker's NormalizeCapabilities). */
export function normalizeCap(c: string): string {
  const u = c.toUpperCase();
  return u === 'ALL' || u.startsWith('CAP_') ? u : `CAP_${u}`;
}

const ATTACH_STREAMS = ['stdin', 'stdout', 'stderr'];

/** Adds the flags `run` and `create` share, with docker's names, types and help texts. */
export function addContainerFlags(fs: FlagSet): void {
  const bytes = (name: string, short: string | undefined, usage: string, parse: (s: string) => number = parseRamBytes) =>
    fs.add({ name, short, kind: 'value', typeName: 'bytes', usage, parse });
  fs.list('add-host', undefined, 'Add a custom host-to-IP mapping (host:ip)', 'list', validateExtraHost);
  fs.add({ name: 'annotation', kind: 'list', typeName: 'map', usage: 'Add an annotation to the container (passed through to the OCI runtime)', defText: 'map[]' });
  fs.list('attach', 'a', 'Attach to STDIN, STDOUT or STDERR', 'list', (s) => {
    if (!ATTACH_STREAMS.includes(s.toLowerCase())) throw new Error(`valid streams are STDIN, STDOUT and STDERR`);
    return s.toLowerCase();
  });
  fs.add({ name: 'blkio-weight', kind: 'value', typeName: 'uint16', usage: 'Block IO (relative weight), between 10 and 1000, or 0 to disable', defText: '0', parse: parseGoInt });
  fs.list('cap-add', undefined, 'Add Linux capabilities');
  fs.list('cap-drop', undefined, 'Drop Linux capabilities');
  fs.string('cgroup-parent', undefined, 'Optional parent cgroup for the container');
  fs.string('cgroupns', undefined, "Cgroup namespace to use (host|private)\n'host':    Run the container in the Docker host's cgroup namespace\n'private': Run the container in its own private cgroup namespace\n'':        Use the cgroup namespace as configured by the\n           default-cgroupns-mode option on the daemon (default)");
  fs.string('cidfile', undefined, 'Write the container ID to the file');
  fs.int('cpu-period', undefined, 'Limit CPU CFS (Completely Fair Scheduler) period');
  fs.int('cpu-quota', undefined, 'Limit CPU CFS (Completely Fair Scheduler) quota');
  fs.int('cpu-rt-period', undefined, 'Limit CPU real-time period in microseconds');
  fs.int('cpu-rt-runtime', undefined, 'Limit CPU real-time runtime in microseconds');
  fs.int('cpu-shares', 'c', 'CPU shares (relative weight)');
  fs.add({ name: 'cpus', kind: 'value', typeName: 'decimal', usage: 'Number of CPUs', parse: parseNanoCpus });
  fs.string('cpuset-cpus', undefined, 'CPUs in which to allow execution (0-3, 0,1)');
  fs.string('cpuset-mems', undefined, 'MEMs in which to allow execution (0-3, 0,1)');
  fs.list('device', undefined, 'Add a host device to the container', 'list', (s) => parseDevice(s));
  fs.list('device-cgroup-rule', undefined, 'Add a rule to the cgroup allowed devices list');
  fs.list('dns', undefined, 'Set custom DNS servers');
  fs.list('dns-option', undefined, 'Set DNS options');
  fs.list('dns-search', undefined, 'Set custom DNS search domains');
  fs.string('domainname', undefined, 'Container NIS domain name');
  fs.string('entrypoint', undefined, 'Overwrite the default ENTRYPOINT of the image');
  fs.list('env', 'e', 'Set environment variables');
  fs.list('env-file', undefined, 'Read in a file of environment variables');
  fs.list('expose', undefined, 'Expose a port or a range of ports');
  fs.list('group-add', undefined, 'Add additional groups to join');
  const duration = (name: string, usage: string) => fs.add({ name, kind: 'value', typeName: 'duration', usage, defText: '0s', parse: parseDurationNs });
  fs.string('health-cmd', undefined, 'Command to run to check health');
  duration('health-interval', 'Time between running the check (ms|s|m|h)');
  fs.int('health-retries', undefined, 'Consecutive failures needed to report unhealthy');
  duration('health-start-interval', 'Time between running the check during the start period (ms|s|m|h)');
  duration('health-start-period', 'Start period for the container to initialize before starting health-retries countdown (ms|s|m|h)');
  duration('health-timeout', 'Maximum time to allow one check to run (ms|s|m|h)');
  fs.string('hostname', 'h', 'Container host name');
  fs.bool('init', undefined, 'Run an init inside the container that forwards signals and reaps processes');
  fs.bool('interactive', 'i', 'Keep STDIN open even if not attached');
  fs.string('ip', undefined, 'IPv4 address (e.g., 172.30.100.104)');
  fs.string('ip6', undefined, 'IPv6 address (e.g., 2001:db8::33)');
  fs.string('ipc', undefined, 'IPC mode to use');
  fs.string('isolation', undefined, 'Container isolation technology');
  fs.list('label', 'l', 'Set meta data on a container');
  fs.list('label-file', undefined, 'Read in a line delimited file of labels');
  fs.list('link', undefined, 'Add link to another container', 'list', validateLink);
  fs.list('link-local-ip', undefined, 'Container IPv4/IPv6 link-local addresses');
  fs.string('log-driver', undefined, 'Logging driver for the container');
  fs.list('log-opt', undefined, 'Log driver options');
  fs.string('mac-address', undefined, 'Container MAC address (e.g., 92:d0:c6:0a:29:33)');
  bytes('memory', 'm', 'Memory limit');
  bytes('memory-reservation', undefined, 'Memory soft limit');
  bytes('memory-swap', undefined, "Swap limit equal to memory plus swap: '-1' to enable unlimited swap", parseSwapBytes);
  fs.int('memory-swappiness', undefined, 'Tune container memory swappiness (0 to 100)', -1);
  fs.list('mount', undefined, 'Attach a filesystem mount to the container', 'mount', (s) => parseMount(s));
  fs.string('name', undefined, 'Assign a name to the container');
  fs.add({ name: 'net', kind: 'list', typeName: 'network', usage: 'Connect a container to a network', parse: parseNetworkFlag, hidden: true, dest: 'network' });
  fs.add({ name: 'net-alias', kind: 'list', typeName: 'list', usage: 'Add network-scoped alias for the container', hidden: true, dest: 'network-alias' });
  fs.add({ name: 'network', kind: 'list', typeName: 'network', usage: 'Connect a container to a network', parse: parseNetworkFlag });
  fs.list('network-alias', undefined, 'Add network-scoped alias for the container');
  fs.bool('no-healthcheck', undefined, 'Disable any container-specified HEALTHCHECK');
  fs.bool('oom-kill-disable', undefined, 'Disable OOM Killer');
  fs.int('oom-score-adj', undefined, "Tune host's OOM preferences (-1000 to 1000)");
  fs.string('pid', undefined, 'PID namespace to use');
  fs.int('pids-limit', undefined, 'Tune container pids limit (set -1 for unlimited)');
  fs.string('platform', undefined, 'Set platform if server is multi-platform capable');
  fs.bool('privileged', undefined, 'Give extended privileges to this container');
  fs.list('publish', 'p', "Publish a container's port(s) to the host");
  fs.bool('publish-all', 'P', 'Publish all exposed ports to random ports');
  fs.string('pull', undefined, 'Pull image before running ("always", "missing", "never")', 'missing');
  fs.bool('quiet', 'q', 'Suppress the pull output');
  fs.bool('read-only', undefined, "Mount the container's root filesystem as read only");
  fs.string('restart', undefined, 'Restart policy to apply when a container exits', 'no');
  fs.bool('rm', undefined, 'Automatically remove the container and its associated anonymous volumes when it exits');
  fs.string('runtime', undefined, 'Runtime to use for this container');
  fs.list('security-opt', undefined, 'Security Options');
  bytes('shm-size', undefined, 'Size of /dev/shm');
  fs.string('stop-signal', undefined, 'Signal to stop the container');
  fs.int('stop-timeout', undefined, 'Timeout (in seconds) to stop a container');
  fs.list('storage-opt', undefined, 'Storage driver options for the container');
  fs.add({ name: 'sysctl', kind: 'list', typeName: 'map', usage: 'Sysctl options', defText: 'map[]' });
  fs.list('tmpfs', undefined, 'Mount a tmpfs directory');
  fs.bool('tty', 't', 'Allocate a pseudo-TTY');
  fs.add({ name: 'ulimit', kind: 'list', typeName: 'ulimit', usage: 'Ulimit options', defText: '[]', parse: parseUlimit });
  fs.string('user', 'u', 'Username or UID (format: <name|uid>[:<group|gid>])');
  fs.string('userns', undefined, 'User namespace to use');
  fs.string('uts', undefined, 'UTS namespace to use');
  fs.list('volume', 'v', 'Bind mount a volume');
  fs.string('volume-driver', undefined, 'Optional volume driver for the container');
  fs.list('volumes-from', undefined, 'Mount volumes from the specified container(s)');
  fs.string('workdir', 'w', 'Working directory inside the container');
}

/** What a create needs besides the body: the query parameters and the pull policy. */
export interface CreatePlan {
  body: ContainerCreateRequest & Record<string, unknown>;
  name?: string;
  platform?: string;
  pull: 'always' | 'missing' | 'never';
  image: string;
}

/** docker's Healthcheck from the --health-* flags: only the fields given (omitempty), none without any flag. */
function buildHealthcheck(flags: FlagValues): HealthConfig | undefined {
  const d = (n: string) => flags.num(n) ?? 0;
  const cmd = flags.str('health-cmd') ?? '';
  const fields = { Interval: d('health-interval'), Timeout: d('health-timeout'), StartPeriod: d('health-start-period'), StartInterval: d('health-start-interval'), Retries: d('health-retries') };
  const any = cmd !== '' || Object.values(fields).some((v) => v !== 0);
  if (flags.bool('no-healthcheck')) {
    if (any) throw new OptionError('--no-healthcheck conflicts with --health-* options');
    return { Test: ['NONE'] };
  }
  if (!any) return undefined;
  for (const [k, flag] of [['Interval', 'interval'], ['Timeout', 'timeout'], ['Retries', 'retries'], ['StartPeriod', 'start-period'], ['StartInterval', 'start-interval']] as const) {
    if (fields[k] < 0) throw new OptionError(`--health-${flag} cannot be negative`);
  }
  const h: HealthConfig = cmd ? { Test: ['CMD-SHELL', cmd] } : {};
  for (const [k, v] of Object.entries(fields) as Array<[keyof typeof fields, number]>) if (v) h[k] = v;
  return h;
}

function sortedRecord<T>(entries: Array<[string, T]>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const [k, v] of [...entries].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) out[k] = v;
  return out;
}

function readFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'ENOENT' ? 'no such file or directory' : err.code === 'EACCES' ? 'permission denied' : err.message;
    throw new OptionError(`open ${path}: ${why}`);
  }
}

/**
 * Build the create request from parsed run/create flags and the positional `IMAGE [COMMAND] [ARG...]`.
 * `detach` is run's -d (create has none). `consoleSize` is [rows, cols] of the local tty for -t.
 * The body carries every field the docker CLI sends, zero values included, so a daemon sees the same JSON.
 */
export function buildCreatePlan(
  flags: FlagValues,
  args: string[],
  ctx: { env: Record<string, string | undefined>; detach: boolean; consoleSize?: [number, number] },
): CreatePlan {
  const image = args[0]!;
  const cmd = args.slice(1);
  const attach = flags.list('attach');
  if (ctx.detach && attach.length) throw new StatusError(1, 'conflicting options: cannot specify both --attach and --detach');
  const interactive = flags.bool('interactive');
  let attachStdin = false, attachStdout = false, attachStderr = false;
  if (!ctx.detach) {
    if (attach.length) {
      attachStdin = attach.includes('stdin');
      attachStdout = attach.includes('stdout');
      attachStderr = attach.includes('stderr');
    } else {
      attachStdout = attachStderr = true;
    }
    if (interactive) attachStdin = true;
  }
  const restart = flags.str('restart') ?? 'no';
  const rm = flags.bool('rm');
  const restartPolicy = parseRestart(restart);
  if (rm && restartPolicy.Name !== 'no' && restartPolicy.Name !== '') throw new OptionError('conflicting options: cannot specify both --restart and --rm');

  // Environment: env files first, then -e, as docker merges them.
  const envList: string[] = [];
  for (const f of flags.list('env-file')) envList.push(...parseEnvFile(readFile(f), ctx.env, f));
  for (const e of flags.list('env')) envList.push(expandEnv(e, ctx.env));
  dedupEnv(envList);
  const labels: Array<[string, string]> = [];
  for (const f of flags.list('label-file')) {
    for (const l of parseEnvFile(readFile(f), {}, f)) labels.push(splitKV(l).map((x) => x ?? '') as [string, string]);
  }
  for (const l of flags.list('label')) labels.push(splitKV(l).map((x) => x ?? '') as [string, string]);

  const exposed = new Map<string, object>();
  const bindings = new Map<string, PortBinding[]>();
  for (const p of flags.list('publish')) {
    for (const { port, binding } of parsePortSpec(p)) {
      exposed.set(port, {});
      const list = bindings.get(port) ?? [];
      list.push(binding);
      bindings.set(port, list);
    }
  }
  for (const e of flags.list('expose')) {
    const [range, proto = 'tcp'] = e.split('/');
    const m = /^(\d+)(?:-(\d+))?$/.exec(range!);
    if (!m) throw new OptionError(`invalid range format for --expose: ${e}, error: Invalid port`);
    for (let p = Number(m[1]); p <= Number(m[2] ?? m[1]); p++) exposed.set(`${p}/${proto}`, {});
  }

  const binds: string[] = [];
  const volumes: Array<[string, object]> = [];
  for (const v of flags.list('volume')) {
    const parts = v.split(':');
    if (parts.length === 1) volumes.push([v, {}]);
    // docker (23+) makes a `.`-relative host path absolute against the client's working directory.
    else if (parts[0]!.startsWith('.')) binds.push([resolvePath(parts[0]!), ...parts.slice(1)].join(':'));
    else binds.push(v);
  }
  const tmpfs: Array<[string, string]> = flags.list('tmpfs').map((t) => {
    const i = t.indexOf(':');
    return i < 0 ? [t, ''] : [t.slice(0, i), t.slice(i + 1)];
  });
  const sysctls: Array<[string, string]> = flags.list('sysctl').map((s) => {
    const [k, v] = splitKV(s);
    if (v === undefined) throw new OptionError(`invalid argument "${s}" for "--sysctl" flag: sysctl '${s}' is not allowed`);
    return [k, v];
  });
  const logOpts: Array<[string, string]> = flags.list('log-opt').map((s) => {
    const [k, v] = splitKV(s);
    if (v === undefined) throw new OptionError(`invalid log opt format '${s}'`);
    return [k, v];
  });
  const storageOpts = flags.list('storage-opt').map((s) => splitKV(s).map((x) => x ?? '') as [string, string]);
  const annotations = flags.list('annotation').map((s) => splitKV(s).map((x) => x ?? '') as [string, string]);
  const securityOpts = flags.list('security-opt').map((o) => {
    // A seccomp profile file is sent inline as compact JSON, as docker does.
    const m = /^seccomp[=:](.*)$/.exec(o);
    if (m && m[1] !== 'unconfined' && m[1] !== 'builtin') {
      try {
        return `seccomp=${JSON.stringify(JSON.parse(readFile(m[1]!)))}`;
      } catch (e) {
        if (e instanceof OptionError) throw new OptionError(`opening seccomp profile (${m[1]}) failed: ${e.message}`);
        throw new OptionError(`compacting json for seccomp profile (${m[1]}) failed: ${(e as Error).message}`);
      }
    }
    return o;
  });
  const mac = flags.str('mac-address');
  if (mac && !isValidMac(mac)) throw new OptionError(`${mac} is not a valid mac address`);
  const { networkMode, endpoints } = buildEndpoints(flags);
  const num = (n: string) => flags.num(n) ?? 0;
  const capAdd = flags.list('cap-add').map(normalizeCap);
  const capDrop = flags.list('cap-drop').map(normalizeCap);
  let entrypoint: string[] | null = null;
  if (flags.has('entrypoint')) entrypoint = [flags.str('entrypoint') ?? ''];
  const healthcheck = buildHealthcheck(flags);

  const body: ContainerCreateRequest & Record<string, unknown> = {
    Hostname: flags.str('hostname') ?? '',
    Domainname: flags.str('domainname') ?? '',
    User: flags.str('user') ?? '',
    AttachStdin: attachStdin,
    AttachStdout: attachStdout,
    AttachStderr: attachStderr,
  };
  if (exposed.size) body.ExposedPorts = sortedRecord([...exposed]);
  Object.assign(body, {
    Tty: flags.bool('tty'),
    OpenStdin: interactive,
    StdinOnce: attachStdin,
    Env: envList.length ? envList : null,
    Cmd: cmd.length ? cmd : null,
  });
  if (healthcheck) body.Healthcheck = healthcheck;
  Object.assign(body, {
    Image: image,
    Volumes: sortedRecord(volumes),
    WorkingDir: flags.str('workdir') ?? '',
    Entrypoint: entrypoint,
  });
  body.OnBuild = null;
  body.Labels = sortedRecord(labels);
  if (flags.str('stop-signal')) body.StopSignal = flags.str('stop-signal');
  if (flags.has('stop-timeout')) body.StopTimeout = num('stop-timeout');

  const hc: Record<string, unknown> = {
    Binds: binds.length ? binds : null,
    ContainerIDFile: flags.str('cidfile') ?? '',
    LogConfig: { Type: flags.str('log-driver') ?? '', Config: sortedRecord(logOpts) },
    NetworkMode: networkMode,
    PortBindings: sortedRecord([...bindings]),
    RestartPolicy: restartPolicy,
    AutoRemove: rm,
    VolumeDriver: flags.str('volume-driver') ?? '',
    VolumesFrom: flags.list('volumes-from').length ? flags.list('volumes-from') : null,
    ConsoleSize: ctx.consoleSize ?? [0, 0],
  };
  if (annotations.length) hc['Annotations'] = sortedRecord(annotations);
  Object.assign(hc, {
    CapAdd: capAdd.length ? capAdd : null,
    CapDrop: capDrop.length ? capDrop : null,
    CgroupnsMode: flags.str('cgroupns') ?? '',
    Dns: flags.list('dns'),
    DnsOptions: flags.list('dns-option'),
    DnsSearch: flags.list('dns-search'),
    ExtraHosts: flags.list('add-host').length ? flags.list('add-host') : null,
    GroupAdd: flags.list('group-add').length ? flags.list('group-add') : null,
    IpcMode: flags.str('ipc') ?? '',
    Cgroup: '',
    Links: flags.list('link').length ? flags.list('link') : null,
    OomScoreAdj: num('oom-score-adj'),
    PidMode: flags.str('pid') ?? '',
    Privileged: flags.bool('privileged'),
    PublishAllPorts: flags.bool('publish-all'),
    ReadonlyRootfs: flags.bool('read-only'),
    SecurityOpt: securityOpts.length ? securityOpts : null,
  });
  if (storageOpts.length) hc['StorageOpt'] = sortedRecord(storageOpts);
  if (tmpfs.length) hc['Tmpfs'] = sortedRecord(tmpfs);
  Object.assign(hc, {
    UTSMode: flags.str('uts') ?? '',
    UsernsMode: flags.str('userns') ?? '',
    ShmSize: num('shm-size'),
  });
  if (sysctls.length) hc['Sysctls'] = sortedRecord(sysctls);
  if (flags.str('runtime')) hc['Runtime'] = flags.str('runtime');
  Object.assign(hc, {
    Isolation: flags.str('isolation') ?? '',
    CpuShares: num('cpu-shares'),
    Memory: num('memory'),
    NanoCpus: num('cpus'),
    CgroupParent: flags.str('cgroup-parent') ?? '',
    BlkioWeight: num('blkio-weight'),
    BlkioWeightDevice: [],
    BlkioDeviceReadBps: [],
    BlkioDeviceWriteBps: [],
    BlkioDeviceReadIOps: [],
    BlkioDeviceWriteIOps: [],
    CpuPeriod: num('cpu-period'),
    CpuQuota: num('cpu-quota'),
    CpuRealtimePeriod: num('cpu-rt-period'),
    CpuRealtimeRuntime: num('cpu-rt-runtime'),
    CpusetCpus: flags.str('cpuset-cpus') ?? '',
    CpusetMems: flags.str('cpuset-mems') ?? '',
    Devices: flags.list<DeviceMapping>('device'),
    DeviceCgroupRules: flags.list('device-cgroup-rule').length ? flags.list('device-cgroup-rule') : null,
    DeviceRequests: null,
    MemoryReservation: num('memory-reservation'),
    MemorySwap: num('memory-swap'),
    MemorySwappiness: flags.num('memory-swappiness') ?? -1,
    OomKillDisable: flags.bool('oom-kill-disable'),
    PidsLimit: num('pids-limit'),
    Ulimits: flags.list<Ulimit>('ulimit'),
    CpuCount: 0,
    CpuPercent: 0,
    IOMaximumIOps: 0,
    IOMaximumBandwidth: 0,
  });
  const mounts = flags.list<MountSpec>('mount');
  if (mounts.length) hc['Mounts'] = mounts;
  hc['MaskedPaths'] = null;
  hc['ReadonlyPaths'] = null;
  if (flags.has('init')) hc['Init'] = flags.bool('init');
  body.HostConfig = hc as ContainerCreateRequest['HostConfig'];

  // The MAC address travels in the endpoint (API 1.44+), as docker 28 sends it.
  body.NetworkingConfig = { EndpointsConfig: endpoints as Record<string, unknown> };

  const pull = flags.str('pull') ?? 'missing';
  if (!['always', 'missing', 'never'].includes(pull)) throw new OptionError(`invalid pull option: '${pull}': must be one of "always", "missing" or "never"`);
  return { body, name: flags.str('name') || undefined, platform: flags.str('platform') || undefined, pull: pull as CreatePlan['pull'], image };
}

/** `--restart no|always|unless-stopped|on-failure[:N]`. */
export function parseRestart(s: string): { Name: string; MaximumRetryCount: number } {
  if (s === '') return { Name: 'no', MaximumRetryCount: 0 };
  const [name, count, extra] = s.split(':');
  if (extra !== undefined) throw new OptionError(`invalid restart policy format: maximum retry count must be an integer`);
  if (count !== undefined) {
    if (name !== 'on-failure') throw new OptionError(`invalid restart policy format: maximum retry count can only be used with 'on-failure'`);
    if (!/^\d+$/.test(count)) throw new OptionError('invalid restart policy format: maximum retry count must be an integer');
    return { Name: name, MaximumRetryCount: Number(count) };
  }
  return { Name: name!, MaximumRetryCount: 0 };
}

export { UsageError };
