// Linux ABI constants (x86_64 values, the same on every arch Berth targets) used to build plans.
import type { NamespaceType } from './spec/types.js';

/** `CLONE_NEW*` flags, clone(2) / unshare(2). */
export const CLONE_NEWTIME = 0x80;
export const CLONE_NEWNS = 0x20000;
export const CLONE_NEWCGROUP = 0x02000000;
export const CLONE_NEWUTS = 0x04000000;
export const CLONE_NEWIPC = 0x08000000;
export const CLONE_NEWUSER = 0x10000000;
export const CLONE_NEWPID = 0x20000000;
export const CLONE_NEWNET = 0x40000000;

/** `MS_*` flags, mount(2). */
export const MS_RDONLY = 1;
export const MS_NOSUID = 2;
export const MS_NODEV = 4;
export const MS_NOEXEC = 8;
export const MS_SYNCHRONOUS = 16;
export const MS_REMOUNT = 32;
export const MS_MANDLOCK = 64;
export const MS_DIRSYNC = 128;
export const MS_NOSYMFOLLOW = 256;
export const MS_NOATIME = 1024;
export const MS_NODIRATIME = 2048;
export const MS_BIND = 4096;
export const MS_MOVE = 8192;
export const MS_REC = 16384;
export const MS_SILENT = 32768;
export const MS_UNBINDABLE = 1 << 17;
export const MS_PRIVATE = 1 << 18;
export const MS_SLAVE = 1 << 19;
export const MS_SHARED = 1 << 20;
export const MS_RELATIME = 1 << 21;
export const MS_STRICTATIME = 1 << 24;

/** errno values the plan needs (asm-generic). */
export const EPERM = 1;

/** `RLIMIT_*` resource numbers, getrlimit(2). */
export const RLIMITS: Readonly<Record<string, number>> = Object.freeze({
  RLIMIT_CPU: 0,
  RLIMIT_FSIZE: 1,
  RLIMIT_DATA: 2,
  RLIMIT_STACK: 3,
  RLIMIT_CORE: 4,
  RLIMIT_RSS: 5,
  RLIMIT_NPROC: 6,
  RLIMIT_NOFILE: 7,
  RLIMIT_MEMLOCK: 8,
  RLIMIT_AS: 9,
  RLIMIT_LOCKS: 10,
  RLIMIT_SIGPENDING: 11,
  RLIMIT_MSGQUEUE: 12,
  RLIMIT_NICE: 13,
  RLIMIT_RTPRIO: 14,
  RLIMIT_RTTIME: 15,
});

/** Per OCI namespace type: its clone flag, the plan's `setns` type name, and its /proc/PID/ns file. */
export const NAMESPACES: Readonly<Record<NamespaceType, { flag: number; plan: string; procFile: string }>> = Object.freeze({
  user: { flag: CLONE_NEWUSER, plan: 'user', procFile: 'user' },
  ipc: { flag: CLONE_NEWIPC, plan: 'ipc', procFile: 'ipc' },
  uts: { flag: CLONE_NEWUTS, plan: 'uts', procFile: 'uts' },
  network: { flag: CLONE_NEWNET, plan: 'net', procFile: 'net' },
  pid: { flag: CLONE_NEWPID, plan: 'pid', procFile: 'pid' },
  mount: { flag: CLONE_NEWNS, plan: 'mnt', procFile: 'mnt' },
  cgroup: { flag: CLONE_NEWCGROUP, plan: 'cgroup', procFile: 'cgroup' },
  time: { flag: CLONE_NEWTIME, plan: 'time', procFile: 'time' },
});

/** The OCI namespace types, in the order the spec lists them. */
export const NAMESPACE_TYPES: readonly NamespaceType[] = ['pid', 'network', 'mount', 'ipc', 'uts', 'user', 'cgroup', 'time'];
