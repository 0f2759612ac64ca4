// The init plan (docs/plan.md): its typed form, and the text codec shared with native/init/plan.c.
import { errInvalid } from '../../common/errors.js';

/** Seccomp actions as the plan names them. */
export type PlanSeccompAction = 'allow' | 'errno' | 'kill-thread' | 'kill-process' | 'trap' | 'trace' | 'log';
/** Seccomp argument comparisons as the plan names them. */
export type PlanSeccompOp = 'ne' | 'lt' | 'le' | 'eq' | 'ge' | 'gt' | 'masked-eq';
/** One seccomp argument condition; values are 64-bit, so bigint. */
export interface PlanSeccompCond { index: number; op: PlanSeccompOp; value: bigint; valueTwo: bigint }
/** Capability sets, in the plan's names. */
export type PlanCapSet = 'bounding' | 'effective' | 'permitted' | 'inheritable' | 'ambient';
/** Namespace types as `setns` names them. */
export type PlanNsType = 'user' | 'ipc' | 'uts' | 'net' | 'pid' | 'mnt' | 'cgroup' | 'time';

/** Settings: order among records does not matter, except that repeated ones (`env`) keep theirs. */
export type PlanRecord =
  | { op: 'clone'; flags: number }
  | { op: 'setns'; type: PlanNsType; path: string }
  | { op: 'cgroup-join'; procsFile: string }
  | { op: 'uid-map' | 'gid-map'; inside: number; outside: number; count: number }
  | { op: 'setgroups'; value: 'deny' }
  | { op: 'timens-offset'; clock: 'monotonic' | 'boottime'; sec: number; nsec: number }
  | { op: 'hostname' | 'domainname'; name: string }
  | { op: 'root'; path: string }
  | { op: 'args'; args: string[] }
  | { op: 'env'; value: string }
  | { op: 'cwd'; path: string }
  | { op: 'user'; uid: number; gid: number }
  | { op: 'groups'; gids: number[] }
  | { op: 'umask'; mask: number }
  | { op: 'caps'; set: PlanCapSet; mask: bigint }
  | { op: 'no-new-privs' }
  | { op: 'loopback-up' }
  | { op: 'oom-score-adj'; value: number }
  | { op: 'rlimit'; resource: number; soft: number; hard: number }
  | { op: 'preserve-fds'; count: number }
  | { op: 'console-socket'; path: string }
  | { op: 'console-size'; rows: number; cols: number }
  | { op: 'exec-fifo'; path: string }
  | { op: 'seccomp-default'; action: PlanSeccompAction; errno: number }
  | { op: 'seccomp-arch'; name: string }
  | { op: 'seccomp-flag'; name: string }
  | { op: 'seccomp-rule'; action: PlanSeccompAction; errno: number; syscall: string; conds: PlanSeccompCond[] }
  | { op: 'seccomp-cache'; path: string }
  | { op: 'no-pivot' };

/** Steps the container process runs in order, after clone and maps. */
export type PlanAction =
  | { op: 'propagation'; path: string; flags: number }
  | { op: 'bind-root' }
  | { op: 'mount'; source: string; destination: string; fstype: string; flags: number; data: string; kind: 'dir' | 'file' }
  | { op: 'remount'; destination: string; flags: number }
  | { op: 'mount-propagation'; destination: string; flags: number }
  | { op: 'mkdir'; path: string; mode: number }
  | { op: 'symlink'; target: string; path: string }
  | { op: 'mknod'; path: string; type: 'c' | 'b' | 'p'; major: number; minor: number; mode: number; uid: number; gid: number }
  | { op: 'bind-dev'; hostPath: string; path: string }
  | { op: 'pivot' }
  | { op: 'mask'; path: string }
  | { op: 'readonly'; path: string }
  | { op: 'sysctl'; key: string; value: string }
  | { op: 'hook'; name: string }
  | { op: 'root-readonly' };

/** A whole plan: unordered settings plus the ordered actions. */
export interface Plan { records: PlanRecord[]; actions: PlanAction[] }

/** The header line; the number is the plan version this writer speaks. */
export const PLAN_HEADER = 'berth-plan 1';

// Field kinds: str, int (decimal, may be negative), hex (`0x` mask, number), bighex (`0x` mask,
// bigint), oct (umask, 4 octal digits); the last field of an op may be a rest list: strs, ints, conds.
type Kind = 'str' | 'int' | 'hex' | 'bighex' | 'oct' | 'strs' | 'ints' | 'conds';
type Fields = ReadonlyArray<readonly [string, Kind]>;

