// A Docker container (merged Config + HostConfig) -> the OCI runtime spec dockerd would write, so a
// Berth container looks like a Docker one from inside (moby daemon/oci_linux.go createSpec, with
// daemon/pkg/oci/defaults.go DefaultLinuxSpec as the base).
//
// Usage (the engine, at create/start):
//   const { spec, warnings } = buildContainerSpec({ id, config, hostConfig, rootfs, containerDir,
//     cgroupsPath, namespaces: { network: netnsPath } });
//   writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec));
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism, hostname as osHostname, release } from 'node:os';
import { join, posix } from 'node:path';
import { errInvalid, errPrecondition } from '../common/errors.js';
import { CAPABILITIES, capNumber, capsOfMask, parseMask } from '../runtime/caps.js';
import { convertDockerSeccompProfile, dockerDefaultSeccomp, nativeArch, type DockerSeccompProfile } from '../runtime/seccomp.js';
import { DOCKER_DEFAULT_CAPS, DOCKER_MASKED_PATHS, DOCKER_READONLY_PATHS, OCI_SPEC_VERSION } from '../runtime/spec/defaults.js';
import type { Device, Mount, Namespace, Seccomp, Spec } from '../runtime/spec/types.js';
import { buildDevices, buildResources, buildRlimits, checkResources, hostDevices, type ResourceHost } from './spec-resources.js';
import type { ContainerConfig, HostConfig, Ulimit } from './types.js';
import { resolveContainerUser, type UserFiles } from './user.js';

/** Docker's default PATH (oci.DefaultPathEnv for Linux). */
export const DEFAULT_PATH_ENV = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** dockerd's default ShmSize (config.DefaultShmSize): 64 MiB. */
export const DEFAULT_SHM_SIZE = 64 * 1024 * 1024;
/** Where `--init` puts the init binary inside the container. */
export const IN_CONTAINER_INIT_PATH = '/sbin/docker-init';
/** Docker's HOST_NAME_MAX check. */
const MAX_HOSTNAME_LEN = 64;

export interface SpecInput {
  id: string;
  /** Already merged with the image config (Env, Cmd, Entrypoint, WorkingDir, User...). */
  config: ContainerConfig;
  hostConfig: HostConfig;
  /** Absolute path of the rootfs (where it is, or will be, mounted). */
  rootfs: string;
  /**
   * The image's /etc/passwd and /etc/group, when the caller read them already (the engine keeps
   * them per image, so a create need not mount the rootfs); else they are read under `rootfs`.
   */
  userFiles?: UserFiles;
  /** Holds hostname, hosts and resolv.conf, bind-mounted into /etc as Docker does. */
  containerDir: string;
  /** Those files when they are another container's (--network container:), not containerDir's. */
  networkFiles?: Record<'resolv.conf' | 'hostname' | 'hosts', string>;
  cgroupsPath: string;
  /** A path joins that namespace, 'host' shares the host's (no namespace), absent creates one. */
  namespaces: { network?: string | 'host'; ipc?: string | 'host'; pid?: string | 'host'; uts?: 'host' };
  /** The host's init for HostConfig.Init (Debian's /usr/bin/tini-static), bind-mounted read-only at /sbin/docker-init. */
  initBinary?: string;
  /**
   * A host dir holding the container's /dev/shm (a tmpfs the engine mounted), bind-mounted at
   * /dev/shm: for IpcMode shareable (this container's) or container:<id> (the other's). Without it
   * /dev/shm is a tmpfs of the spec's own, as for IpcMode private.
   */
  shmDir?: string;
  /** Resolved binds and volumes (the engine resolves -v/--mount; they are only translated here). */
  volumeMounts?: Array<{ source: string; destination: string; readOnly: boolean; propagation?: string; nonRecursive?: boolean }>;
  /** The daemon's `default-ulimits`, used for the names the container does not set. */
  defaultUlimits?: Ulimit[];
  /** The daemon's `no-new-privileges` default (a security opt overrides it). */
  noNewPrivileges?: boolean;
  /** Host facts; defaults are read from this host. A seam for unit tests. */
  host?: Partial<SpecHost>;
}

