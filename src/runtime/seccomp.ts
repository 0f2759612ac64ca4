// Seccomp: the OCI `linux.seccomp` object -> plan records, and Docker's profile format -> OCI.
import { createHash } from 'node:crypto';
import { release } from 'node:os';
import { join } from 'node:path';
import { errInvalid, errNotImplemented } from '../common/errors.js';
import type { Seccomp, SeccompSyscall } from './spec/types.js';
import { encodeRecord, type PlanRecord, type PlanSeccompAction, type PlanSeccompCond, type PlanSeccompOp } from './plan/plan.js';
import { EPERM } from './linux.js';
import { DOCKER_DEFAULT_SECCOMP_PROFILE } from './seccomp-default-profile.js';
import { DOCKER_DEFAULT_CAPS } from './spec/defaults.js';

/** OCI seccomp action -> plan action. `SCMP_ACT_KILL` kills the thread (libseccomp's meaning). */
export const SECCOMP_ACTIONS: Readonly<Record<string, PlanSeccompAction>> = {
  SCMP_ACT_ALLOW: 'allow',
  SCMP_ACT_ERRNO: 'errno',
  SCMP_ACT_KILL: 'kill-thread',
  SCMP_ACT_KILL_THREAD: 'kill-thread',
  SCMP_ACT_KILL_PROCESS: 'kill-process',
  SCMP_ACT_TRAP: 'trap',
  SCMP_ACT_TRACE: 'trace',
  SCMP_ACT_LOG: 'log',
};

/** Every action the OCI spec names, including the one Berth cannot run (`SCMP_ACT_NOTIFY`). */
export const OCI_SECCOMP_ACTIONS: readonly string[] = [...Object.keys(SECCOMP_ACTIONS), 'SCMP_ACT_NOTIFY'];

/** OCI comparison -> plan comparison. */
export const SECCOMP_OPS: Readonly<Record<string, PlanSeccompOp>> = {
  SCMP_CMP_NE: 'ne',
  SCMP_CMP_LT: 'lt',
  SCMP_CMP_LE: 'le',
  SCMP_CMP_EQ: 'eq',
  SCMP_CMP_GE: 'ge',
  SCMP_CMP_GT: 'gt',
  SCMP_CMP_MASKED_EQ: 'masked-eq',
};

/** OCI architectures; the plan uses libseccomp's names, which are these lower-cased without the prefix. */
export const SECCOMP_ARCHES: readonly string[] = [
  'SCMP_ARCH_X86', 'SCMP_ARCH_X86_64', 'SCMP_ARCH_X32', 'SCMP_ARCH_ARM', 'SCMP_ARCH_AARCH64',
  'SCMP_ARCH_LOONGARCH64', 'SCMP_ARCH_M68K', 'SCMP_ARCH_MIPS', 'SCMP_ARCH_MIPS64', 'SCMP_ARCH_MIPS64N32',
  'SCMP_ARCH_MIPSEL', 'SCMP_ARCH_MIPSEL64', 'SCMP_ARCH_MIPSEL64N32', 'SCMP_ARCH_PPC', 'SCMP_ARCH_PPC64',
  'SCMP_ARCH_PPC64LE', 'SCMP_ARCH_S390', 'SCMP_ARCH_S390X', 'SCMP_ARCH_SH', 'SCMP_ARCH_SHEB',
  'SCMP_ARCH_PARISC', 'SCMP_ARCH_PARISC64', 'SCMP_ARCH_RISCV64',
];

/** Filter flags the plan passes on; `WAIT_KILLABLE_RECV` only matters for notify, which Berth lacks. */
export const SECCOMP_FLAGS: readonly string[] = [
  'SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW',
  'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV',
];

const U64_MAX = (1n << 64n) - 1n;

function u64(n: number): bigint {
  // JSON numbers above 2^53 have already lost precision; the largest ones round up past 2^64-1.
  const b = BigInt(Math.trunc(n));
  return b > U64_MAX ? U64_MAX : b;
}

