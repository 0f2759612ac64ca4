// `berth commit`: POST /commit?container=&repo=&tag= -> the new image's id, as docker prints it.
import { repoTagReference } from '../../../images/reference.js';
import type { Command } from '../../command.js';
import { splitReference } from '../image/pull.js';

export const command: Command = {
  name: 'commit',
  use: "[OPTIONS] CONTAINER [REPOSITORY[:TAG]]",
  short: "Create a new image from a container's changes",
  args: { min: 1, max: 2 },
  flags(fs) {
    fs.string('author', 'a', 'Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")');
    fs.list('change', 'c', 'Apply Dockerfile instruction to the created image');
    fs.string('message', 'm', 'Commit message');
    fs.bool('pause', 'p', 'Pause container during commit', true);
  },
  async run(cli, flags, args) {
    const [container, ref] = args as [string, string | undefined];
    let repo: { name: string; tag?: string } | undefined;
    // Checked here first, as the docker CLI does (its client parses the reference before sending it).
    if (ref) {
      if (splitReference(ref).digest) throw new Error('refusing to create a tag with a digest reference');
      repo = splitReference(repoTagReference(ref, undefined)!);
    }
    const client = await cli.client();
    const r = await client.json<{ Id: string }>('POST', '/commit', {
      query: {
        container,
        repo: repo?.name,
        tag: repo?.tag,
        comment: flags.str('message') || undefined,
        author: flags.str('author') || undefined,
        changes: flags.list<string>('change'),
        pause: flags.bool('pause'),
      },
      body: null,
    });
    cli.out(`${r.Id}\n`);
  },
};