/** What the spec depends on about the host (dockerd's sysinfo and friends). */
export interface SpecHost extends ResourceHost {
  /** Capabilities this daemon holds (its CapEff): what "ALL" and --privileged mean. */
  allCaps: string[];
  /** The kernel has time namespaces (5.6+): Docker 29.5+ gives each container one. */
  timeNamespace: boolean;
  /** sysctl exists under /proc/sys (dockerd only sets its default ones where they exist). */
  sysctlExists: (name: string) => boolean;
  /** /sys/devices/system/cpu/cpuN/thermal_throttle paths that exist (masked by Docker). */
  thermalThrottlePaths: string[];
  hostname: string;
  /** For seccomp profile specialisation. */
  arch: string;
  kernelRelease: string;
  /** The host's device nodes, for --privileged. */
  hostDevices: () => Device[];
}

let cachedHost: SpecHost | undefined;

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function ownCaps(): string[] {
  const status = readText('/proc/self/status') ?? '';
  const m = /^CapEff:\s*([0-9a-fA-F]+)/m.exec(status);
  return m ? capsOfMask(parseMask(`0x${m[1]}`)) : [...CAPABILITIES];
}

/** This host's facts, read once. */
export function detectSpecHost(): SpecHost {
  if (cachedHost) return cachedHost;
  const cgroup2 = existsSync('/sys/fs/cgroup/cgroup.controllers');
  const online = readText('/sys/devices/system/cpu/online') ?? `0-${availableParallelism() - 1}`;
  const possible = readText('/sys/devices/system/cpu/possible') ?? online;
  const thermal: string[] = [];
  for (const n of (() => {
    const out: number[] = [];
    for (const part of possible.split(',')) {
      const [a, b] = part.split('-').map(Number);
      if (a === undefined || Number.isNaN(a)) continue;
      for (let i = a; i <= (b ?? a); i++) out.push(i);
    }
    return out;
  })()) {
    const p = `/sys/devices/system/cpu/cpu${n}/thermal_throttle`;
    if (existsSync(p)) thermal.push(p);
  }
  cachedHost = {
    cgroup2,
    swapLimit: cgroup2 || existsSync('/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes'),
    numCpus: availableParallelism(),
    cpus: readText(cgroup2 ? '/sys/fs/cgroup/cpuset.cpus.effective' : '/sys/fs/cgroup/cpuset/cpuset.cpus') || online,
    mems: readText(cgroup2 ? '/sys/fs/cgroup/cpuset.mems.effective' : '/sys/fs/cgroup/cpuset/cpuset.mems') || '0',
    allCaps: ownCaps(),
    timeNamespace: existsSync('/proc/self/ns/time'),
    sysctlExists: (name) => existsSync(join('/proc/sys', name.replaceAll('.', '/'))),
    thermalThrottlePaths: thermal,
    hostname: osHostname(),
    arch: nativeArch(),
    kernelRelease: release(),
    hostDevices: () => hostDevices(),
  };
  return cachedHost;
}

/** What HostConfig.SecurityOpt asks for (moby parseSecurityOpt). */
export interface SecurityOptions {
  noNewPrivileges: boolean;
  /** '' (daemon default), 'unconfined', 'builtin', or a profile's JSON. */
  seccompProfile: string;
  writableCgroups?: boolean;
}

/** Parses SecurityOpt with dockerd's rules and texts; AppArmor and SELinux are accepted and ignored. */
export function parseSecurityOpts(opts: readonly string[], daemonNoNewPrivs: boolean, warnings: string[]): SecurityOptions {
  const out: SecurityOptions = { noNewPrivileges: daemonNoNewPrivs, seccompProfile: '' };
  const parseBool = (v: string, opt: string): boolean => {
    // Go's strconv.ParseBool.
    if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
    if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
    throw errInvalid(`invalid --security-opt 2: ${JSON.stringify(opt)}`);
  };
  for (const opt of opts) {
    if (opt === 'no-new-privileges') {
      out.noNewPrivileges = true;
      continue;
    }
    if (opt === 'writable-cgroups') {
      out.writableCgroups = true;
      continue;
    }
    if (opt === 'disable') {
      warnings.push('security-opt "disable" (SELinux labels) is ignored: Berth does not apply SELinux labels');
      continue;
    }
    const sep = opt.includes('=') ? '=' : opt.includes(':') ? ':' : undefined;
    if (!sep) throw errInvalid(`invalid --security-opt 1: ${JSON.stringify(opt)}`);
    const i = opt.indexOf(sep);
    const k = opt.slice(0, i);
    const v = opt.slice(i + 1);
    switch (k) {
      case 'label':
        warnings.push(`security-opt "${opt}" is ignored: Berth does not apply SELinux labels`);
        break;
      case 'apparmor':
        warnings.push(`security-opt "${opt}" is ignored: Berth does not apply AppArmor profiles`);
        break;
      case 'seccomp':
        out.seccompProfile = v;
        break;
      case 'no-new-privileges':
        out.noNewPrivileges = parseBool(v, opt);
        break;
      case 'writable-cgroups':
        out.writableCgroups = parseBool(v, opt);
        break;
      default:
        throw errInvalid(`invalid --security-opt 2: ${JSON.stringify(opt)}`);
    }
  }
  return out;
}

