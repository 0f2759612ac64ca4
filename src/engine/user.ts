// Docker's user resolution: `User` and `GroupAdd` against the image's /etc/passwd and /etc/group,
// read inside the rootfs without ever leaving it (moby/sys/user GetExecUser semantics).
import { lstatSync, readFileSync, readlinkSync } from 'node:fs';
import { posix } from 'node:path';
import { errInvalid } from '../common/errors.js';

/** One /etc/passwd line (name:pass:uid:gid:gecos:home:shell). */
export interface PasswdEntry { name: string; uid: number; gid: number; home: string }
/** One /etc/group line (name:pass:gid:user,user). */
export interface GroupEntry { name: string; gid: number; members: string[] }

/** What `User` resolves to: the ids the process runs with, and its home directory. */
export interface ExecUser {
  uid: number;
  gid: number;
  /** Supplementary groups from /etc/group membership (only for a user given without a group). */
  sgids: number[];
  /** From passwd; undefined when no entry matched (runc then uses `/`). */
  home?: string;
}

// moby/sys/user: ids must fit an int32 (containerd de1341c), whatever the kernel allows.
const MAX_ID = 2 ** 31 - 1;
const ERR_RANGE = `uids and gids must be in range 0-${MAX_ID}`;
const MAX_SYMLINKS = 255;

/**
 * The host path of `path` inside `root`, resolving every component with lstat and following
 * symlinks as if `root` were `/` (an absolute or `..`-escaping target stays inside), like
 * filepath-securejoin. The last component may be missing; an intermediate one must not be.
 */
export function resolveInRoot(root: string, path: string): string {
  const base = posix.resolve(root);
  return posix.join(base, resolveLexically(path, (ctr) => posix.join(base, ctr), root));
}

/**
 * `path` (inside a container) with every symlink resolved inside it, as a clean absolute path;
 * `hostOf` says where a clean container path is on the host (lstat'd there, never followed by
 * the kernel). `where` names the root in errors.
 */
export function resolveLexically(path: string, hostOf: (ctr: string) => string, where: string): string {
  const pending = posix.normalize('/' + path).split('/').filter(Boolean);
  const done: string[] = [];
  let links = 0;
  while (pending.length) {
    const part = pending.shift()!;
    if (part === '.') continue;
    if (part === '..') {
      done.pop();
      continue;
    }
    const host = hostOf('/' + [...done, part].join('/'));
    let st;
    try {
      st = lstatSync(host);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        done.push(part, ...pending);
        break;
      }
      throw err;
    }
    if (st.isSymbolicLink()) {
      if (++links > MAX_SYMLINKS) throw errInvalid(`resolve "${path}" in "${where}": too many symlinks`);
      const target = readlinkSync(host);
      if (target.startsWith('/')) done.length = 0;
      pending.unshift(...target.split('/').filter(Boolean));
      continue;
    }
    done.push(part);
  }
  return '/' + done.join('/');
}

/** The content of `path` inside `root` (symlinks kept inside), or undefined if it does not exist. */
export function readFileInRoot(root: string, path: string): string | undefined {
  const host = resolveInRoot(root, path);
  try {
    // A resolved path is a regular file or nothing we want (a device could block forever).
    if (!lstatSync(host).isFile()) return undefined;
    return readFileSync(host, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
}

// Go's strconv.Atoi with errors ignored, as moby/sys/user parseLine does for numeric fields.
function atoi(s: string): number {
  return /^[+-]?\d+$/.test(s) ? Number.parseInt(s, 10) : 0;
}

/** Parses /etc/passwd; blank lines are skipped (comments are not special, as in moby/sys/user). */
export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    const f = line.split(':');
    out.push({ name: f[0] ?? '', uid: atoi(f[2] ?? ''), gid: atoi(f[3] ?? ''), home: f[5] ?? '' });
  }
  return out;
}

/** Parses /etc/group; blank lines and `#` comments are skipped. */
export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const f = line.split(':');
    const list = f[3] ?? '';
    out.push({ name: f[0] ?? '', gid: atoi(f[2] ?? ''), members: list ? list.split(',') : [] });
  }
  return out;
}

// A uid/gid argument: numeric (then never a name) or a name.
function numeric(v: string): { id: number; isNum: boolean } {
  if (v === '' || !/^[+-]?\d+$/.test(v)) return { id: 0, isNum: false };
  const id = Number(v);
  if (!Number.isSafeInteger(id) || id < 0 || id > MAX_ID) throw errInvalid(ERR_RANGE);
  return { id, isNum: true };
}

/**
 * Resolves a Docker `User` (`""`, `name`, `uid`, `name:group`, `uid:gid`, mixed) as moby/sys/user
 * GetExecUser does, with `passwd`/`group` undefined when the file does not exist. A numeric id
 * needs no entry; a name must have one. Supplementary groups come from /etc/group membership,
 * and only when the group is not given explicitly.
 */
