// cgroup v2: converting OCI (v1-shaped) resources to unified-hierarchy values and writing them.
import { errPrecondition, errnoOf } from '../../../common/errors.js';
import type { LinuxResources } from '../../spec/types.js';
import type { CgroupDir } from '../fs.js';
import { rdmaLines } from '../v1/resources.js';

/**
 * cpu.shares (2..262144, default 1024) to cpu.weight (1..10000, default 100): the linear map
 * runc and crun use, so the same spec gives the same weight under every runtime. 0 = unset.
 */
export function sharesToWeight(shares: number): number {
  if (!shares) return 0;
  const w = 1 + Math.trunc(((shares - 2) * 9999) / 262142);
  return Math.min(10000, Math.max(1, w));
}

/** blkio weight (10..1000) to io.weight (1..10000), the same linear map runc uses. 0 = unset. */
export function blkioWeightToIoWeight(weight: number): number {
  if (!weight) return 0;
  return Math.min(10000, Math.max(1, 1 + Math.trunc(((weight - 10) * 9999) / 990)));
}

/**
 * OCI memory.swap is memory+swap (v1's memsw); v2's memory.swap.max is swap alone.
 * Returns the memory.swap.max value, or undefined to leave it alone.
 */
export function swapToV2(limit: number | undefined, swap: number | undefined): string | undefined {
  if (swap === -1) return 'max';
  if (!swap) return limit === -1 ? 'max' : undefined;
  // validateResources guarantees limit > 0 and swap >= limit here.
  return String(swap - (limit ?? 0));
}

/** A byte/count value: -1 is v2's `max`. */
const num = (n: number) => (n === -1 ? 'max' : String(n));

/** Context for the appliers: where to write, and where to put warnings. */
export interface V2ApplyContext {
  d: CgroupDir;
  warn: (msg: string) => void;
}

/**
 * Write a controller file; a missing file means the controller is not enabled for this cgroup
 * (or the kernel lacks the feature), which deserves a clearer message than ENOENT.
 */
async function put(c: V2ApplyContext, file: string, value: string | number): Promise<void> {
  try {
    await c.d.write(file, value);
  } catch (err) {
    if (errnoOf(err) !== 'ENOENT') throw err;
    const controller = file.split('.')[0];
    throw errPrecondition(
      `cgroup "${c.d.cgPath}": write ${file}: no such file (controller "${controller}" not enabled in the parent's cgroup.subtree_control, or not supported)`,
      err,
    );
  }
}

export async function applyCpuset(c: V2ApplyContext, res: LinuxResources): Promise<void> {
  if (res.cpu?.cpus) await put(c, 'cpuset.cpus', res.cpu.cpus);
  if (res.cpu?.mems) await put(c, 'cpuset.mems', res.cpu.mems);
}

export async function applyMemory(c: V2ApplyContext, res: LinuxResources): Promise<void> {
  const m = res.memory;
  if (!m) return;
  if (m.limit) await put(c, 'memory.max', num(m.limit));
  if (m.reservation) await put(c, 'memory.low', num(m.reservation));
  const swap = swapToV2(m.limit, m.swap);
  if (swap !== undefined) {
    if (await c.d.exists('memory.swap.max')) await put(c, 'memory.swap.max', swap);
    // Without swap accounting, "unlimited" is already the case; a real limit cannot be had.
    else if (swap !== 'max') throw errPrecondition(`cgroup "${c.d.cgPath}": memory.swap requested but swap accounting is off (no memory.swap.max)`);
  }
  // v2 has no per-cgroup swappiness, OOM-killer switch or kernel-memory limit.
  if (m.swappiness !== undefined && m.swappiness !== -1) c.warn('memory.swappiness is not enforced: cgroup v2 has no per-cgroup swappiness');
  if (m.disableOOMKiller) c.warn('memory.disableOOMKiller is not enforced: cgroup v2 cannot disable the OOM killer');
  if (m.kernel || m.kernelTCP) c.warn('memory.kernel/kernelTCP are not enforced: cgroup v2 accounts kernel memory within memory.max');
}

