// cgroup v1: writing LinuxResources into each controller's files (memory, cpu, cpuset, pids, blkio, devices, hugetlb, net_cls/net_prio, rdma).
import { errPrecondition, errnoOf } from '../../../common/errors.js';
import type { LinuxResources } from '../../spec/types.js';
import { CgroupDir } from '../fs.js';
import { deviceRuleLines } from '../validate.js';

/** Finds the cgroup dir of a controller, or undefined when its hierarchy is not mounted. */
export type ControllerLookup = (controller: string) => CgroupDir | undefined;

/** Context passed to each applier: the lookup, the cgroup path for messages, and a warning sink. */
export interface V1ApplyContext {
  ctl: ControllerLookup;
  path: string;
  warn: (msg: string) => void;
}

/** The controller's dir, or a failed-precondition error naming what needed it. */
function need(c: V1ApplyContext, controller: string, what: string): CgroupDir {
  const d = c.ctl(controller);
  if (!d) throw errPrecondition(`cgroup "${c.path}": ${what} requested but the ${controller} controller is not mounted`);
  return d;
}

/** Write to a file the kernel may not have (feature not built in); missing means unsupported. */
async function writeSupported(d: CgroupDir, file: string, value: string | number, what: string): Promise<void> {
  if (!(await d.exists(file))) throw errPrecondition(`cgroup "${d.cgPath}": ${what} is not supported by this kernel (no ${file})`);
  await d.write(file, value);
}

/**
 * Write two files whose new values must respect each other against the current ones
 * (cfs period/quota, rt period/runtime): try `a` then `b`; if the kernel refuses `a` with
 * EINVAL, it is valid only after `b` has changed, so write `b` first.
 */
async function writePair(d: CgroupDir, a: [string, string | number] | undefined, b: [string, string | number] | undefined): Promise<void> {
  if (!a || !b) {
    if (a) await d.write(...a);
    if (b) await d.write(...b);
    return;
  }
  try {
    await d.write(...a);
  } catch (err) {
    if (errnoOf(err) !== 'EINVAL') throw err;
    await d.write(...b);
    await d.write(...a);
    return;
  }
  await d.write(...b);
}

export async function applyCpuset(c: V1ApplyContext, res: LinuxResources): Promise<void> {
  const cpu = res.cpu;
  if (!cpu?.cpus && !cpu?.mems) return;
  const d = need(c, 'cpuset', 'cpuset');
  if (cpu.cpus) await d.write('cpuset.cpus', cpu.cpus);
  if (cpu.mems) await d.write('cpuset.mems', cpu.mems);
}

/**
 * Memory, memory+swap and related knobs. The kernel keeps memory.limit <= memsw.limit at all
 * times, so when both change the order depends on the direction: raising, memsw first;
 * lowering, memory first. The new memsw compared with the current memory limit decides.
 */
export async function applyMemory(c: V1ApplyContext, res: LinuxResources): Promise<void> {
  const m = res.memory;
  if (!m) return;
  const d = need(c, 'memory', 'memory limits');
  const limit = m.limit ?? 0;
  let swap = m.swap ?? 0;
  // Unlimited memory with swap unset means unlimited memory+swap too (Docker's `update -m -1`),
  // else raising the limit would hit the old memsw ceiling.
  if (limit === -1 && swap === 0) swap = -1;
  const hasMemsw = await d.exists('memory.memsw.limit_in_bytes');
  if (swap !== 0 && swap !== -1 && !hasMemsw) {
    throw errPrecondition(`cgroup "${d.cgPath}": memory.swap requested but swap accounting is off (no memory.memsw.limit_in_bytes; boot with swapaccount=1)`);
  }
  const writeMem = () => d.write('memory.limit_in_bytes', limit);
  const writeSwap = () => d.write('memory.memsw.limit_in_bytes', swap);
  if (limit !== 0 && swap !== 0 && hasMemsw) {
    const current = Number((await d.read('memory.limit_in_bytes')).trim());
    if (swap === -1 || swap > current) {
      await writeSwap();
      await writeMem();
    } else {
      await writeMem();
      await writeSwap();
    }
  } else {
    if (limit !== 0) await writeMem();
    if (swap !== 0 && hasMemsw) await writeSwap();
  }
  if (m.reservation) await d.write('memory.soft_limit_in_bytes', m.reservation);
  if (m.kernel) c.warn('memory.kernel is not enforced: kernel memory limits are deprecated and ignored, as runc does');
  if (m.kernelTCP) await writeSupported(d, 'memory.kmem.tcp.limit_in_bytes', m.kernelTCP, 'memory.kernelTCP');
  if (m.disableOOMKiller) await d.write('memory.oom_control', 1);
  if (m.swappiness !== undefined && m.swappiness !== -1) await d.write('memory.swappiness', m.swappiness);
}

export async function applyCpu(c: V1ApplyContext, res: LinuxResources): Promise<void> {
  const cpu = res.cpu;
  if (!cpu) return;
  const { shares, quota, period, burst, realtimePeriod, realtimeRuntime, idle } = cpu;
  const wants = shares || quota || period || burst !== undefined || realtimePeriod || realtimeRuntime || idle !== undefined;
  if (!wants) return;
  const d = need(c, 'cpu', 'cpu limits');
  if (shares) await d.write('cpu.shares', shares);
  await writePair(d, period ? ['cpu.cfs_period_us', period] : undefined, quota ? ['cpu.cfs_quota_us', quota] : undefined);
  if (burst !== undefined && (burst !== 0 || (await d.exists('cpu.cfs_burst_us')))) {
    await writeSupported(d, 'cpu.cfs_burst_us', burst, 'cpu.burst');
  }
  await writePair(
    d,
    realtimePeriod ? ['cpu.rt_period_us', realtimePeriod] : undefined,
    realtimeRuntime ? ['cpu.rt_runtime_us', realtimeRuntime] : undefined,
  );
  if (idle !== undefined && (idle !== 0 || (await d.exists('cpu.idle')))) await writeSupported(d, 'cpu.idle', idle, 'cpu.idle');
}

