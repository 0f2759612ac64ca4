// `berth cp`: tar streams through GET/PUT /containers/{id}/archive, in either direction (the local side via tar(1)).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, posix, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import type { Command } from '../../command.js';
import type { Cli } from '../../context.js';
import { ApiError } from '../../../client/client.js';
import type { PathStat } from '../../../engine/types.js';
import { humanSize } from '../../format/units.js';
import { pipeTo } from '../util.js';

/** `CONTAINER:PATH` → [container, path]; a local path (no colon before the first slash) → [undefined, path]. */
export function splitCpArg(arg: string): [string | undefined, string] {
  if (arg.startsWith('/') || arg.startsWith('.')) return [undefined, arg];
  const i = arg.indexOf(':');
  if (i <= 0) return [undefined, arg];
  return [arg.slice(0, i), arg.slice(i + 1)];
}

function statHeader(h: string | string[] | undefined): PathStat | undefined {
  const v = Array.isArray(h) ? h[0] : h;
  if (!v) return undefined;
  try {
    return JSON.parse(Buffer.from(v, 'base64').toString()) as PathStat;
  } catch {
    return undefined;
  }
}

function run(cmd: string, args: string[], input?: Readable): { stdout: Readable; done: Promise<void> } {
  const child = spawn(cmd, args, { stdio: [input ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  if (input) input.pipe(child.stdin!);
  const done = new Promise<void>((res, rej) => {
    child.once('error', rej);
    child.once('close', (code) => (code === 0 ? res() : rej(new Error(err.trim() || `${cmd} exited with status ${code}`))));
  });
  return { stdout: child.stdout!, done };
}

const S_IFDIR = 0x80000000; // Go's os.ModeDir in the stat header's mode

async function copyFromContainer(cli: Cli, container: string, src: string, dst: string, opts: { followLink: boolean }): Promise<number> {
  const client = await cli.client();
  let path = src;
  if (opts.followLink) {
    const head = await client.request('HEAD', `/containers/${encodeURIComponent(container)}/archive`, { query: { path } });
    await head.body.text();
    const st = statHeader(head.headers['x-docker-container-path-stat']);
    if (st?.linkTarget) path = st.linkTarget;
  }
  const res = await client.request('GET', `/containers/${encodeURIComponent(container)}/archive`, { query: { path } });
  if (dst === '-') {
    await pipeTo(res.body, cli.io.stdout);
    return 0;
  }
  const st = statHeader(res.headers['x-docker-container-path-stat']);
  const srcIsDir = st ? (st.mode & S_IFDIR) !== 0 || (st.mode >>> 0) >= S_IFDIR : false;
  const contentsOnly = /\/\.$/.test(src);
  const dstExists = existsSync(dst);
  const dstIsDir = dstExists && statSync(dst).isDirectory();
  if (!dstExists && /\/$/.test(dst) && !srcIsDir) throw new Error(`destination directory "${dst}" must exist`);
  if (dstExists && !dstIsDir && srcIsDir) throw new Error(`cannot copy directory to file "${dst}"`);
  // Extract next to the destination, then move the one entry into place (renamed if dst is new).
  const parent = dstIsDir ? dst : dirname(resolve(dst));
  const tmp = mkdtempSync(join(parent, '.berth-cp-'));
  let bytes = 0;
  res.body.on('data', (c: Buffer) => (bytes += c.length));
  try {
    const t = run('tar', ['-x', '-C', tmp, ...(opts.followLink ? [] : []), '--no-same-owner'], res.body);
    t.stdout.resume();
    await t.done;
    const entries = readdirSync(tmp);
    const name = entries[0];
    if (name === undefined) return bytes;
    if (contentsOnly && srcIsDir) {
      const target = dstIsDir ? dst : dst;
      if (!existsSync(target)) renameSync(join(tmp, name), target);
      else for (const e of readdirSync(join(tmp, name))) {
        rmSync(join(target, e), { recursive: true, force: true });
        renameSync(join(tmp, name, e), join(target, e));
      }
    } else {
      const target = dstIsDir ? join(dst, name) : dst;
      if (existsSync(target) && statSync(target).isDirectory() && !srcIsDir) throw new Error(`cannot overwrite directory "${target}" with non-directory`);
      rmSync(target, { recursive: true, force: true });
      renameSync(join(tmp, name), target);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return bytes;
}

async function copyToContainer(cli: Cli, src: string, container: string, dst: string, opts: { followLink: boolean; archive: boolean }): Promise<number> {
  const client = await cli.client();
  const ref = encodeURIComponent(container);
  const query = (path: string) => ({ path, noOverwriteDirNonDir: true, copyUIDGID: opts.archive || undefined });
  if (src === '-') {
    await (await client.request('PUT', `/containers/${ref}/archive`, { query: query(dst), raw: cli.io.stdin, contentType: 'application/x-tar' })).body.text();
    return 0;
  }
  const abs = resolve(src);
  if (!existsSync(abs)) throw new Error(`lstat ${abs}: no such file or directory`);
  // Where the archive goes: into dst when it is an existing directory, else into its parent under dst's name.
  let dstIsDir = false;
  let dstExists = false;
  try {
    const head = await client.request('HEAD', `/containers/${ref}/archive`, { query: { path: dst } });
    await head.body.text();
    dstExists = true;
    const st = statHeader(head.headers['x-docker-container-path-stat']);
    dstIsDir = st ? (st.mode >>> 0) >= S_IFDIR || (st.mode & S_IFDIR) !== 0 : false;
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 404)) throw e;
  }
  const contentsOnly = /\/\.$/.test(src);
  const srcIsDir = statSync(abs).isDirectory();
  const base = basename(abs);
  let into: string;
  let rename: string | undefined;
  if (dstExists && dstIsDir) {
    into = dst;
    if (contentsOnly) rename = '.';
  } else {
    if (/\/$/.test(dst) && !srcIsDir) throw new Error(`destination directory "${dst}" must exist`);
    into = posix.dirname(dst.replace(/\/+$/, '')) || '/';
    rename = posix.basename(dst.replace(/\/+$/, ''));
  }
  const args = ['-c', '-f', '-', '-C', contentsOnly ? abs : dirname(abs)];
  if (opts.followLink) args.push('-h');
  if (contentsOnly) {
    if (rename && rename !== '.') args.push(`--transform=s,^\\.,${rename.replace(/[,\\&]/g, '\\$&')},`);
    args.push('.');
  } else {
    if (rename) args.push(`--transform=s,^${base.replace(/[.[\]*^$,\\]/g, '\\$&')},${rename.replace(/[,\\&]/g, '\\$&')},`);
    args.push(base);
  }
  const t = run('tar', args);
  let bytes = 0;
  t.stdout.on('data', (c: Buffer) => (bytes += c.length));
  const put = client.request('PUT', `/containers/${ref}/archive`, { query: query(into), raw: t.stdout, contentType: 'application/x-tar' });
  await Promise.all([t.done, put.then((r) => r.body.text())]);
  return bytes;
}

export const command: Command = {
  name: 'cp',
  use: '[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\tberth cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH',
  short: 'Copy files/folders between a container and the local filesystem',
  args: { min: 2, max: 2 },
  flags(fs) {
    fs.bool('archive', 'a', 'Archive mode (copy all uid/gid information)');
    fs.bool('follow-link', 'L', 'Always follow symbol link in SRC_PATH');
    fs.bool('quiet', 'q', 'Suppress progress output during copy. Progress output is automatically suppressed if no terminal is attached');
  },
  async run(cli, flags, args) {
    const [srcC, src] = splitCpArg(args[0]!);
    const [dstC, dst] = splitCpArg(args[1]!);
    if (srcC && dstC) throw new Error('copying between containers is not supported');
    if (!srcC && !dstC) throw new Error('must specify at least one container source');
    if (!src || !dst) throw new Error('filepath cannot be empty');
    const followLink = flags.bool('follow-link');
    const n = srcC
      ? await copyFromContainer(cli, srcC, src, dst, { followLink })
      : await copyToContainer(cli, src, dstC!, dst, { followLink, archive: flags.bool('archive') });
    if (!flags.bool('quiet') && cli.io.stderr.isTTY && dst !== '-' && src !== '-') {
      cli.err(`Successfully copied ${humanSize(n)} to ${srcC ? dst : `${dstC}:${dst}`}\n`);
    }
  },
};