export async function applyCpu(c: V2ApplyContext, res: LinuxResources): Promise<void> {
  const cpu = res.cpu;
  if (!cpu) return;
  const weight = sharesToWeight(cpu.shares ?? 0);
  if (weight) await put(c, 'cpu.weight', weight);
  if (cpu.quota || cpu.period) {
    // cpu.max is "QUOTA PERIOD"; a quota <= 0 is unlimited, and an omitted period keeps the current one.
    const quota = cpu.quota && cpu.quota > 0 ? String(cpu.quota) : 'max';
    await put(c, 'cpu.max', cpu.period ? `${quota} ${cpu.period}` : quota);
  }
  if (cpu.burst !== undefined && (cpu.burst !== 0 || (await c.d.exists('cpu.max.burst')))) await put(c, 'cpu.max.burst', cpu.burst);
  if (cpu.idle !== undefined && (cpu.idle !== 0 || (await c.d.exists('cpu.idle')))) await put(c, 'cpu.idle', cpu.idle);
}

export async function applyPids(c: V2ApplyContext, res: LinuxResources): Promise<void> {
  if (res.pids) await put(c, 'pids.max', res.pids.limit > 0 ? res.pids.limit : 'max');
}

/** The io.max lines for the throttle lists, one per device with every key it has (0 = `max`, no limit). */
export function ioMaxLines(res: LinuxResources): string[] {
  const b = res.blockIO;
  if (!b) return [];
  const byDev = new Map<string, string[]>();
  const add = (list: typeof b.throttleReadBpsDevice, key: string) => {
    for (const t of list ?? []) {
      const dev = `${t.major}:${t.minor}`;
      const parts = byDev.get(dev) ?? [];
      parts.push(`${key}=${t.rate > 0 ? t.rate : 'max'}`);
      byDev.set(dev, parts);
    }
  };
  add(b.throttleReadBpsDevice, 'rbps');
  add(b.throttleWriteBpsDevice, 'wbps');
  add(b.throttleReadIOPSDevice, 'riops');
  add(b.throttleWriteIOPSDevice, 'wiops');
  return [...byDev].map(([dev, parts]) => `${dev} ${parts.join(' ')}`);
}

/**
 * io: weights go to io.bfq.weight when BFQ is the scheduler (same 10..1000 scale as blkio),
 * else to io.weight converted to its 1..10000 scale. Throttles become io.max lines.
 */
export async function applyIo(c: V2ApplyContext, res: LinuxResources): Promise<void> {
  const b = res.blockIO;
  if (!b) return;
  const bfq = await c.d.exists('io.bfq.weight');
  const conv = (w: number) => (bfq ? w : blkioWeightToIoWeight(w));
  const file = bfq ? 'io.bfq.weight' : 'io.weight';
  if (b.weight) await put(c, file, conv(b.weight));
  for (const wd of b.weightDevice ?? []) if (wd.weight) await put(c, file, `${wd.major}:${wd.minor} ${conv(wd.weight)}`);
  if (b.leafWeight || b.weightDevice?.some((w) => w.leafWeight)) c.warn('blockIO leafWeight is not enforced: cgroup v2 has no leaf weights');
  for (const line of ioMaxLines(res)) await put(c, 'io.max', line);
}

export async function applyHugetlb(c: V2ApplyContext, res: LinuxResources): Promise<void> {
  for (const h of res.hugepageLimits ?? []) await put(c, `hugetlb.${h.pageSize}.max`, h.limit);
}

export async function applyRdma(c: V2ApplyContext, res: LinuxResources): Promise<void> {
  for (const line of rdmaLines(res)) await put(c, 'rdma.max', line);
}

/** Device rules need an eBPF program on v2; we do not attach one, and say so. */
export async function applyDevices(c: V2ApplyContext, res: LinuxResources): Promise<void> {
  if (res.devices?.length) {
    c.warn('device rules are not enforced on cgroup v2: that needs an eBPF device program (BPF_CGROUP_DEVICE), which this implementation does not attach');
  }
}

/** unified: written verbatim, last, so it can refine anything above (keys were validated). */
export async function applyUnified(c: V2ApplyContext, res: LinuxResources): Promise<void> {
  for (const [k, v] of Object.entries(res.unified ?? {})) await put(c, k, v);
}

/** Every applier, in order; cpuset first, unified last. */
export const V2_APPLIERS = [applyCpuset, applyMemory, applyCpu, applyPids, applyIo, applyHugetlb, applyRdma, applyDevices, applyUnified];
