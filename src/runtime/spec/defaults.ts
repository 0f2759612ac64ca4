// Default OCI specs: what `berth-runc spec` writes (runc's example spec), and Docker's defaults as data.
import { existsSync } from 'node:fs';
import type { DeviceCgroupRule, LinuxResources, Mount, Namespace, Spec } from './types.js';

/** The runtime-spec version Berth writes. */
export const OCI_SPEC_VERSION = '1.2.0';

/** Docker's default capability set, the 14 of moby's `caps.DefaultCapabilities()`, in its order. */
export const DOCKER_DEFAULT_CAPS: readonly string[] = Object.freeze([
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL',
  'CAP_AUDIT_WRITE',
]);

/**
 * Docker's masked paths (moby `daemon/pkg/oci/defaults.go`). dockerd also masks
 * `/sys/devices/system/cpu/cpuN/thermal_throttle` for each CPU where it exists; the engine adds those.
 */
export const DOCKER_MASKED_PATHS: readonly string[] = Object.freeze([
  '/proc/acpi', '/proc/asound', '/proc/interrupts', '/proc/kcore', '/proc/keys', '/proc/latency_stats',
  '/proc/sched_debug', '/proc/scsi', '/proc/timer_list', '/proc/timer_stats',
  '/sys/devices/virtual/powercap', '/sys/firmware',
]);

/** Docker's read-only paths (moby `daemon/pkg/oci/defaults.go`). */
export const DOCKER_READONLY_PATHS: readonly string[] = Object.freeze([
  '/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger',
]);

/** runc's example masked paths (`runc spec`). */
export const RUNC_MASKED_PATHS: readonly string[] = Object.freeze([
  '/proc/acpi', '/proc/asound', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
  '/proc/timer_stats', '/proc/sched_debug', '/sys/firmware', '/proc/scsi', '/sys/devices/virtual/tpm',
]);

/** runc's example read-only paths (`runc spec`); the same as Docker's. */
export const RUNC_READONLY_PATHS: readonly string[] = DOCKER_READONLY_PATHS;

export interface DefaultSpecOptions {
  /** Make the spec work for an unprivileged user, as `runc spec --rootless` does. */
  rootless?: boolean;
  /** The process arguments; default `["sh"]`. */
  args?: string[];
  /** Host ids mapped to root in the rootless spec; default the effective uid/gid of this process. */
  uid?: number;
  gid?: number;
  /** Add a cgroup namespace; default: when the host is cgroup v2 only, as runc does. */
  cgroupNamespace?: boolean;
}

function isCgroup2Host(): boolean {
  return existsSync('/sys/fs/cgroup/cgroup.controllers');
}

/**
 * The spec `runc spec` writes, with hostname `berth`. Capabilities are runc's three
 * (AUDIT_WRITE, KILL, NET_BIND_SERVICE) in the bounding, permitted and effective sets only:
 * runc stopped writing the inheritable set (CVE-2022-29162) and the ambient one, since both
 * let the caps survive execve of unprivileged programs.
 */
export function defaultSpec(opts: DefaultSpecOptions = {}): Spec {
  const caps = () => ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];
  const mounts: Mount[] = [
    { destination: '/proc', type: 'proc', source: 'proc' },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
  ];
  const namespaces: Namespace[] = [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }];
  if (opts.cgroupNamespace ?? isCgroup2Host()) namespaces.push({ type: 'cgroup' });
  const spec: Spec = {
    ociVersion: OCI_SPEC_VERSION,
    process: {
      terminal: true,
      user: { uid: 0, gid: 0 },
      args: opts.args ? [...opts.args] : ['sh'],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],
      cwd: '/',
      capabilities: { bounding: caps(), effective: caps(), permitted: caps() },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: true },
    hostname: 'berth',
    mounts,
    linux: {
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      namespaces,
      maskedPaths: [...RUNC_MASKED_PATHS],
      readonlyPaths: [...RUNC_READONLY_PATHS],
    },
  };
  if (opts.rootless) toRootless(spec, opts.uid ?? process.geteuid?.() ?? 0, opts.gid ?? process.getegid?.() ?? 0);
  return spec;
}

// runc's ToRootless: a user namespace mapping the caller to root, no network namespace (an
// unprivileged user could not configure one), /sys bound from the host (sysfs needs a network
// namespace of one's own), no uid=/gid= mount options (those ids are not mapped), no cgroup limits.
function toRootless(spec: Spec, uid: number, gid: number): void {
  const linux = spec.linux!;
  linux.namespaces = (linux.namespaces ?? []).filter((n) => n.type !== 'network' && n.type !== 'user');
  linux.namespaces.push({ type: 'user' });
  linux.uidMappings = [{ containerID: 0, hostID: uid, size: 1 }];
  linux.gidMappings = [{ containerID: 0, hostID: gid, size: 1 }];
  spec.mounts = (spec.mounts ?? []).map((m) => {
    if (m.destination === '/sys') return { destination: '/sys', type: 'none', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] };
    const options = m.options?.filter((o) => !o.startsWith('uid=') && !o.startsWith('gid='));
    return options ? { ...m, options } : { ...m };
  });
  delete linux.resources;
}

/**
 * Device cgroup rules every container gets after its own (runc's AllowedDevices): mknod of any
 * node, and read/write/mknod of the default devices, the pty devices and /dev/net/tun. Without
 * them a spec that starts with "deny all" (Docker's) could not even create /dev/full.
 */
export const DEFAULT_DEVICE_RULES: readonly DeviceCgroupRule[] = Object.freeze([
  { allow: true, type: 'c', major: null, minor: null, access: 'm' },
  { allow: true, type: 'b', major: null, minor: null, access: 'm' },
  { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }, // /dev/null
  { allow: true, type: 'c', major: 1, minor: 8, access: 'rwm' }, // /dev/random
  { allow: true, type: 'c', major: 1, minor: 7, access: 'rwm' }, // /dev/full
  { allow: true, type: 'c', major: 5, minor: 0, access: 'rwm' }, // /dev/tty
  { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm' }, // /dev/zero
  { allow: true, type: 'c', major: 1, minor: 9, access: 'rwm' }, // /dev/urandom
  { allow: true, type: 'c', major: 136, minor: null, access: 'rwm' }, // /dev/pts/*
  { allow: true, type: 'c', major: 5, minor: 2, access: 'rwm' }, // /dev/ptmx
  { allow: true, type: 'c', major: 10, minor: 200, access: 'rwm' }, // /dev/net/tun
]);

/** The resources a container's cgroup gets: the spec's, with the default device rules appended. */
export function effectiveResources(r: LinuxResources | undefined): LinuxResources {
  return { ...(r ?? {}), devices: [...(r?.devices ?? []), ...DEFAULT_DEVICE_RULES] };
}
