// Checks on LinuxResources made before any directory is created, so a bad spec leaves nothing behind.
import { errInvalid, errPrecondition } from '../../common/errors.js';
import type { DeviceCgroupRule, LinuxResources } from '../spec/types.js';

const isInt = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n);

/** Hugepage size as the kernel names its files (`hugetlb.2MB.limit_in_bytes`, `hugetlb.1GB.max`). */
export const HUGEPAGE_SIZE_RE = /^[1-9][0-9]*[KMG]B$/;

/** unified keys are file names in the cgroup dir: `memory.high`, `cpu.max.burst`. */
const UNIFIED_KEY_RE = /^[a-z0-9_]+\.[a-z0-9_.]+$/i;
/** Files that move or kill processes or reshape the tree are not resources. */
const UNIFIED_FORBIDDEN = new Set(['cgroup.procs', 'cgroup.threads', 'cgroup.kill', 'cgroup.type', 'cgroup.freeze']);

/**
 * Validate `res` for a manager of the given version. `where` names the cgroup in messages.
 * Only shape and cross-field rules live here; what the kernel supports is found when writing.
 */
export function validateResources(res: LinuxResources, version: 1 | 2, where: string): void {
  const bad = (what: string) => errInvalid(`cgroup "${where}": ${what}`);
  const mem = res.memory;
  if (mem) {
    for (const k of ['limit', 'reservation', 'swap', 'kernel', 'kernelTCP'] as const) {
      const v = mem[k];
      if (v !== undefined && (!isInt(v) || v < -1)) throw bad(`memory.${k} ${v}: must be an integer >= -1`);
    }
    const { limit, swap } = mem;
    if (swap !== undefined && swap > 0 && limit !== undefined && limit > 0 && swap < limit) {
      throw bad(`memory.swap ${swap} is memory+swap and must be >= memory.limit ${limit}`);
    }
    // v2 keeps swap apart from memory, so memory+swap can only be converted with a memory limit.
    if (version === 2 && swap !== undefined && swap > 0 && !(limit !== undefined && limit > 0)) {
      throw bad(`memory.swap ${swap} needs a memory.limit on cgroup v2 (swap.max = swap - limit)`);
    }
    const sw = mem.swappiness;
    if (sw !== undefined && sw !== -1 && (!isInt(sw) || sw < 0 || sw > 100)) throw bad(`memory.swappiness ${sw}: must be 0..100`);
  }
  const cpu = res.cpu;
  if (cpu) {
    for (const k of ['shares', 'period', 'realtimePeriod', 'burst'] as const) {
      const v = cpu[k];
      if (v !== undefined && (!isInt(v) || v < 0)) throw bad(`cpu.${k} ${v}: must be a non-negative integer`);
    }
    for (const k of ['quota', 'realtimeRuntime', 'idle'] as const) {
      const v = cpu[k];
      if (v !== undefined && !isInt(v)) throw bad(`cpu.${k} ${v}: must be an integer`);
    }
    if (version === 2 && (cpu.realtimeRuntime || cpu.realtimePeriod)) {
      throw errPrecondition(`cgroup "${where}": cpu realtime runtime/period are not supported on cgroup v2`);
    }
  }
  if (res.pids && !isInt(res.pids.limit)) throw bad(`pids.limit ${res.pids.limit}: must be an integer`);
  const bio = res.blockIO;
  if (bio) {
    const weightOk = (w: number | undefined) => w === undefined || w === 0 || (isInt(w) && w >= 10 && w <= 1000);
    if (!weightOk(bio.weight)) throw bad(`blockIO.weight ${bio.weight}: must be 10..1000`);
    if (!weightOk(bio.leafWeight)) throw bad(`blockIO.leafWeight ${bio.leafWeight}: must be 10..1000`);
    for (const d of bio.weightDevice ?? []) {
      if (!isInt(d.major) || !isInt(d.minor) || !weightOk(d.weight) || !weightOk(d.leafWeight)) {
        throw bad(`blockIO.weightDevice ${d.major}:${d.minor}: invalid device or weight`);
      }
    }
    for (const list of [bio.throttleReadBpsDevice, bio.throttleWriteBpsDevice, bio.throttleReadIOPSDevice, bio.throttleWriteIOPSDevice]) {
      for (const d of list ?? []) {
        if (!isInt(d.major) || !isInt(d.minor) || !isInt(d.rate) || d.rate < 0) throw bad(`blockIO throttle ${d.major}:${d.minor} rate ${d.rate}: invalid`);
      }
    }
  }
  for (const rule of res.devices ?? []) deviceRuleLines(rule, where);
  for (const h of res.hugepageLimits ?? []) {
    if (!HUGEPAGE_SIZE_RE.test(h.pageSize)) throw bad(`hugepageLimits pageSize "${h.pageSize}": must look like 2MB or 1GB`);
    if (!isInt(h.limit) || h.limit < 0) throw bad(`hugepageLimits ${h.pageSize} limit ${h.limit}: must be a non-negative integer`);
  }
  if (res.network) {
    if (version === 2 && (res.network.classID !== undefined || res.network.priorities?.length)) {
      throw errPrecondition(`cgroup "${where}": network classID/priorities need the v1 net_cls/net_prio controllers, absent on cgroup v2`);
    }
    const id = res.network.classID;
    if (id !== undefined && (!isInt(id) || id < 0 || id > 0xffffffff)) throw bad(`network.classID ${id}: must be a 32-bit unsigned integer`);
    for (const p of res.network.priorities ?? []) {
      if (!/^[^\s/]+$/.test(p.name) || !isInt(p.priority) || p.priority < 0) throw bad(`network.priorities "${p.name}": invalid`);
    }
  }
  for (const [dev, lim] of Object.entries(res.rdma ?? {})) {
    if (!/^[^\s=]+$/.test(dev)) throw bad(`rdma device "${dev}": invalid name`);
    for (const v of [lim.hcaHandles, lim.hcaObjects]) if (v !== undefined && (!isInt(v) || v < 0)) throw bad(`rdma ${dev}: invalid limit ${v}`);
  }
  const unified = Object.entries(res.unified ?? {});
  if (unified.length > 0 && version === 1) {
    throw errPrecondition(`cgroup "${where}": unified resources need cgroup v2, this host uses v1`);
  }
  for (const [k, v] of unified) {
    if (!UNIFIED_KEY_RE.test(k) || k.includes('..') || UNIFIED_FORBIDDEN.has(k)) throw bad(`unified key "${k}": not a settable cgroup file name`);
    if (v.includes('\0')) throw bad(`unified "${k}": value contains a NUL byte`);
  }
}