/**
 * CapAdd/CapDrop as dockerd's NormalizeLegacyCapabilities: upper-cased, `CAP_` added, `ALL` kept.
 * Unknown names and names this host cannot grant are errors with Docker's texts.
 */
export function normalizeCaps(caps: readonly string[], available: readonly string[], field: 'CapAdd' | 'CapDrop'): string[] {
  return caps.map((raw) => {
    let c = raw.toUpperCase();
    if (c === 'ALL') return c;
    if (!c.startsWith('CAP_')) c = `CAP_${c}`;
    if (capNumber(c) === undefined) throw errInvalid(`invalid ${field}: unknown capability: ${JSON.stringify(c)}`);
    if (!available.includes(c)) {
      throw errInvalid(`invalid ${field}: capability not supported by your kernel or not available in the current environment: ${JSON.stringify(c)}`);
    }
    return c;
  });
}

/** The container's capability set (moby caps.TweakCapabilities). */
export function tweakCapabilities(hc: HostConfig, allCaps: readonly string[]): string[] {
  if (hc.Privileged) return [...allCaps];
  const adds = hc.CapAdd ?? [];
  const drops = hc.CapDrop ?? [];
  if (!adds.length && !drops.length) return [...DOCKER_DEFAULT_CAPS];
  const capDrop = normalizeCaps(drops, allCaps, 'CapDrop');
  const capAdd = normalizeCaps(adds, allCaps, 'CapAdd');
  if (capAdd.includes('ALL')) return allCaps.filter((c) => !capDrop.includes(c));
  if (capDrop.includes('ALL')) return capAdd;
  return [...DOCKER_DEFAULT_CAPS.filter((c) => !capDrop.includes(c)), ...capAdd];
}

/** The docker env: PATH, HOSTNAME, TERM (tty), then Config.Env replacing or unsetting (`NAME` alone). */
export function containerEnv(configEnv: readonly string[], hostname: string, tty: boolean): string[] {
  const env = [`PATH=${DEFAULT_PATH_ENV}`, `HOSTNAME=${hostname}`];
  if (tty) env.push('TERM=xterm');
  const key = (e: string) => (e.includes('=') ? e.slice(0, e.indexOf('=')) : e);
  const index = new Map(env.map((e, i) => [key(e), i]));
  const out: Array<string | undefined> = [...env];
  for (const v of configEnv) {
    const k = key(v);
    const i = index.get(k);
    if (!v.includes('=')) {
      if (i !== undefined) out[i] = undefined;
      continue;
    }
    if (i !== undefined) out[i] = v;
    else {
      index.set(k, out.length);
      out.push(v);
    }
  }
  return out.filter((e): e is string => e !== undefined);
}

// Which flag each mount option sets or clears; the propagation options count as one flag.
const TMPFS_FLAGS: Readonly<Record<string, string>> = {
  ro: 'rdonly', rw: 'rdonly', suid: 'nosuid', nosuid: 'nosuid', dev: 'nodev', nodev: 'nodev',
  exec: 'noexec', noexec: 'noexec', sync: 'sync', async: 'sync', dirsync: 'dirsync', remount: 'remount',
  mand: 'mand', nomand: 'mand', atime: 'noatime', noatime: 'noatime', diratime: 'nodiratime',
  nodiratime: 'nodiratime', relatime: 'relatime', norelatime: 'relatime', strictatime: 'strictatime',
  nostrictatime: 'strictatime',
  bind: 'prop', rbind: 'prop', unbindable: 'prop', runbindable: 'prop', private: 'prop', rprivate: 'prop',
  shared: 'prop', rshared: 'prop', slave: 'prop', rslave: 'prop',
};
const TMPFS_DATA = new Set(['', 'size', 'mode', 'uid', 'gid', 'nr_inodes', 'nr_blocks', 'mpol']);