const RECORD_OPS: Record<PlanRecord['op'], Fields> = {
  'clone': [['flags', 'hex']],
  'setns': [['type', 'str'], ['path', 'str']],
  'cgroup-join': [['procsFile', 'str']],
  'uid-map': [['inside', 'int'], ['outside', 'int'], ['count', 'int']],
  'gid-map': [['inside', 'int'], ['outside', 'int'], ['count', 'int']],
  'setgroups': [['value', 'str']],
  'timens-offset': [['clock', 'str'], ['sec', 'int'], ['nsec', 'int']],
  'hostname': [['name', 'str']],
  'domainname': [['name', 'str']],
  'root': [['path', 'str']],
  'args': [['args', 'strs']],
  'env': [['value', 'str']],
  'cwd': [['path', 'str']],
  'user': [['uid', 'int'], ['gid', 'int']],
  'groups': [['gids', 'ints']],
  'umask': [['mask', 'oct']],
  'caps': [['set', 'str'], ['mask', 'bighex']],
  'no-new-privs': [],
  'loopback-up': [],
  'oom-score-adj': [['value', 'int']],
  'rlimit': [['resource', 'int'], ['soft', 'int'], ['hard', 'int']],
  'preserve-fds': [['count', 'int']],
  'console-socket': [['path', 'str']],
  'console-size': [['rows', 'int'], ['cols', 'int']],
  'exec-fifo': [['path', 'str']],
  'seccomp-default': [['action', 'str'], ['errno', 'int']],
  'seccomp-arch': [['name', 'str']],
  'seccomp-flag': [['name', 'str']],
  'seccomp-rule': [['action', 'str'], ['errno', 'int'], ['syscall', 'str'], ['conds', 'conds']],
  'seccomp-cache': [['path', 'str']],
  'no-pivot': [],
};

const ACTION_OPS: Record<PlanAction['op'], Fields> = {
  'propagation': [['path', 'str'], ['flags', 'hex']],
  'bind-root': [],
  'mount': [['source', 'str'], ['destination', 'str'], ['fstype', 'str'], ['flags', 'hex'], ['data', 'str'], ['kind', 'str']],
  'remount': [['destination', 'str'], ['flags', 'hex']],
  'mount-propagation': [['destination', 'str'], ['flags', 'hex']],
  'mkdir': [['path', 'str'], ['mode', 'int']],
  'symlink': [['target', 'str'], ['path', 'str']],
  'mknod': [['path', 'str'], ['type', 'str'], ['major', 'int'], ['minor', 'int'], ['mode', 'int'], ['uid', 'int'], ['gid', 'int']],
  'bind-dev': [['hostPath', 'str'], ['path', 'str']],
  'pivot': [],
  'mask': [['path', 'str']],
  'readonly': [['path', 'str']],
  'sysctl': [['key', 'str'], ['value', 'str']],
  'hook': [['name', 'str']],
  'root-readonly': [],
};

const SECCOMP_OPS: ReadonlySet<string> = new Set(['ne', 'lt', 'le', 'eq', 'ge', 'gt', 'masked-eq']);

const PLAIN_TOKEN = /^[\x21-\x24\x26-\x7e]+$/;

/** Percent-encodes one token: bytes <= 0x20, >= 0x7f and `%` as `%XX`; the empty string as `%`. */
export function encodeToken(s: string): string {
  if (s === '') return '%';
  // Most tokens (names, paths, numbers) need no escape: skip the byte loop for them.
  if (PLAIN_TOKEN.test(s)) return s;
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    out += b <= 0x20 || b >= 0x7f || b === 0x25 ? `%${b.toString(16).toUpperCase().padStart(2, '0')}` : String.fromCharCode(b);
  }
  return out;
}