/**
 * The v1 devices-controller lines for one OCI rule (`c 1:3 rwm`; `*` for a missing number).
 * Type `a` for all devices with full access is written as `a` (the kernel then resets the whole
 * list); otherwise it becomes a `c` and a `b` line, because the kernel ignores the rest of an `a` line.
 */
export function deviceRuleLines(rule: DeviceCgroupRule, where = ''): string[] {
  const type = rule.type ?? 'a';
  if (!['a', 'b', 'c'].includes(type)) throw errInvalid(`cgroup "${where}": device rule type "${type}": must be a, b or c`);
  const access = rule.access ?? 'rwm';
  if (!/^[rwm]{1,3}$/.test(access) || new Set(access).size !== access.length) {
    throw errInvalid(`cgroup "${where}": device rule access "${access}": must be letters from rwm`);
  }
  const num = (n: number | null | undefined, what: string) => {
    if (n === undefined || n === null || n === -1) return '*';
    if (!isInt(n) || n < 0) throw errInvalid(`cgroup "${where}": device rule ${what} ${n}: invalid`);
    return String(n);
  };
  const spec = `${num(rule.major, 'major')}:${num(rule.minor, 'minor')}`;
  if (type === 'a') {
    if (access.length === 3 && spec === '*:*') return ['a'];
    return [`c ${spec} ${access}`, `b ${spec} ${access}`];
  }
  return [`${type} ${spec} ${access}`];
}
