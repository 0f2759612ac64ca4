// `berth push`: POST /images/{name}/push with docker's progress display.
import type { Command } from '../../command.js';
import { displayProgress, splitReference } from './pull.js';

export const command: Command = {
  name: 'push',
  use: '[OPTIONS] NAME[:TAG]',
  short: 'Upload an image to a registry',
  args: { min: 1, max: 1 },
  flags(fs) {
    fs.bool('all-tags', 'a', 'Push all tags of an image to the repository');
    fs.add({ name: 'disable-content-trust', kind: 'bool', usage: 'Skip image signing', default: true, defText: 'true' });
    fs.string('platform', undefined, "Push a platform-specific manifest as a single-platform image to the registry.\nImage index won't be pushed, meaning that other manifests, including attestations won't be preserved.\n'os[/arch[/variant]]': Explicit platform (eg. linux/amd64)");
    fs.bool('quiet', 'q', 'Suppress verbose output');
  },
  async run(cli, flags, args) {
    const ref = args[0]!;
    const r = splitReference(ref);
    const allTags = flags.bool('all-tags');
    if (!allTags && !ref.includes('@') && !/:[^/]+$/.test(ref) && !flags.bool('quiet')) cli.out('Using default tag: latest\n');
    const client = await cli.client();
    const stream = client.ndjson('POST', `/images/${r.name}/push`, {
      query: { tag: allTags ? undefined : r.tag, platform: flags.str('platform') || undefined },
      headers: { 'X-Registry-Auth': 'e30=' },
    });
    if (flags.bool('quiet')) {
      for await (const m of stream) {
        const jm = m as { error?: string; errorDetail?: { message?: string } };
        if (jm.error || jm.errorDetail?.message) throw new Error(jm.errorDetail?.message ?? jm.error);
      }
      cli.out(`${ref}\n`);
      return;
    }
    await displayProgress(stream, cli.io.stdout);
  },
};