/**
 * moby/sys/mount MergeTmpfsOptions: later options win per flag or per data key (`size=`),
 * `defaults` is dropped, and only tmpfs's own data keys are allowed.
 */
export function mergeTmpfsOptions(options: readonly string[]): string[] {
  const seenFlag = new Set<string>();
  const seenData = new Set<string>();
  const out: string[] = [];
  for (let i = options.length - 1; i >= 0; i--) {
    const o = options[i]!;
    if (o === 'defaults') continue;
    const f = TMPFS_FLAGS[o];
    if (f) {
      if (!seenFlag.has(f)) {
        out.unshift(o);
        seenFlag.add(f);
      }
      continue;
    }
    const k = o.includes('=') ? o.slice(0, o.indexOf('=')) : undefined;
    if (k === undefined || !TMPFS_DATA.has(k)) throw errInvalid(`invalid tmpfs option ${JSON.stringify(k ?? o)}`);
    if (!seenData.has(k)) {
      out.unshift(o);
      seenData.add(k);
    }
  }
  return out;
}

// A "user" mount, before sorting: what dockerd's container.Mount carries.
interface UserMount { destination: string; source: string; tmpfsData?: string; writable: boolean; propagation: string; nonRecursive?: boolean }

const depth = (p: string) => (posix.normalize(p).replace(/\/+$/, '') || '/').split('/').length - 1;

function validMode(mode: string | undefined, extra: readonly string[]): boolean {
  return !mode || extra.includes(mode) || mode.startsWith('container:');
}

/**
 * Builds the OCI spec dockerd would hand its runtime for this container, with the warnings dockerd
 * would return. Throws `invalid-argument` with Docker's text for what dockerd rejects.
 */