export function getExecUser(userSpec: string, passwd: PasswdEntry[] | undefined, group: GroupEntry[] | undefined): ExecUser {
  const [userArg = '', groupArg = ''] = userSpec.split(':');
  const u = numeric(userArg);
  const g = numeric(groupArg);
  const user: ExecUser = { uid: 0, gid: 0, sgids: [] };

  const users = (passwd ?? []).filter((p) => (userArg === '' ? p.uid === user.uid : u.isNum ? p.uid === u.id : p.name === userArg));
  let matchedName = '';
  if (users.length) {
    const first = users[0]!;
    matchedName = first.name;
    user.uid = first.uid;
    user.gid = first.gid;
    user.home = first.home;
  } else if (userArg !== '') {
    if (!u.isNum) throw errInvalid(`unable to find user ${userArg}: no matching entries in passwd file`);
    user.uid = u.id;
  }

  if (groupArg !== '' || matchedName !== '') {
    const groups = (group ?? []).filter((e) => {
      if (groupArg === '') return e.members.includes(matchedName);
      return g.isNum ? e.gid === g.id : e.name === groupArg;
    });
    if (groupArg !== '') {
      if (groups.length) user.gid = groups[0]!.gid;
      else if (!g.isNum) throw errInvalid(`unable to find group ${groupArg}: no matching entries in group file`);
      else user.gid = g.id;
    } else if (groups.length) {
      user.sgids = groups.map((e) => e.gid);
    }
  }
  return user;
}

/**
 * Resolves `GroupAdd` (names or gids) as moby/sys/user GetAdditionalGroups does: a name must be
 * in /etc/group, a number is used as is. Duplicates are dropped, the first order kept.
 */
export function getAdditionalGroups(additional: readonly string[], group: GroupEntry[] | undefined): number[] {
  const out: number[] = [];
  for (const ag of additional) {
    const n = numeric(ag);
    const found = (group ?? []).find((e) => (n.isNum ? e.gid === n.id : e.name === ag));
    let gid: number;
    if (found) {
      if (found.gid < 0 || found.gid > MAX_ID) throw errInvalid(ERR_RANGE);
      gid = found.gid;
    } else if (n.isNum) {
      gid = n.id;
    } else {
      throw errInvalid(`unable to find group ${ag}: no matching entries in group file`);
    }
    if (!out.includes(gid)) out.push(gid);
  }
  return out;
}

/** The texts of a rootfs's /etc/passwd and /etc/group (undefined: no such file). */
export interface UserFiles { passwd?: string; group?: string }

/** Read /etc/passwd and /etc/group inside `rootfs`, without leaving it. */
export function readUserFiles(rootfs: string): UserFiles {
  const out: UserFiles = {};
  const passwd = readFileInRoot(rootfs, '/etc/passwd');
  const group = readFileInRoot(rootfs, '/etc/group');
  if (passwd !== undefined) out.passwd = passwd;
  if (group !== undefined) out.group = group;
  return out;
}

/** The OCI process user Docker derives for a container (daemon/oci_linux.go getUser). */
export interface ResolvedUser { uid: number; gid: number; additionalGids: number[]; home?: string }

/**
 * Reads /etc/passwd and /etc/group inside `rootfs` (a missing file is fine), or takes them as read
 * before (`UserFiles`), and resolves `User` and `GroupAdd`. additionalGids is Docker's: the
 * primary gid first, then the membership groups, then GroupAdd (duplicates kept, as dockerd writes them).
 */
export function resolveContainerUser(rootfs: string | UserFiles, userSpec: string, groupAdd: readonly string[] = []): ResolvedUser {
  const files = typeof rootfs === 'string' ? readUserFiles(rootfs) : rootfs;
  const passwd = files.passwd === undefined ? undefined : parsePasswd(files.passwd);
  const group = files.group === undefined ? undefined : parseGroup(files.group);
  const u = getExecUser(userSpec, passwd, group);
  const add = groupAdd.length ? getAdditionalGroups(groupAdd, group) : [];
  const out: ResolvedUser = { uid: u.uid, gid: u.gid, additionalGids: [u.gid, ...u.sgids, ...add] };
  if (u.home !== undefined) out.home = u.home;
  return out;
}

/**
 * The owner `docker cp -a` gives copied files in a container with `User` set (dockerd's
 * getUIDGID in daemon/archive_tarcopyoptions_unix.go): a name must be in the container's
 * passwd (its primary gid), a uid takes its entry's gid when there is one and 0 otherwise; a
 * group given after `:` overrides the gid. No membership groups, unlike the process user.
 */
export function copyOwner(files: UserFiles, userSpec: string): { uid: number; gid: number } {
  const i = userSpec.indexOf(':');
  const [userArg, groupArg] = i < 0 ? [userSpec, ''] : [userSpec.slice(0, i), userSpec.slice(i + 1)];
  // moby's getIDOrName: an unsigned number up to MaxInt32 is an id, anything else a name.
  const id = (v: string) => (/^\d+$/.test(v) && Number(v) <= MAX_ID ? Number(v) : undefined);
  let uid = 0;
  let gid = 0;
  if (userArg !== '') {
    const passwd = parsePasswd(files.passwd ?? '');
    const n = id(userArg);
    const u = passwd.find((p) => (n === undefined ? p.name === userArg : p.uid === n));
    if (u) [uid, gid] = [u.uid, u.gid];
    else if (n !== undefined) uid = n;
    else throw errInvalid(`failed to look up user "${userArg}" in container: no matching entries in passwd file`);
  }
  if (groupArg !== '') {
    const n = id(groupArg);
    if (n !== undefined) gid = n;
    else {
      const g = parseGroup(files.group ?? '').find((e) => e.name === groupArg);
      if (!g) throw errInvalid(`failed to look up group "${groupArg}" in container: no matching entries in group file`);
      gid = g.gid;
    }
  }
  return { uid, gid };
}
