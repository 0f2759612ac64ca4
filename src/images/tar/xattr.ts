// Extended attributes without a native addon: batched calls to setfattr/getfattr (Debian's `attr`).
//
// Node has no xattr API. Layers rarely carry xattrs (file capabilities, overlay's opaque flag),
// so one child process per layer (to set) or per tree (to read) costs little and keeps Berth free
// of compiled addons. Both tools speak the `getfattr --dump` text format: `# file: <path>` then
// `name=0x<hex>` lines, with odd bytes in paths escaped as `\ooo` octal.
import { spawnSync } from 'node:child_process';
import { BerthError } from '../../common/errors.js';

/** Escape a path for the dump format: every byte outside printable ASCII, and `\`, as `\ooo`. */
function quote(s: string): string {
  let out = '';
  for (const b of Buffer.from(s)) {
    out += b > 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : `\\${b.toString(8).padStart(3, '0')}`;
  }
  return out;
}

/** Undo `\ooo` escapes (getfattr's output) into the path's bytes. */
function unquote(s: string): string {
  if (!/[\\\x80-\xff]/.test(s)) return s;
  const bytes: number[] = [];
  const raw = Buffer.from(s, 'latin1');
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === 0x5c && i + 3 < raw.length && /^[0-7]{3}$/.test(raw.toString('latin1', i + 1, i + 4))) {
      bytes.push(parseInt(raw.toString('latin1', i + 1, i + 4), 8));
      i += 3;
    } else bytes.push(raw[i]!);
  }
  return Buffer.from(bytes).toString('utf8');
}

function run(cmd: string, args: string[], input: Buffer | undefined, what: string) {
  const r = spawnSync(cmd, args, { input, maxBuffer: 1 << 30, encoding: 'latin1' });
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new BerthError('failed-precondition', `${what}: ${cmd} is not installed (apt-get install attr)`, { cause: r.error });
    throw new BerthError('internal', `${what}: ${cmd}: ${r.error.message}`, { cause: r.error });
  }
  return r;
}

/**
 * Set extended attributes on many paths in one `setfattr -h --restore=-` call; symlinks are
 * not followed. Paths must be absolute. Throws with setfattr's message on any failure.
 */
export function setXattrs(items: Array<{ path: string; xattrs: Record<string, Buffer> }>, what = 'set xattrs'): void {
  let dump = '';
  for (const { path, xattrs } of items) {
    const names = Object.keys(xattrs);
    if (names.length === 0) continue;
    dump += `# file: ${quote(path)}\n`;
    for (const n of names) dump += `${quote(n)}=0x${xattrs[n]!.toString('hex')}\n`;
    dump += '\n';
  }
  if (!dump) return;
  const r = run('setfattr', ['-h', '--restore=-'], Buffer.from(dump, 'utf8'), what);
  if (r.status !== 0) {
    throw new BerthError('internal', `${what}: setfattr failed: ${Buffer.from(String(r.stderr), 'latin1').toString('utf8').trim()}`);
  }
}

function parseDump(text: string): Map<string, Record<string, Buffer>> {
  const out = new Map<string, Record<string, Buffer>>();
  let cur: Record<string, Buffer> | null = null;
  for (const line of text.split('\n')) {
    if (line.startsWith('# file: ')) {
      cur = {};
      out.set(unquote(line.slice(8)), cur);
    } else if (cur && line.length > 0 && !line.startsWith('#')) {
      const eq = line.indexOf('=');
      const name = unquote(eq < 0 ? line : line.slice(0, eq));
      const v = eq < 0 ? '' : line.slice(eq + 1);
      // `-e hex` prints 0x...; an empty value prints no "=" at all.
      cur[name] = v.startsWith('0x') ? Buffer.from(v.slice(2), 'hex') : Buffer.from(v.replace(/^"|"$/g, ''), 'latin1');
    }
  }
  return out;
}

/**
 * Every extended attribute under `root` (symlinks not followed), keyed by absolute path; paths
 * without xattrs are absent. One `getfattr -R` call for the whole tree.
 */
export function readXattrsTree(root: string, what = 'read xattrs'): Map<string, Record<string, Buffer>> {
  const r = run('getfattr', ['-R', '-P', '-h', '-d', '-m', '-', '-e', 'hex', '--absolute-names', '--', root], undefined, what);
  // getfattr exits 1 when some file has none it may read (e.g. ENOTSUP on a special file); the dump is still whole.
  if (r.status !== 0 && String(r.stdout).length === 0 && String(r.stderr).trim()) {
    throw new BerthError('internal', `${what}: getfattr failed: ${String(r.stderr).trim()}`);
  }
  return parseDump(String(r.stdout));
}

/** The extended attributes of some paths (symlinks not followed), keyed by path as given. */
export function readXattrs(paths: string[], what = 'read xattrs'): Map<string, Record<string, Buffer>> {
  const out = new Map<string, Record<string, Buffer>>();
  for (let i = 0; i < paths.length; i += 512) {
    const batch = paths.slice(i, i + 512);
    const r = run('getfattr', ['-h', '-d', '-m', '-', '-e', 'hex', '--absolute-names', '--', ...batch], undefined, what);
    if (r.status !== 0 && String(r.stdout).length === 0 && String(r.stderr).trim()) {
      throw new BerthError('internal', `${what}: getfattr failed: ${String(r.stderr).trim()}`);
    }
    for (const [k, v] of parseDump(String(r.stdout))) out.set(k, v);
  }
  return out;
}