export function buildContainerSpec(input: SpecInput): { spec: Spec; warnings: string[] } {
  const host: SpecHost = { ...detectSpecHost(), ...input.host };
  const { config, hostConfig: hc } = input;
  const warnings: string[] = [];

  // --- validation (validateHostConfig, verifyPlatformContainerSettings, translateWorkingDir)
  if (config.Hostname && Buffer.byteLength(config.Hostname) > MAX_HOSTNAME_LEN) {
    throw errInvalid(`hostname ${JSON.stringify(config.Hostname)} is too long (maximum ${MAX_HOSTNAME_LEN} bytes)`);
  }
  if (config.WorkingDir && !config.WorkingDir.startsWith('/')) {
    throw errInvalid(`the working directory '${config.WorkingDir}' is invalid, it needs to be an absolute path`);
  }
  const adj = checkResources(hc, host, warnings);
  const ipcMode = hc.IpcMode ?? '';
  if (!validMode(ipcMode, ['none', 'private', 'shareable', 'host'])) throw errInvalid(`invalid IPC mode: ${ipcMode}`);
  if (!validMode(hc.PidMode, ['host'])) throw errInvalid(`invalid PID mode: ${hc.PidMode}`);
  if ((hc.ShmSize ?? 0) < 0) throw errInvalid('SHM size can not be less than 0');
  if (!validMode(hc.UTSMode, ['host']) || hc.UTSMode?.startsWith('container:')) throw errInvalid(`invalid UTS mode: ${hc.UTSMode}`);
  const oomScoreAdj = hc.OomScoreAdj ?? 0;
  if (oomScoreAdj < -1000 || oomScoreAdj > 1000) throw errInvalid(`Invalid value ${oomScoreAdj}, range for oom score adj is [-1000, 1000]`);
  for (const dest of Object.keys(hc.Tmpfs ?? {})) {
    if (posix.normalize(dest) === '/' || posix.normalize(dest) === '//') throw errInvalid("invalid specification: destination can't be '/'");
    if (!dest.startsWith('/')) throw errInvalid(`invalid mount path: '${dest}' mount path must be absolute`);
  }
  const cgroupnsMode = hc.CgroupnsMode || (hc.Privileged && !host.cgroup2 ? 'host' : host.cgroup2 ? 'private' : 'host');
  if (cgroupnsMode !== 'private' && cgroupnsMode !== 'host') throw errInvalid(`invalid cgroup namespace mode: ${cgroupnsMode}`);
  for (const k of Object.keys(hc.Annotations ?? {})) {
    if (k === '') throw errInvalid('invalid Annotations: the empty string is not permitted as an annotation key');
  }
  const caps = tweakCapabilities(hc, host.allCaps);
  const sec = parseSecurityOpts(hc.SecurityOpt ?? [], input.noNewPrivileges ?? false, warnings);

  // --- process
  const entrypoint = config.Entrypoint ?? [];
  const cmd = config.Cmd ?? [];
  let args = entrypoint.length ? [...entrypoint, ...cmd] : [...cmd];
  if (!args.length) throw errInvalid('no command specified');
  const networkHost = input.namespaces.network === 'host' || hc.NetworkMode === 'host';
  const hostname = config.Hostname || (networkHost ? host.hostname : input.id.slice(0, 12));
  const user = resolveContainerUser(input.userFiles ?? input.rootfs, config.User ?? '', hc.GroupAdd ?? []);
  const env = containerEnv(config.Env ?? [], hostname, !!config.Tty);
  // runc sets HOME from the user's passwd entry (or `/`) when the env lacks it or has it empty;
  // Berth's init does not read passwd, so the spec carries it.
  const homeAt = env.findIndex((e) => e.startsWith('HOME='));
  if (homeAt < 0 || env[homeAt] === 'HOME=') {
    if (homeAt >= 0) env.splice(homeAt, 1);
    env.push(`HOME=${user.home || '/'}`);
  }

  const mounts: Mount[] = dockerDefaultMounts();
  const privatePid = input.namespaces.pid === undefined && !hc.PidMode;
  if (hc.Init && privatePid) {
    if (!input.initBinary) throw errPrecondition(`--init: no init binary configured (docker-init, e.g. /usr/bin/tini-static)`);
    args = [IN_CONTAINER_INIT_PATH, '--', ...args];
    mounts.push({ destination: IN_CONTAINER_INIT_PATH, type: 'bind', source: input.initBinary, options: ['bind', 'ro'] });
  }

  const spec: Spec = {
    ociVersion: OCI_SPEC_VERSION,
    process: {
      terminal: !!config.Tty,
      user: { uid: user.uid, gid: user.gid, additionalGids: user.additionalGids },
      args,
      env,
      cwd: config.WorkingDir || '/',
      capabilities: { bounding: [...caps], effective: [...caps], permitted: [...caps] },
      oomScoreAdj,
    },
    root: { path: input.rootfs, ...(hc.ReadonlyRootfs ? { readonly: true } : {}) },
    mounts,
    linux: {
      sysctl: {},
      resources: buildResources(hc, adj),
      cgroupsPath: input.cgroupsPath,
      namespaces: [],
      maskedPaths: [...DOCKER_MASKED_PATHS, ...host.thermalThrottlePaths],
      readonlyPaths: [...DOCKER_READONLY_PATHS],
      devices: [],
    },
  };
  const proc = spec.process!;
  const linux = spec.linux!;
  if (config.Tty && hc.ConsoleSize && (hc.ConsoleSize[0] > 0 || hc.ConsoleSize[1] > 0)) {
    proc.consoleSize = { height: hc.ConsoleSize[0], width: hc.ConsoleSize[1] };
  }
  if (input.namespaces.uts !== 'host' && hc.UTSMode !== 'host') spec.hostname = hostname;

  // --- sysctls: dockerd's safe defaults for a network namespace of the container's own (a
  // bridge or none network, even if the engine made it in advance), then Domainname, then the user's.
  const sysctl = linux.sysctl!;
  const privateNet = !networkHost && !(hc.NetworkMode ?? '').startsWith('container:');
  if (privateNet) {
    if (host.sysctlExists('net.ipv4.ping_group_range')) sysctl['net.ipv4.ping_group_range'] = '0 2147483647';
    if (host.sysctlExists('net.ipv4.ip_unprivileged_port_start')) sysctl['net.ipv4.ip_unprivileged_port_start'] = '0';
  }
  if (config.Domainname) sysctl['kernel.domainname'] = config.Domainname;
  Object.assign(sysctl, hc.Sysctls ?? {});

  // --- devices and the device cgroup
  const devs = buildDevices(hc, warnings, host.hostDevices);
  linux.devices = devs.devices;
  linux.resources!.devices = devs.rules;

  const rlimits = buildRlimits(hc.Ulimits, input.defaultUlimits);
  if (rlimits) proc.rlimits = rlimits;

  linux.namespaces = buildNamespaces(input, hc, host, cgroupnsMode === 'private');

  // --- seccomp (WithSeccomp): unconfined, privileged (only an explicit profile), or a profile
  // specialised for the final bounding set.
  const seccomp = seccompFor(sec.seccompProfile, !!hc.Privileged, caps, host);
  if (seccomp) linux.seccomp = seccomp;

  buildMounts(spec, input, sec, ipcMode, warnings);

  if (sec.noNewPrivileges) proc.noNewPrivileges = true;
  // Set after the privileged clearing, as dockerd applies them last.
  if (hc.MaskedPaths) linux.maskedPaths = [...hc.MaskedPaths];
  if (hc.ReadonlyPaths) linux.readonlyPaths = [...hc.ReadonlyPaths];
  if (hc.Annotations && Object.keys(hc.Annotations).length) spec.annotations = { ...hc.Annotations };
  return { spec, warnings };
}