function planAction(action: string, where: string): PlanSeccompAction {
  const a = SECCOMP_ACTIONS[action];
  if (a) return a;
  if (action === 'SCMP_ACT_NOTIFY') throw errNotImplemented(`${where}: SCMP_ACT_NOTIFY (seccomp user notification) is not supported`);
  throw errInvalid(`${where}: unknown seccomp action ${JSON.stringify(action)}`);
}

// runc uses EPERM for errno and trace when no errnoRet is given.
function errnoOf(a: PlanSeccompAction, ret: number | undefined): number {
  return a === 'errno' || a === 'trace' ? (ret ?? EPERM) : 0;
}

/**
 * The plan records for an OCI seccomp config: `seccomp-default`, `seccomp-arch`, `seccomp-flag`,
 * one `seccomp-rule` per syscall name. Rules whose action and errno equal the default are dropped
 * (libseccomp rejects them). A rule with two conditions on the same argument becomes one rule per
 * condition, as runc does, since libseccomp cannot AND conditions on one argument.
 */
export function seccompRecords(s: Seccomp, opts: { warn?: (msg: string) => void } = {}): PlanRecord[] {
  const def = planAction(s.defaultAction, 'linux.seccomp.defaultAction');
  const defErrno = errnoOf(def, s.defaultErrnoRet);
  const out: PlanRecord[] = [{ op: 'seccomp-default', action: def, errno: defErrno }];
  for (const arch of s.architectures ?? []) {
    if (!SECCOMP_ARCHES.includes(arch)) throw errInvalid(`linux.seccomp.architectures: unknown architecture ${JSON.stringify(arch)}`);
    out.push({ op: 'seccomp-arch', name: arch.slice('SCMP_ARCH_'.length).toLowerCase() });
  }
  for (const flag of s.flags ?? []) {
    if (!SECCOMP_FLAGS.includes(flag)) throw errInvalid(`linux.seccomp.flags: unknown flag ${JSON.stringify(flag)}`);
    if (flag === 'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV') {
      opts.warn?.(`linux.seccomp.flags: ${flag} ignored (no seccomp notify support)`);
      continue;
    }
    out.push({ op: 'seccomp-flag', name: flag });
  }
  (s.syscalls ?? []).forEach((call, i) => out.push(...ruleRecords(call, `linux.seccomp.syscalls[${i}]`, def, defErrno)));
  return out;
}

/**
 * The seccomp records followed by their `seccomp-cache` record when `cacheDir` is given: a file
 * in it named by the sha256 of those records, where berth-init keeps the program it compiled
 * from them (docs/plan.md), so each distinct filter is compiled once, not at every start (the
 * default profile costs libseccomp several ms of CPU). The name changes with any record, so a
 * file found under it always belongs to exactly this filter.
 */
export function withSeccompCache(records: PlanRecord[], cacheDir: string | undefined): PlanRecord[] {
  if (!cacheDir || records.length === 0) return records;
  const h = createHash('sha256');
  for (const r of records) h.update(`${encodeRecord(r)}\n`);
  return [...records, { op: 'seccomp-cache', path: join(cacheDir, `${h.digest('hex')}.bpf`) }];
}

/** The seccomp section of recent plans, by profile and cache dir (a daemon sees a handful of profiles). */
const sections = new Map<string, { records: readonly PlanRecord[]; warnings: string[] }>();
const SECTIONS_KEPT = 16;

/**
 * `withSeccompCache(seccompRecords(s), cacheDir)`, kept per distinct profile: the same frozen
 * records for every container with that profile, whose lines `encodeRecord` then encodes once.
 * Docker's default profile is ~17 KB of plan text, which took 2 ms of every start to rebuild,
 * hash and encode; the key, the profile's JSON, costs 0.03 ms. Warnings are given every time.
 */
export function seccompSection(s: Seccomp, cacheDir: string | undefined, opts: { warn?: (msg: string) => void } = {}): readonly PlanRecord[] {
  const key = `${cacheDir ?? ''}\n${JSON.stringify(s)}`;
  let hit = sections.get(key);
  if (hit) {
    // Most recently used last, so the oldest goes first when the map is full.
    sections.delete(key);
    sections.set(key, hit);
  } else {
    const warnings: string[] = [];
    const records = seccompRecords(s, { warn: (m) => warnings.push(m) }).map((r) => Object.freeze(r));
    hit = { records: withSeccompCache(records, cacheDir).map((r) => Object.freeze(r)), warnings };
    sections.set(key, hit);
    if (sections.size > SECTIONS_KEPT) sections.delete(sections.keys().next().value!);
  }
  for (const w of hit.warnings) opts.warn?.(w);
  return hit.records;
}

