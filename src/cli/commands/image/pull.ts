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

/**
 * docker's JSONProgress.String: `[=====>      ]  1.2MB/3.4MB`; the bar only on a terminal wider than 110
 * columns, the total dropped when the current passes it, nothing when both are zero.
 */
export function progressBar(current: number, total: number, width = 200): string {
  if (current <= 0 && total <= 0) return '';
  if (total <= 0) return humanSize(current).padStart(8);
  const pct = Math.min(50, Math.trunc(Math.trunc((current / total) * 100) / 2));
  const bar = width > 110 ? `[${'='.repeat(pct)}>${' '.repeat(50 - pct)}] ` : '';
  const numbers = current > total ? humanSize(current).padStart(8) : `${humanSize(current).padStart(8)}/${humanSize(total)}`;
  return bar + numbers;
}

/**
 * Render a progress stream (pull, push, load) as docker's jsonmessage.DisplayJSONMessagesStream does.
 * Not a terminal: one line per status, updates that carry a byte count skipped. A terminal: each layer id
 * (a message with progressDetail) owns a line, redrawn in place by moving the cursor up to it (ESC[nA),
 * clearing it (ESC[2K) and back down (ESC[nB); any other line forgets the ids (`pull -a`'s next tag).
 */
export async function displayProgress(stream: AsyncIterable<unknown>, out: Writable & { isTTY?: boolean; columns?: number }): Promise<void> {
  const tty = out.isTTY === true;
  // docker asks the terminal; a size it cannot read counts as 200 columns.
  const width = out.columns ?? 200;
  let ids = new Map<string, number>();
  for await (const raw of stream) {
    const m = raw as JSONMessage;
    if (m.error || m.errorDetail?.message) throw new Error(m.errorDetail?.message ?? m.error);
    if (m.aux !== undefined) continue;
    const progress = m.progressDetail ? progressBar(m.progressDetail.current ?? 0, m.progressDetail.total ?? 0, width) : undefined;
    let diff = 0;
    if (m.id && (m.progressDetail || m.progress)) {
      let line = ids.get(m.id);
      if (line === undefined) {
        line = ids.size;
        ids.set(m.id, line);
        if (tty) out.write('\n');
      }
      diff = ids.size - line;
      if (tty && diff > 0) out.write(`\x1b[${diff}A`);
    } else {
      ids = new Map();
    }
    let s = '';
    let endl = '';
    if (tty && m.stream === undefined && m.progressDetail) {
      s += '\x1b[2K\r';
      endl = '\r';
    } else if (progress) {
      continue;
    }
    if (m.id) s += `${m.id}: `;
    if (progress !== undefined && tty) s += `${m.status ?? ''} ${progress}${endl}`;
    else if (m.progress) s += `${m.status ?? ''} ${m.progress}${endl}`;
    else if (m.stream !== undefined) s += `${m.stream}${endl}`;
    else s += `${m.status ?? ''}${endl}\n`;
    out.write(s);
    if (m.id && tty && diff > 0) out.write(`\x1b[${diff}B`);
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