export async function applyPids(c: V1ApplyContext, res: LinuxResources): Promise<void> {
  if (!res.pids) return;
  const d = need(c, 'pids', 'pids.limit');
  // OCI: 0 or -1 means no limit.
  await d.write('pids.max', res.pids.limit > 0 ? res.pids.limit : 'max');
}

/**
 * blkio. Weights go to the CFQ files when the kernel has them, else to BFQ's (CFQ was removed
 * in 5.0; BFQ's files take the same 10..1000 scale and `MAJ:MIN weight` lines).
 */
export async function applyBlkio(c: V1ApplyContext, res: LinuxResources): Promise<void> {
  const b = res.blockIO;
  if (!b) return;
  const throttles: Array<[string, typeof b.throttleReadBpsDevice]> = [
    ['blkio.throttle.read_bps_device', b.throttleReadBpsDevice],
    ['blkio.throttle.write_bps_device', b.throttleWriteBpsDevice],
    ['blkio.throttle.read_iops_device', b.throttleReadIOPSDevice],
    ['blkio.throttle.write_iops_device', b.throttleWriteIOPSDevice],
  ];
  const wants = b.weight || b.leafWeight || b.weightDevice?.length || throttles.some(([, l]) => l?.length);
  if (!wants) return;
  const d = need(c, 'blkio', 'blockIO');
  const cfq = await d.exists('blkio.weight');
  const weightFile = cfq ? 'blkio.weight' : 'blkio.bfq.weight';
  const weightDevFile = cfq ? 'blkio.weight_device' : 'blkio.bfq.weight_device';
  if (b.weight) await writeSupported(d, weightFile, b.weight, 'blockIO.weight');
  if (b.leafWeight) await writeSupported(d, 'blkio.leaf_weight', b.leafWeight, 'blockIO.leafWeight');
  for (const wd of b.weightDevice ?? []) {
    if (wd.weight) await writeSupported(d, weightDevFile, `${wd.major}:${wd.minor} ${wd.weight}`, 'blockIO.weightDevice');
    if (wd.leafWeight) await writeSupported(d, 'blkio.leaf_weight_device', `${wd.major}:${wd.minor} ${wd.leafWeight}`, 'blockIO.weightDevice leafWeight');
  }
  // One device per write: the kernel parses a single `MAJ:MIN rate` line (0 removes the limit).
  for (const [file, list] of throttles) {
    for (const t of list ?? []) await d.write(file, `${t.major}:${t.minor} ${t.rate}`);
  }
}

/**
 * Device access. Deny everything, then apply the rules in order, so the result is exactly the
 * spec's list. On update this briefly denies devices the container may be using; runc avoids
 * that by diffing against the current list, which we do not (yet).
 */
export async function applyDevices(c: V1ApplyContext, res: LinuxResources): Promise<void> {
  if (!res.devices) return;
  const d = need(c, 'devices', 'device rules');
  await d.write('devices.deny', 'a');
  for (const rule of res.devices) {
    for (const line of deviceRuleLines(rule, d.cgPath)) await d.write(rule.allow ? 'devices.allow' : 'devices.deny', line);
  }
}

export async function applyHugetlb(c: V1ApplyContext, res: LinuxResources): Promise<void> {
  if (!res.hugepageLimits?.length) return;
  const d = need(c, 'hugetlb', 'hugepageLimits');
  for (const h of res.hugepageLimits) {
    await writeSupported(d, `hugetlb.${h.pageSize}.limit_in_bytes`, h.limit, `hugepage size ${h.pageSize}`);
  }
}

export async function applyNetwork(c: V1ApplyContext, res: LinuxResources): Promise<void> {
  const n = res.network;
  if (!n) return;
  if (n.classID !== undefined) await need(c, 'net_cls', 'network.classID').write('net_cls.classid', n.classID);
  if (n.priorities?.length) {
    const d = need(c, 'net_prio', 'network.priorities');
    for (const p of n.priorities) await d.write('net_prio.ifpriomap', `${p.name} ${p.priority}`);
  }
}

/** rdma.max lines: `mlx4_0 hca_handle=2 hca_object=2000` (Documentation/admin-guide/cgroup-v1/rdma.rst). */
export function rdmaLines(res: LinuxResources): string[] {
  const out: string[] = [];
  for (const [dev, lim] of Object.entries(res.rdma ?? {})) {
    const parts = [dev];
    if (lim.hcaHandles !== undefined) parts.push(`hca_handle=${lim.hcaHandles}`);
    if (lim.hcaObjects !== undefined) parts.push(`hca_object=${lim.hcaObjects}`);
    if (parts.length > 1) out.push(parts.join(' '));
  }
  return out;
}

export async function applyRdma(c: V1ApplyContext, res: LinuxResources): Promise<void> {
  const lines = rdmaLines(res);
  if (lines.length === 0) return;
  const d = need(c, 'rdma', 'rdma limits');
  for (const line of lines) await d.write('rdma.max', line);
}

/** Every applier, in order: cpuset first, since a cgroup with an empty cpuset refuses tasks. */
export const V1_APPLIERS = [applyCpuset, applyMemory, applyCpu, applyPids, applyBlkio, applyDevices, applyHugetlb, applyNetwork, applyRdma];
