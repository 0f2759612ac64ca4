// HostConfig resources -> OCI linux.resources, devices and rlimits, with dockerd's checks and texts
// (moby daemon/daemon_unix.go verifyPlatformContainerResources, getMemoryResources,
// getCPUResources, getBlkio*, getPidsLimit; daemon/pkg/oci/devices_linux.go; withRlimits).
import { lstatSync, readdirSync, realpathSync, statSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { errInvalid } from '../common/errors.js';
import type { Device, DeviceCgroupRule, LinuxResources, Rlimit, ThrottleDevice } from '../runtime/spec/types.js';
import type { DeviceMapping, HostConfig, Ulimit } from './types.js';

/** dockerd's floor for Memory and MemoryReservation (6 MiB: startup overhead, not a kernel limit). */
export const LINUX_MIN_MEMORY = 6291456;

/** What the host supports, as dockerd's sysinfo reports it; a seam for unit tests. */
export interface ResourceHost {
  cgroup2: boolean;
  /** cgroup v1 memory.memsw.* present (swapaccount on). */
  swapLimit: boolean;
  numCpus: number;
  /** cpuset.cpus / cpuset.mems the container may use, in list format (`0-3`). */
  cpus: string;
  mems: string;
}

/** Parses a cpuset list (`0-2,4`) as moby's parsers.ParseUintList; throws with its text. */
export function parseUintList(val: string): Set<number> {
  const out = new Set<number>();
  if (val === '') return out;
  for (const part of val.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new Error(`invalid format: ${val}`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) throw new Error(`invalid format: ${val}`);
    for (let i = lo; i <= hi; i++) out.add(i);
  }
  return out;
}

function subset(requested: string, available: string, what: 'cpus' | 'mems'): void {
  let req: Set<number>;
  try {
    req = parseUintList(requested);
  } catch (err) {
    throw errInvalid(`Invalid value ${requested} for cpuset ${what}: ${(err as Error).message}`);
  }
  const avail = parseUintList(available);
  for (const n of req) {
    if (!avail.has(n)) {
      throw errInvalid(what === 'cpus'
        ? `Requested CPUs are not available - requested ${requested}, available: ${available}`
        : `Requested memory nodes are not available - requested ${requested}, available: ${available}`);
    }
  }
}

/** The resource fields after dockerd's create-time defaults and host adjustments. */
export interface AdjustedResources {
  memory: number;
  memorySwap: number;
  memoryReservation: number;
  memorySwappiness: number | undefined;
  oomKillDisable: boolean | undefined;
  pidsLimit: number | null | undefined;
}

/**
 * dockerd's checks of the resources (adaptContainerSettings + verifyPlatformContainerResources):
 * throws `invalid-argument` with Docker's message, returns the warnings Docker would return and the
 * values it would then use. With `update` (docker update: only the fields given), as dockerd's update:
 * no create-time defaults, and a swap limit alone is fine (the memory limit is the container's).
 */
export function checkResources(hc: HostConfig, host: ResourceHost, warnings: string[], update = false): AdjustedResources {
  const memory = hc.Memory ?? 0;
  // adaptContainerSettings: swap defaults to twice the memory; OomKillDisable to false.
  let memorySwap = hc.MemorySwap ?? 0;
  if (!update && memory > 0 && memorySwap === 0) memorySwap = memory * 2;
  let memoryReservation = hc.MemoryReservation ?? 0;
  let swappiness = hc.MemorySwappiness ?? undefined;
  if (swappiness === -1) swappiness = undefined; // fixMemorySwappiness
  let oomKillDisable: boolean | undefined = hc.OomKillDisable ?? false;
  let pidsLimit = hc.PidsLimit;

  if (memory !== 0 && memory < LINUX_MIN_MEMORY) throw errInvalid('Minimum memory limit allowed is 6MB');
  if (memory > 0 && memorySwap !== -1 && !host.swapLimit) {
    warnings.push('Your kernel does not support swap limit capabilities or the cgroup is not mounted. Memory limited without swap.');
    memorySwap = -1;
  }
  if (memory > 0 && memorySwap > 0 && memorySwap < memory) {
    throw errInvalid('Minimum memoryswap limit should be larger than memory limit, see usage');
  }
  if (!update && memory === 0 && memorySwap > 0) throw errInvalid('You should always set the Memory limit when using Memoryswap limit, see usage');
  if (swappiness !== undefined && host.cgroup2) {
    warnings.push('Your kernel does not support memory swappiness capabilities or the cgroup is not mounted. Memory swappiness discarded.');
    swappiness = undefined;
  }
  if (swappiness !== undefined && (swappiness < 0 || swappiness > 100)) {
    throw errInvalid(`Invalid value: ${swappiness}, valid memory swappiness range is 0-100`);
  }
  if (memoryReservation > 0 && memoryReservation < LINUX_MIN_MEMORY) throw errInvalid('Minimum memory reservation allowed is 6MB');
  if (memory > 0 && memoryReservation > 0 && memory < memoryReservation) {
    throw errInvalid('Minimum memory limit can not be less than memory reservation limit, see usage');
  }
  if (host.cgroup2) {
    // cgroup v2 has no memory.oom_control.
    if (oomKillDisable) warnings.push('Your kernel does not support OomKillDisable. OomKillDisable discarded.');
    oomKillDisable = undefined;
  }
  if (oomKillDisable && memory === 0) {
    warnings.push('OOM killer is disabled for the container, but no memory limit is set, this can result in the system running out of resources.');
  }

  const nano = hc.NanoCpus ?? 0;
  const period = hc.CpuPeriod ?? 0;
  const quota = hc.CpuQuota ?? 0;
  if (nano > 0 && period > 0) throw errInvalid('Conflicting options: Nano CPUs and CPU Period cannot both be set');
  if (nano > 0 && quota > 0) throw errInvalid('Conflicting options: Nano CPUs and CPU Quota cannot both be set');
  if (nano !== 0 && (nano < 0 || nano > host.numCpus * 1e9)) {
    throw errInvalid(`range of CPUs is from 0.01 to ${host.numCpus}.00, as there are only ${host.numCpus} CPUs available`);
  }
  if (period !== 0 && (period < 1000 || period > 1000000)) {
    throw errInvalid('CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)');
  }
  if (quota > 0 && quota < 1000) throw errInvalid('CPU cfs quota can not be less than 1ms (i.e. 1000)');
  if ((hc.CpuShares ?? 0) < 0) throw errInvalid(`invalid CPU shares (${hc.CpuShares}): value must be a positive integer`);
  if (hc.CpusetCpus) subset(hc.CpusetCpus, host.cpus, 'cpus');
  if (hc.CpusetMems) subset(hc.CpusetMems, host.mems, 'mems');

  const weight = hc.BlkioWeight ?? 0;
  if (weight > 0 && (weight < 10 || weight > 1000)) throw errInvalid('Range of blkio weight is from 10 to 1000');
  if (pidsLimit === undefined) pidsLimit = null;
  return { memory, memorySwap, memoryReservation, memorySwappiness: swappiness, oomKillDisable, pidsLimit };
}

/** Linux's major/minor split of a dev_t (glibc gnu_dev_major/minor). */
export function devNumbers(rdev: number | bigint): { major: number; minor: number } {
  const d = BigInt(rdev);
  const major = Number(((d >> 8n) & 0xfffn) | ((d >> 32n) & ~0xfffn));
  const minor = Number((d & 0xffn) | ((d >> 12n) & ~0xffn));
  return { major, minor };
}

// A Go os.PathError text: "stat /dev/nope: no such file or directory".
function statError(op: string, path: string, err: unknown): Error {
  const e = err as NodeJS.ErrnoException;
  const reason = e.code === 'ENOENT' ? 'no such file or directory' : e.code === 'EACCES' ? 'permission denied' : (e.message ?? String(err));
  return errInvalid(`${op} ${path}: ${reason}`, err);
}

function rdevOf(path: string): { major: number; minor: number } {
  let st: Stats;
  try {
    st = statSync(path);
  } catch (err) {
    throw statError('stat', path, err);
  }
  return devNumbers(st.rdev);
}

/**
 * A memory limit in bytes for the spec. Past 2^53 (8 PiB, more than any host has) a double no longer holds the
 * client's exact value (9223372036854775807, Go's "no limit", arrives as 2^63): such a limit is no limit, -1.
 */
export function memoryBytes(v: number): number {
  return Number.isSafeInteger(v) ? v : -1;
}

/** linux.resources for the adjusted HostConfig: memory, cpu, blockIO, pids (devices are added apart). */
export function buildResources(hc: HostConfig, adj: AdjustedResources): LinuxResources {
  const r: LinuxResources = {};
  const memory: NonNullable<LinuxResources['memory']> = {};
  if (adj.memory > 0) memory.limit = memoryBytes(adj.memory);
  if (adj.memoryReservation > 0) memory.reservation = memoryBytes(adj.memoryReservation);
  if (adj.memorySwap > 0) memory.swap = memoryBytes(adj.memorySwap);
  if (adj.memorySwappiness !== undefined) memory.swappiness = adj.memorySwappiness;
  if (adj.oomKillDisable !== undefined) memory.disableOOMKiller = adj.oomKillDisable;
  if (Object.keys(memory).length) r.memory = memory;

  const cpu: NonNullable<LinuxResources['cpu']> = {};
  if (hc.CpuShares) cpu.shares = hc.CpuShares;
  if (hc.CpusetCpus) cpu.cpus = hc.CpusetCpus;
  if (hc.CpusetMems) cpu.mems = hc.CpusetMems;
  if ((hc.NanoCpus ?? 0) > 0) {
    // sched-bwc: a 100ms period, and the quota that many CPUs get of it.
    cpu.period = 100000;
    cpu.quota = Math.trunc((hc.NanoCpus! * 100000) / 1e9);
  }
  if (hc.CpuPeriod) cpu.period = hc.CpuPeriod;
  if (hc.CpuQuota) cpu.quota = hc.CpuQuota;
  if (hc.CpuRealtimePeriod) cpu.realtimePeriod = hc.CpuRealtimePeriod;
  if (hc.CpuRealtimeRuntime) cpu.realtimeRuntime = hc.CpuRealtimeRuntime;
  if (Object.keys(cpu).length) r.cpu = cpu;

  // dockerd always writes blockIO, empty when nothing is set.
  const blockIO: NonNullable<LinuxResources['blockIO']> = {};
  const weightDevice = (hc.BlkioWeightDevice ?? []).map((w) => ({ ...rdevOf(w.Path), weight: w.Weight }));
  if (weightDevice.length) blockIO.weightDevice = weightDevice;
  const throttle = (list: Array<{ Path: string; Rate: number }> | null | undefined): ThrottleDevice[] =>
    (list ?? []).map((t) => ({ ...rdevOf(t.Path), rate: t.Rate }));
  const rbps = throttle(hc.BlkioDeviceReadBps);
  const wbps = throttle(hc.BlkioDeviceWriteBps);
  const riops = throttle(hc.BlkioDeviceReadIOps);
  const wiops = throttle(hc.BlkioDeviceWriteIOps);
  if (rbps.length) blockIO.throttleReadBpsDevice = rbps;
  if (wbps.length) blockIO.throttleWriteBpsDevice = wbps;
  if (riops.length) blockIO.throttleReadIOPSDevice = riops;
  if (wiops.length) blockIO.throttleWriteIOPSDevice = wiops;
  if (hc.BlkioWeight) blockIO.weight = hc.BlkioWeight;
  r.blockIO = blockIO;

  // The API allows 0 and negatives to mean unlimited; runc needs -1 to unset on update.
  if (adj.pidsLimit !== null && adj.pidsLimit !== undefined) r.pids = { limit: adj.pidsLimit <= 0 ? -1 : adj.pidsLimit };
  return r;
}

/** Docker's default device cgroup rules (oci.DefaultLinuxSpec): deny all, the basic nodes, deny fuse. */
export function dockerDefaultDeviceRules(): DeviceCgroupRule[] {
  const allow = (major: number, minor: number): DeviceCgroupRule => ({ allow: true, type: 'c', major, minor, access: 'rwm' });
  return [
    { allow: false, access: 'rwm' },
    allow(1, 5), allow(1, 3), allow(1, 9), allow(1, 8), allow(5, 0), allow(5, 1),
    { allow: false, type: 'c', major: 10, minor: 229, access: 'rwm' },
  ];
}

/** containerd's DeviceFromPath: the node at `path` (lstat), or undefined if it is not a device. */
export function deviceFromPath(path: string): Device | undefined {
  const st = lstatSync(path);
  const fmt = st.mode & 0o170000;
  const type = fmt === 0o060000 ? 'b' : fmt === 0o020000 ? 'c' : fmt === 0o010000 ? 'p' : undefined;
  if (!type) return undefined;
  return { type, path, ...devNumbers(st.rdev), fileMode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
}

function cgroupRule(d: Device, access: string): DeviceCgroupRule {
  return { allow: true, type: d.type, major: d.major ?? null, minor: d.minor ?? null, access };
}

/**
 * moby's DevicesFromPath: one device (a symlink on the host is followed), or every device under a
 * directory, each at the same place under `pathInContainer`, with its cgroup rule.
 */
export function devicesFromPath(pathOnHost: string, pathInContainer: string, permissions: string): { devices: Device[]; rules: DeviceCgroupRule[] } {
  let resolved = pathOnHost;
  try {
    if (lstatSync(pathOnHost).isSymbolicLink()) resolved = realpathSync(pathOnHost);
  } catch { /* reported below */ }
  const devices: Device[] = [];
  const rules: DeviceCgroupRule[] = [];
  let cause: unknown;
  try {
    const d = deviceFromPath(resolved);
    if (d) {
      d.path = pathInContainer;
      return { devices: [d], rules: [cgroupRule(d, permissions)] };
    }
    cause = new Error('not a device node');
    if (statSync(resolved).isDirectory()) {
      const walk = (dir: string) => {
        let names: string[];
        try {
          names = readdirSync(dir);
        } catch {
          return;
        }
        for (const name of names.sort()) {
          const p = join(dir, name);
          let d: Device | undefined;
          try {
            d = deviceFromPath(p);
          } catch {
            continue;
          }
          if (d) {
            d.path = pathInContainer + p.slice(resolved.length);
            devices.push(d);
            rules.push(cgroupRule(d, permissions));
          } else if (lstatSync(p).isDirectory()) {
            walk(p);
          }
        }
      };
      walk(resolved);
    }
  } catch (err) {
    cause = err;
  }
  if (devices.length) return { devices, rules };
  const reason = (cause as NodeJS.ErrnoException)?.code === 'ENOENT' ? `lstat ${resolved}: no such file or directory` : (cause as Error).message;
  throw errInvalid(`error gathering device information while adding custom device "${pathOnHost}": ${reason}`, cause);
}

// containerd's HostDevices: the directories under /dev that are not devices of the host's own.
const SKIP_DIRS = new Set(['pts', 'shm', 'fd', 'mqueue', '.lxc', '.lxd-mounts', '.udev']);

/** Every device node under the host's /dev, as a privileged container gets them (containerd HostDevices). */
export function hostDevices(dir = '/dev'): Device[] {
  const out: Device[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of names.sort()) {
    const p = join(dir, name);
    let st: Stats;
    try {
      st = lstatSync(p);
    } catch {
      continue;
    }
    if (st.isDirectory()) {
      if (!SKIP_DIRS.has(name)) out.push(...hostDevices(p));
      continue;
    }
    if (name === 'console') continue;
    const d = deviceFromPath(p);
    if (d && d.type !== 'p') out.push(d);
  }
  return out;
}

const DEVICE_RULE = /^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$/;

/** One `DeviceCgroupRules` entry (`c 1:3 rwm`, `*` as -1) as moby's AppendDevicePermissionsFromCgroupRules. */
export function parseDeviceCgroupRule(rule: string): DeviceCgroupRule {
  const m = DEVICE_RULE.exec(rule);
  if (!m) throw errInvalid(`invalid device cgroup rule format: '${rule}'`);
  const num = (s: string) => (s === '*' ? -1 : Number(s));
  return { allow: true, type: m[1]!, major: num(m[2]!), minor: num(m[3]!), access: m[4]! };
}

/**
 * linux.devices and the device cgroup rules (moby WithDevices). Privileged: every host device, plus
 * mapped devices at a different path, and "allow all". Otherwise the mapped devices and
 * DeviceCgroupRules. dockerd appends its rule list to the spec's default rules after starting from
 * them, so the defaults appear twice; kept, so the spec diffs clean against a real one.
 */
export function buildDevices(hc: HostConfig, warnings: string[], hostDevs: () => Device[] = hostDevices): { devices: Device[]; rules: DeviceCgroupRule[] } {
  const defaults = dockerDefaultDeviceRules();
  const devices: Device[] = [];
  let perms: DeviceCgroupRule[];
  const mappings: DeviceMapping[] = hc.Devices ?? [];
  if (hc.Privileged) {
    devices.push(...hostDevs());
    for (const m of mappings) {
      if (m.CgroupPermissions !== 'rwm') warnings.push(`custom ${m.CgroupPermissions} permissions for device ${m.PathOnHost} are ignored in privileged mode`);
      if (m.PathOnHost === m.PathInContainer) continue;
      devices.push(...devicesFromPath(m.PathOnHost, m.PathInContainer, 'rwm').devices);
    }
    perms = [{ allow: true, access: 'rwm' }];
  } else {
    perms = [...defaults];
    for (const m of mappings) {
      const got = devicesFromPath(m.PathOnHost, m.PathInContainer || m.PathOnHost, m.CgroupPermissions || 'rwm');
      devices.push(...got.devices);
      perms.push(...got.rules);
    }
    for (const r of hc.DeviceCgroupRules ?? []) perms.push(parseDeviceCgroupRule(r));
  }
  return { devices, rules: [...defaults, ...perms] };
}

// go-units' ulimit names (`as` is left out there too: unusable the way containers start).
const ULIMIT_NAMES = new Set(['core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice', 'nofile', 'nproc', 'rss', 'rtprio', 'rttime', 'sigpending', 'stack']);
// -1 is unlimited: uint64(-1) = RLIM_INFINITY, which JSON carries as 2^64-1 (a double rounds it up).
const RLIM_INFINITY = 2 ** 64 - 1;

/**
 * process.rlimits: the container's Ulimits, then the daemon's defaults for names it does not set
 * (moby mergeUlimits + withRlimits). Undefined when there are none (the runtime's own are inherited).
 */
export function buildRlimits(ulimits: readonly Ulimit[] | null | undefined, daemonDefaults: readonly Ulimit[] = []): Rlimit[] | undefined {
  const own = [...(ulimits ?? [])];
  const names = new Set(own.map((u) => u.Name));
  const all = [...own, ...daemonDefaults.filter((u) => !names.has(u.Name))];
  if (!all.length) return undefined;
  return all.map((u) => {
    if (!ULIMIT_NAMES.has(u.Name)) throw errInvalid(`invalid ulimit type: ${u.Name}`);
    const soft = u.Soft < 0 ? RLIM_INFINITY : u.Soft;
    const hard = u.Hard < 0 ? RLIM_INFINITY : u.Hard;
    if (u.Hard >= 0 && (u.Soft < 0 || u.Soft > u.Hard)) {
      throw errInvalid(u.Soft < 0
        ? `ulimit soft limit must be less than or equal to hard limit: soft: -1 (unlimited), hard: ${u.Hard}`
        : `ulimit soft limit must be less than or equal to hard limit: ${u.Soft} > ${u.Hard}`);
    }
    return { type: `RLIMIT_${u.Name.toUpperCase()}`, soft, hard };
  });
}