function ruleRecords(call: SeccompSyscall, where: string, def: PlanSeccompAction, defErrno: number): PlanRecord[] {
  const action = planAction(call.action, `${where}.action`);
  const errno = errnoOf(action, call.errnoRet);
  if (action === def && errno === defErrno) return [];
  const conds: PlanSeccompCond[] = (call.args ?? []).map((a, j) => {
    const op = SECCOMP_OPS[a.op];
    if (!op) throw errInvalid(`${where}.args[${j}].op: unknown operator ${JSON.stringify(a.op)}`);
    if (!Number.isInteger(a.index) || a.index < 0 || a.index > 5) throw errInvalid(`${where}.args[${j}].index: must be 0..5`);
    return { index: a.index, op, value: u64(a.value), valueTwo: u64(a.valueTwo ?? 0) };
  });
  const perIndex = new Map<number, number>();
  for (const c of conds) perIndex.set(c.index, (perIndex.get(c.index) ?? 0) + 1);
  const groups = [...perIndex.values()].some((n) => n > 1) ? conds.map((c) => [c]) : [conds];
  const out: PlanRecord[] = [];
  for (const name of call.names) {
    for (const g of groups) out.push({ op: 'seccomp-rule', action, errno, syscall: name, conds: g });
  }
  return out;
}

/** A filter in Docker's profile format (moby/profiles `seccomp.Seccomp`). */
export interface DockerSeccompProfile {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  archMap?: Array<{ architecture: string; subArchitectures: string[] | null }> | null;
  flags?: string[];
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls?: DockerSeccompSyscall[] | null;
}

/** A rule in Docker's profile format: an OCI rule plus conditions on caps, arches and kernel. */
export interface DockerSeccompSyscall extends Omit<SeccompSyscall, 'names'> {
  name?: string;
  names?: string[];
  comment?: string;
  includes?: DockerSeccompFilter;
  excludes?: DockerSeccompFilter;
}

/** A Docker rule's condition: the caps it needs, the native arches, the lowest kernel (`4.8`). */
export interface DockerSeccompFilter { caps?: string[]; arches?: string[]; minKernel?: string }

/** What a Docker profile is specialised for. */
export interface DockerSeccompOptions {
  /** The container's bounding set (Docker decides on `process.capabilities.bounding`). Default: Docker's 14. */
  capabilities?: readonly string[];
  /** Native arch name as Docker's profile uses it (`amd64`, `arm64`, `x86`, ...). Default: this host's. */
  arch?: string;
  /** Kernel release (`6.1.0-18-amd64`), for `minKernel`. Default: os.release(). */
  kernelRelease?: string;
}

// Node's process.arch -> the native names Docker's profile uses (moby/profiles goToNative).
const NODE_TO_NATIVE: Readonly<Record<string, string>> = {
  x64: 'amd64', ia32: 'x86', arm: 'arm', arm64: 'arm64', loong64: 'loongarch64', mips: 'mips',
  mipsel: 'mipsel', ppc: 'ppc', ppc64: 'ppc64le', riscv64: 'riscv64', s390: 's390', s390x: 's390x',
};

// Native name -> the OCI architecture whose archMap entry applies.
const NATIVE_TO_OCI: Readonly<Record<string, string>> = {
  x86: 'SCMP_ARCH_X86', amd64: 'SCMP_ARCH_X86_64', arm: 'SCMP_ARCH_ARM', arm64: 'SCMP_ARCH_AARCH64',
  loongarch64: 'SCMP_ARCH_LOONGARCH64', mips: 'SCMP_ARCH_MIPS', mips64: 'SCMP_ARCH_MIPS64',
  mips64n32: 'SCMP_ARCH_MIPS64N32', mipsel: 'SCMP_ARCH_MIPSEL', mipsel64: 'SCMP_ARCH_MIPSEL64',
  mipsel64n32: 'SCMP_ARCH_MIPSEL64N32', ppc: 'SCMP_ARCH_PPC', ppc64: 'SCMP_ARCH_PPC64',
  ppc64le: 'SCMP_ARCH_PPC64LE', riscv64: 'SCMP_ARCH_RISCV64', s390: 'SCMP_ARCH_S390', s390x: 'SCMP_ARCH_S390X',
};

