// `berth import`: POST /images/create?fromSrc=- with a tarball (file or stdin) or fromSrc=URL.
import { createReadStream, existsSync } from 'node:fs';
import type { Command } from '../../command.js';
import { displayProgress, splitReference } from './pull.js';

export const command: Command = {
  name: 'import',
  use: '[OPTIONS] file|URL|- [REPOSITORY[:TAG]]',
  short: 'Import the contents from a tarball to create a filesystem image',
  args: { min: 1, max: 2 },
  flags(fs) {
    fs.list('change', 'c', 'Apply Dockerfile instruction to the created image');
    fs.string('message', 'm', 'Set commit message for imported image');
    fs.string('platform', undefined, 'Set platform if server is multi-platform capable');
  },
  async run(cli, flags, args) {
    const [src, ref] = args as [string, string | undefined];
    const isUrl = /^https?:\/\//.test(src);
    if (!isUrl && src !== '-' && !existsSync(src)) throw new Error(`open ${src}: no such file or directory`);
    const r = ref ? splitReference(ref) : undefined;
    const client = await cli.client();
    const stream = client.ndjson('POST', '/images/create', {
      query: {
        fromSrc: isUrl ? src : '-',
        repo: r?.name,
        tag: r?.tag,
        message: flags.str('message') || undefined,
        changes: flags.list<string>('change'),
        platform: flags.str('platform') || undefined,
      },
      raw: isUrl ? undefined : src === '-' ? cli.io.stdin : createReadStream(src),
      contentType: 'application/x-tar',
    });
    // A URL import streams dockerd's download progress: shown as pull shows its own.
    await displayProgress(stream, cli.io.stdout);
  },
};