/** Docker's base mounts (oci.DefaultLinuxSpec), in its order; /dev/shm gets its size later. */
export function dockerDefaultMounts(): Mount[] {
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['ro', 'nosuid', 'noexec', 'nodev'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777'] },
  ];
}

// Docker's default namespace list (mount, network, time, uts, pid, ipc), then each mode applied in place.
function buildNamespaces(input: SpecInput, hc: HostConfig, host: SpecHost, cgroupns: boolean): Namespace[] {
  const ns: Namespace[] = [{ type: 'mount' }, { type: 'network' }];
  if (host.timeNamespace) ns.push({ type: 'time' });
  ns.push({ type: 'uts' }, { type: 'pid' }, { type: 'ipc' });
  const set = (type: Namespace['type'], v: string | undefined, hostMode: boolean) => {
    const i = ns.findIndex((n) => n.type === type);
    if (hostMode || v === 'host') ns.splice(i, 1);
    else ns[i] = v ? { type, path: v } : { type };
  };
  // NetworkDisabled keeps the default (a new, empty network namespace).
  if (!input.config.NetworkDisabled) set('network', input.namespaces.network, hc.NetworkMode === 'host');
  set('ipc', input.namespaces.ipc, hc.IpcMode === 'host');
  set('pid', input.namespaces.pid, hc.PidMode === 'host');
  set('uts', input.namespaces.uts, hc.UTSMode === 'host');
  if (cgroupns) ns.push({ type: 'cgroup' });
  return ns;
}

function seccompFor(profile: string, privileged: boolean, caps: readonly string[], host: SpecHost): Seccomp | undefined {
  if (profile === 'unconfined') return undefined;
  const opts = { capabilities: caps, arch: host.arch, kernelRelease: host.kernelRelease };
  if (privileged && (profile === '' || profile === 'builtin')) return undefined;
  if (profile === '' || profile === 'builtin') return dockerDefaultSeccomp(opts);
  let parsed: DockerSeccompProfile;
  try {
    parsed = JSON.parse(profile) as DockerSeccompProfile;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not a JSON object');
  } catch (err) {
    throw errInvalid(`Decoding seccomp profile failed: ${(err as Error).message}`, err);
  }
  return convertDockerSeccompProfile(parsed, opts);
}