/** This host's arch in Docker's native naming (`amd64` on x86_64). */
export function nativeArch(): string {
  return NODE_TO_NATIVE[process.arch] ?? process.arch;
}

function kernelAtLeast(releaseText: string, min: string): boolean {
  const parse = (s: string, what: string) => {
    const m = /^(\d+)\.(\d+)/.exec(s);
    if (!m) throw errInvalid(`seccomp profile: cannot parse ${what} ${JSON.stringify(s)}`);
    return [Number(m[1]), Number(m[2])] as const;
  };
  const [k, maj] = parse(releaseText, 'kernel version');
  const [mk, mmaj] = parse(min, 'minKernel');
  return k > mk || (k === mk && maj >= mmaj);
}

/**
 * Specialises a Docker-format profile into an OCI `linux.seccomp`, as dockerd does
 * (moby/profiles `setupSeccomp`): architectures from `archMap` for the host arch, and each rule
 * kept only if its `includes` all hold (every cap in the bounding set, the arch listed, the kernel
 * new enough) and none of its `excludes` does.
 */
export function convertDockerSeccompProfile(profile: DockerSeccompProfile, opts: DockerSeccompOptions = {}): Seccomp {
  if (profile.architectures?.length && profile.archMap?.length) {
    throw errInvalid("seccomp profile: both 'architectures' and 'archMap' are specified, use one");
  }
  const arch = opts.arch ?? nativeArch();
  const caps = opts.capabilities ?? DOCKER_DEFAULT_CAPS;
  const kernel = opts.kernelRelease ?? release();
  const out: Seccomp = { defaultAction: profile.defaultAction };
  if (profile.defaultErrnoRet !== undefined) out.defaultErrnoRet = profile.defaultErrnoRet;
  const arches = [...(profile.architectures ?? [])];
  const ociArch = NATIVE_TO_OCI[arch];
  const entry = profile.archMap?.find((a) => a.architecture === ociArch);
  if (entry) arches.push(entry.architecture, ...(entry.subArchitectures ?? []));
  if (arches.length) out.architectures = arches;
  if (profile.flags?.length) out.flags = [...profile.flags];
  if (profile.listenerPath) out.listenerPath = profile.listenerPath;
  if (profile.listenerMetadata) out.listenerMetadata = profile.listenerMetadata;
  const syscalls: SeccompSyscall[] = [];
  for (const call of profile.syscalls ?? []) {
    if (call.name && call.names?.length) throw errInvalid("seccomp profile: both 'name' and 'names' are specified in a rule");
    const ex = call.excludes;
    if (ex?.arches?.includes(arch)) continue;
    if (ex?.caps?.some((c) => caps.includes(c))) continue;
    if (ex?.minKernel && kernelAtLeast(kernel, ex.minKernel)) continue;
    const inc = call.includes;
    if (inc?.arches?.length && !inc.arches.includes(arch)) continue;
    if (inc?.caps?.length && !inc.caps.every((c) => caps.includes(c))) continue;
    if (inc?.minKernel && !kernelAtLeast(kernel, inc.minKernel)) continue;
    const rule: SeccompSyscall = { names: call.name ? [call.name] : [...(call.names ?? [])], action: call.action };
    if (call.errnoRet !== undefined) rule.errnoRet = call.errnoRet;
    if (call.args?.length) rule.args = call.args.map((a) => ({ ...a }));
    syscalls.push(rule);
  }
  out.syscalls = syscalls;
  return out;
}

/** Docker's default seccomp profile (moby/profiles `default.json`), specialised like dockerd does. */
export function dockerDefaultSeccomp(opts: DockerSeccompOptions = {}): Seccomp {
  return convertDockerSeccompProfile(DOCKER_DEFAULT_SECCOMP_PROFILE, opts);
}
