// Linux capabilities: the name <-> number table (up to CAP_CHECKPOINT_RESTORE) and bit-mask helpers.
import { readFileSync } from 'node:fs';

/** Capability names indexed by number (linux/capability.h), through CAP_CHECKPOINT_RESTORE = 40. */
export const CAPABILITIES: readonly string[] = Object.freeze([
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID',
  'CAP_KILL', 'CAP_SETGID', 'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_IPC_LOCK',
  'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE', 'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL', 'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG',
  'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
]);

const byName = new Map(CAPABILITIES.map((name, i) => [name, i]));

/** The number of a capability name such as `CAP_KILL`, or undefined if Berth does not know it. */
export function capNumber(name: string): number | undefined {
  return byName.get(name);
}

/** The name of capability number `n`, or undefined beyond the table. */
export function capName(n: number): string | undefined {
  return CAPABILITIES[n];
}

let cachedLastCap: number | undefined;

/**
 * The highest capability the running kernel knows, from /proc/sys/kernel/cap_last_cap (read once).
 * Falls back to the table's last entry when /proc is not readable.
 */
export function lastCap(): number {
  if (cachedLastCap === undefined) {
    try {
      const n = Number.parseInt(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8').trim(), 10);
      cachedLastCap = Number.isInteger(n) && n >= 0 ? n : CAPABILITIES.length - 1;
    } catch {
      cachedLastCap = CAPABILITIES.length - 1;
    }
  }
  return cachedLastCap;
}

/** A capability set as a mask, and the names left out of it because the kernel does not know them. */
export interface CapMask { mask: bigint; dropped: string[] }

/**
 * The bit mask of `names`. Names above `last` (default: `lastCap()`) are left out and listed in
 * `dropped`: runc ignores capabilities the kernel does not know, with a warning, so that one
 * config.json works on older kernels. Names not in the table at all are an error here (validation
 * rejects them first).
 */
export function capMask(names: readonly string[] | undefined, last: number = lastCap()): CapMask {
  let mask = 0n;
  const dropped: string[] = [];
  for (const name of names ?? []) {
    const n = byName.get(name);
    if (n === undefined) throw new Error(`unknown capability ${JSON.stringify(name)}`);
    if (n > last) {
      if (!dropped.includes(name)) dropped.push(name);
      continue;
    }
    mask |= 1n << BigInt(n);
  }
  return { mask, dropped };
}

/** The names whose bits are set in `mask`, lowest first. */
export function capsOfMask(mask: bigint): string[] {
  const out: string[] = [];
  for (let i = 0; i < CAPABILITIES.length; i++) if (mask & (1n << BigInt(i))) out.push(CAPABILITIES[i]!);
  return out;
}

/** A mask as the plan writes it: `0x` and lower-case hex (`0x0` for none). */
export function maskHex(mask: bigint | number): string {
  const v = typeof mask === 'bigint' ? mask : BigInt(Math.trunc(mask));
  if (v < 0n) throw new RangeError(`negative mask ${v}`);
  return `0x${v.toString(16)}`;
}

/** Parses a `0x...` (or decimal) mask back into a bigint. */
export function parseMask(text: string): bigint {
  if (!/^(0x[0-9a-fA-F]+|[0-9]+)$/.test(text)) throw new RangeError(`bad mask ${JSON.stringify(text)}`);
  return BigInt(text);
}
