// `berth tag`: POST /images/{source}/tag?repo=&tag=.
import type { Command } from '../../command.js';
import { splitReference } from './pull.js';

export const command: Command = {
  name: 'tag',
  use: 'SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]',
  short: 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE',
  args: { min: 2, max: 2 },
  async run(cli, _flags, args) {
    const client = await cli.client();
    const t = splitReference(args[1]!);
    if (t.digest) throw new Error(`refusing to create a tag with a digest reference`);
    await (await client.request('POST', `/images/${encodeURIComponent(args[0]!)}/tag`, { query: { repo: t.name, tag: t.tag } })).body.text();
  },
};