/** Reverses `encodeToken`. Throws on a malformed escape. */
export function decodeToken(t: string): string {
  if (t === '%') return '';
  if (!t.includes('%')) return t;
  const bytes: number[] = [];
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (c === 0x25) {
      const hex = t.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) throw new RangeError(`bad escape in ${JSON.stringify(t)}`);
      bytes.push(Number.parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(c);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

function hex(v: number | bigint): string {
  const b = typeof v === 'bigint' ? v : BigInt(v);
  if (b < 0n) throw new RangeError(`negative mask ${b}`);
  return `0x${b.toString(16)}`;
}

function int(v: unknown): string {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new RangeError(`not an integer: ${String(v)}`);
  return String(v);
}

function encodeFields(op: string, fields: Fields, rec: Record<string, unknown>): string {
  const toks = [op];
  for (const [name, kind] of fields) {
    const v = rec[name];
    switch (kind) {
      case 'str': toks.push(encodeToken(String(v))); break;
      case 'int': toks.push(int(v)); break;
      case 'hex': case 'bighex': toks.push(hex(v as number | bigint)); break;
      case 'oct': toks.push((v as number).toString(8).padStart(4, '0')); break;
      case 'strs': for (const s of v as string[]) toks.push(encodeToken(s)); break;
      case 'ints': for (const n of v as number[]) toks.push(int(n)); break;
      case 'conds':
        for (const c of v as PlanSeccompCond[]) toks.push(int(c.index), c.op, c.value.toString(), c.valueTwo.toString());
        break;
    }
  }
  return toks.join(' ');
}

/** One record as its plan line (without the newline). */
// The lines of frozen records, which are shared between plans (the seccomp section of a profile,
// seccomp.ts seccompSection) and so are encoded once, not at every start.
const frozenLines = new WeakMap<PlanRecord, string>();

export function encodeRecord(r: PlanRecord): string {
  if (!Object.isFrozen(r)) return encodeFields(r.op, RECORD_OPS[r.op], r as unknown as Record<string, unknown>);
  let line = frozenLines.get(r);
  if (line === undefined) {
    line = encodeFields(r.op, RECORD_OPS[r.op], r as unknown as Record<string, unknown>);
    frozenLines.set(r, line);
  }
  return line;
}

/** Writes a plan as docs/plan.md's text: the header, the records, then the actions in order. */
export function encodePlan(plan: Plan): string {
  const lines = [PLAN_HEADER];
  for (const r of plan.records) lines.push(encodeRecord(r));
  for (const a of plan.actions) lines.push(encodeFields(a.op, ACTION_OPS[a.op], a as unknown as Record<string, unknown>));
  return lines.join('\n') + '\n';
}

function parseInt10(t: string): number {
  if (!/^-?[0-9]+$/.test(t)) throw new RangeError(`not a decimal number: ${JSON.stringify(t)}`);
  const n = Number(t);
  if (!Number.isSafeInteger(n)) throw new RangeError(`number out of range: ${t}`);
  return n;
}

function parseHex(t: string): bigint {
  if (!/^0x[0-9a-fA-F]+$/.test(t)) throw new RangeError(`not a hex mask: ${JSON.stringify(t)}`);
  return BigInt(t);
}

function decodeFields(fields: Fields, toks: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let i = 0;
  for (const [name, kind] of fields) {
    const rest = toks.slice(i);
    if (kind === 'strs') { out[name] = rest.map(decodeToken); i = toks.length; continue; }
    if (kind === 'ints') { out[name] = rest.map(parseInt10); i = toks.length; continue; }
    if (kind === 'conds') {
      if (rest.length % 4 !== 0) throw new RangeError('seccomp conditions come in 4-tuples');
      const conds: PlanSeccompCond[] = [];
      for (let j = 0; j < rest.length; j += 4) {
        const op = rest[j + 1]!;
        if (!SECCOMP_OPS.has(op)) throw new RangeError(`unknown seccomp op ${JSON.stringify(op)}`);
        if (!/^[0-9]+$/.test(rest[j + 2]!) || !/^[0-9]+$/.test(rest[j + 3]!)) throw new RangeError('bad seccomp value');
        conds.push({ index: parseInt10(rest[j]!), op: op as PlanSeccompOp, value: BigInt(rest[j + 2]!), valueTwo: BigInt(rest[j + 3]!) });
      }
      out[name] = conds;
      i = toks.length;
      continue;
    }
    const t = toks[i++];
    if (t === undefined) throw new RangeError(`missing ${name}`);
    switch (kind) {
      case 'str': out[name] = decodeToken(t); break;
      case 'int': out[name] = parseInt10(t); break;
      case 'hex': out[name] = Number(parseHex(t)); break;
      case 'bighex': out[name] = parseHex(t); break;
      case 'oct':
        if (!/^[0-7]+$/.test(t)) throw new RangeError(`not octal: ${JSON.stringify(t)}`);
        out[name] = Number.parseInt(t, 8);
        break;
    }
  }
  if (i < toks.length) throw new RangeError(`${toks.length - i} extra token(s)`);
  return out;
}

/** Parses plan text back into a Plan (for tests and debug output). Errors name the line. */
export function decodePlan(text: string): Plan {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  if (lines[0] !== PLAN_HEADER) throw errInvalid(`plan: line 1: expected ${JSON.stringify(PLAN_HEADER)}`);
  const plan: Plan = { records: [], actions: [] };
  for (let n = 1; n < lines.length; n++) {
    const line = lines[n]!;
    if (line.startsWith('#')) continue;
    const [op, ...toks] = line.split(' ');
    try {
      if (op !== undefined && Object.hasOwn(RECORD_OPS, op)) {
        plan.records.push({ op, ...decodeFields(RECORD_OPS[op as PlanRecord['op']], toks) } as PlanRecord);
      } else if (op !== undefined && Object.hasOwn(ACTION_OPS, op)) {
        plan.actions.push({ op, ...decodeFields(ACTION_OPS[op as PlanAction['op']], toks) } as PlanAction);
      } else {
        throw new RangeError(`unknown op ${JSON.stringify(op)}`);
      }
    } catch (err) {
      throw errInvalid(`plan: line ${n + 1}: ${(err as Error).message}`, err);
    }
  }
  return plan;
}

/** True if `op` is an action (ordered) rather than a record. */
export function isActionOp(op: string): op is PlanAction['op'] {
  return Object.hasOwn(ACTION_OPS, op);
}
