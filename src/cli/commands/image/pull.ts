// `berth pull`: POST /images/create with docker's progress display (per-layer lines on a tty, plain lines otherwise).
import type { Writable } from 'node:stream';
import type { Command } from '../../command.js';
import type { Cli } from '../../context.js';
import { humanSize } from '../../format/units.js';

/** A reference split as docker's client does for /images/create: name, tag (default latest) or digest. */
export function splitReference(ref: string): { name: string; tag?: string; digest?: string } {
  const at = ref.indexOf('@');
  if (at >= 0) return { name: ref.slice(0, at), digest: ref.slice(at + 1) };
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  if (colon > slash) return { name: ref.slice(0, colon), tag: ref.slice(colon + 1) };
  return { name: ref, tag: 'latest' };
}

/** `busybox` → `busybox:latest` (docker's familiar form with the default tag). */
export function withDefaultTag(ref: string): string {
  const r = splitReference(ref);
  return r.digest ? ref : `${r.name}:${r.tag}`;
}

/** `busybox:latest` → `docker.io/library/busybox:latest`, as `docker pull` prints at the end. */
export function fullyQualified(ref: string): string {
  let r = withDefaultTag(ref);
  const first = r.split('/')[0]!;
  const hasDomain = r.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (!hasDomain) r = `docker.io/${r.includes('/') ? '' : 'library/'}${r}`;
  return r;
}

interface JSONMessage {
  id?: string;
  status?: string;
  progress?: string;
  progressDetail?: { current?: number; total?: number };
  error?: string;
  errorDetail?: { message?: string };
  stream?: string;
  aux?: unknown;
}

/** docker's progress bar: `[=====>      ]  1.2MB/3.4MB`. */
export function progressBar(current: number, total: number, width = 50): string {
  if (total <= 0) return humanSize(current);
  const pct = Math.min(1, current / total);
  const n = Math.floor(pct * width);
  const bar = n > 0 ? '='.repeat(n - 1) + '>' : '';
  const sizes = `${humanSize(current)}/${humanSize(total)}`;
  return `[${bar.padEnd(width)}] ${sizes.padStart(18)}`;
}

/**
 * Render a progress stream (pull, push, load) as docker's jsonmessage does: on a terminal one
 * line per layer id, rewritten in place; otherwise status lines only, progress updates skipped.
 */
export async function displayProgress(stream: AsyncIterable<unknown>, out: Writable & { isTTY?: boolean }): Promise<void> {
  const tty = out.isTTY === true;
  const ids: string[] = [];
  for await (const raw of stream) {
    const m = raw as JSONMessage;
    if (m.error || m.errorDetail?.message) throw new Error(m.errorDetail?.message ?? m.error);
    if (m.stream !== undefined) {
      out.write(m.stream);
      continue;
    }
    if (m.status === undefined) continue;
    const hasProgress = m.progressDetail !== undefined && (m.progressDetail.current !== undefined || m.progressDetail.total !== undefined);
    let line = m.id ? `${m.id}: ${m.status}` : m.status;
    if (!tty) {
      if (hasProgress || m.progress) continue;
      out.write(`${line}\n`);
      continue;
    }
    if (hasProgress) line += ` ${progressBar(m.progressDetail!.current ?? 0, m.progressDetail!.total ?? 0)}`;
    else if (m.progress) line += ` ${m.progress}`;
    if (!m.id) {
      out.write(`${line}\n`);
      continue;
    }
    const idx = ids.indexOf(m.id);
    if (idx < 0) {
      ids.push(m.id);
      out.write(`${line}\n`);
    } else {
      const up = ids.length - idx;
      out.write(`\x1b[${up}A\x1b[2K\r${line}\n${up > 1 ? `\x1b[${up - 1}B` : ''}`);
    }
  }
}

/** Pull `ref` showing progress on `out` (quiet: nothing). */
export async function pullImage(cli: Cli, ref: string, opts: { platform?: string; quiet?: boolean; out: Writable & { isTTY?: boolean }; allTags?: boolean }): Promise<void> {
  const client = await cli.client();
  const r = splitReference(ref);
  const query: Record<string, string | undefined> = { fromImage: r.name, tag: opts.allTags ? undefined : (r.digest ?? r.tag), platform: opts.platform };
  const stream = client.ndjson('POST', '/images/create', { query, headers: { 'X-Registry-Auth': 'e30=' } });
  if (opts.quiet) {
    for await (const m of stream) {
      const jm = m as JSONMessage;
      if (jm.error || jm.errorDetail?.message) throw new Error(jm.errorDetail?.message ?? jm.error);
    }
    return;
  }
  await displayProgress(stream, opts.out);
}

export const command: Command = {
  name: 'pull',
  use: '[OPTIONS] NAME[:TAG|@DIGEST]',
  short: 'Download an image from a registry',
  args: { min: 1, max: 1 },
  flags(fs) {
    fs.bool('all-tags', 'a', 'Download all tagged images in the repository');
    fs.add({ name: 'disable-content-trust', kind: 'bool', usage: 'Skip image verification', default: true, defText: 'true' });
    fs.string('platform', undefined, 'Set platform if server is multi-platform capable');
    fs.bool('quiet', 'q', 'Suppress verbose output');
  },
  async run(cli, flags, args) {
    const ref = args[0]!;
    const allTags = flags.bool('all-tags');
    if (allTags && splitReference(ref).tag !== 'latest' && ref.includes(':')) throw new Error('tag can\'t be used with --all-tags/-a');
    if (!allTags && !ref.includes('@') && !/:[^/]+$/.test(ref) && !flags.bool('quiet')) cli.out('Using default tag: latest\n');
    await pullImage(cli, ref, { platform: flags.str('platform') || cli.env['DOCKER_DEFAULT_PLATFORM'], quiet: flags.bool('quiet'), out: cli.io.stdout, allTags });
    cli.out(`${allTags ? splitReference(ref).name : fullyQualified(ref)}\n`);
  },
};