// withMounts: the defaults (minus what a user mount replaces, /dev/shm sized or dropped), then
// the user mounts sorted by depth; read-only rootfs and privileged adjustments last.
function buildMounts(spec: Spec, input: SpecInput, sec: SecurityOptions, ipcMode: string, warnings: string[]): void {
  const hc = input.hostConfig;
  const volumes = input.volumeMounts ?? [];
  const tmpfs = Object.entries(hc.Tmpfs ?? {});
  const taken = new Set([...volumes.map((v) => v.destination), ...tmpfs.map(([d]) => d)]);

  // dockerd's order before its sort: IPC mount, tmpfs mounts, then volumes (sorted) and the
  // network files (/etc/resolv.conf, /etc/hostname, /etc/hosts: writable unless --read-only).
  const user: UserMount[] = [];
  if (!taken.has('/dev/shm')) {
    const ipcHost = ipcMode === 'host' || input.namespaces.ipc === 'host';
    if (ipcHost) user.push({ destination: '/dev/shm', source: '/dev/shm', writable: true, propagation: 'rprivate' });
    else if (input.shmDir && (ipcMode === 'shareable' || ipcMode === '' || ipcMode.startsWith('container:'))) {
      user.push({ destination: '/dev/shm', source: input.shmDir, writable: true, propagation: 'rprivate' });
    } else if (ipcMode.startsWith('container:')) {
      warnings.push(`IpcMode ${ipcMode}: no /dev/shm of that container was given; the container gets a /dev/shm of its own`);
    }
  }
  for (const [destination, data] of tmpfs) user.push({ destination, source: 'tmpfs', tmpfsData: data, writable: true, propagation: '' });
  const vols: UserMount[] = volumes.map((v) => ({ destination: v.destination, source: v.source, writable: !v.readOnly, propagation: v.propagation ?? '', ...(v.nonRecursive ? { nonRecursive: true } : {}) }));
  user.push(...vols.sort((a, b) => depth(a.destination) - depth(b.destination)));
  for (const [file, dest] of [['resolv.conf', '/etc/resolv.conf'], ['hostname', '/etc/hostname'], ['hosts', '/etc/hosts']] as const) {
    if (taken.has(dest)) continue;
    const source = input.networkFiles?.[file] ?? join(input.containerDir, file);
    if (!existsSync(source)) continue; // dockerd skips (with a log line) a file it cannot stat
    user.push({ destination: dest, source, writable: !hc.ReadonlyRootfs, propagation: 'rprivate' });
  }
  const sorted = user.map((m, i) => ({ m, i })).sort((a, b) => depth(a.m.destination) - depth(b.m.destination) || a.i - b.i).map((x) => x.m);

  const userDests = new Set(sorted.map((m) => m.destination));
  const mountDev = userDests.has('/dev');
  const shmSize = hc.ShmSize || DEFAULT_SHM_SIZE;
  const mounts: Mount[] = [];
  for (const m of spec.mounts ?? []) {
    if (userDests.has(m.destination)) continue;
    if (mountDev && m.destination.startsWith('/dev/')) continue;
    if (m.destination === '/dev/shm') {
      if (ipcMode === 'none') continue;
      m.options = [...(m.options ?? []), `size=${shmSize}`];
    }
    mounts.push(m);
  }

  const linux = spec.linux!;
  for (const m of sorted) {
    if (m.source === 'tmpfs') {
      const opts = ['noexec', 'nosuid', 'nodev', 'rprivate', ...(m.tmpfsData ? m.tmpfsData.split(',') : [])];
      mounts.push({ destination: m.destination, type: 'tmpfs', source: 'tmpfs', options: mergeTmpfsOptions(opts) });
      continue;
    }
    // bind-recursive=disabled: a plain bind (no MS_REC), so the mounts under the source stay out, as dockerd's.
    const opts = [m.nonRecursive ? 'bind' : 'rbind'];
    // dockerd writes `rro` where the runtime and kernel support recursive read-only; Berth's
    // runtime only approximates it, so plain `ro` (dockerd's fallback).
    if (!m.writable) opts.push('ro');
    if (m.propagation) {
      if (!['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave'].includes(m.propagation)) {
        throw errInvalid(`invalid propagation mode: ${m.propagation}`);
      }
      opts.push(m.propagation);
      // A shared volume needs a shared rootfs (dockerd also checks the source mount is shared;
      // the engine does that when it resolves the mount). For a slave volume dockerd writes
      // "rslave", which the runtime-spec schema does not allow; it is the runtime default anyway
      // (runc's and Berth's prepareRoot), so the field is left out with the same effect.
      const rp = linux.rootfsPropagation;
      if (m.propagation.endsWith('shared') && rp !== 'shared' && rp !== 'rshared') linux.rootfsPropagation = 'shared';
    }
    mounts.push({ destination: m.destination, type: 'bind', source: m.source, options: opts });
  }

  if (hc.ReadonlyRootfs) {
    for (const m of mounts) {
      if (['/proc', '/dev/pts', '/dev/shm', '/dev/mqueue', '/dev'].includes(m.destination) || userDests.has(m.destination)) continue;
      if (!m.options?.includes('ro')) m.options = [...(m.options ?? []), 'ro'];
    }
  }
  const clearRo = (m: Mount) => {
    m.options = (m.options ?? []).filter((o) => o !== 'ro');
  };
  if (hc.Privileged) {
    for (const m of mounts) if (m.destination === '/sys') clearRo(m);
    delete linux.readonlyPaths;
    delete linux.maskedPaths;
  }
  if (sec.writableCgroups ?? hc.Privileged) for (const m of mounts) if (m.type === 'cgroup') clearRo(m);
  spec.mounts = mounts;
}
