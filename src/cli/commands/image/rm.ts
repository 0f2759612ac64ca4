// `berth rmi` / `berth image rm`: DELETE /images/{name}, printing docker's Untagged:/Deleted: lines.
import type { Command } from '../../command.js';
import { StatusError } from '../../command.js';
import { errorText } from '../../errors.js';

export const command: Command = {
  name: 'rm',
  aliases: ['remove'],
  use: '[OPTIONS] IMAGE [IMAGE...]',
  short: 'Remove one or more images',
  args: { min: 1 },
  flags(fs) {
    fs.bool('force', 'f', 'Force removal of the image');
    fs.bool('no-prune', undefined, 'Do not delete untagged parents');
    fs.add({ name: 'platform', kind: 'list', typeName: 'strings', usage: 'Remove only the given platform variant. Formatted as "os[/arch[/variant]]" (e.g., "linux/amd64")' });
  },
  async run(cli, flags, args) {
    const client = await cli.client();
    const errors: string[] = [];
    for (const ref of args) {
      try {
        const r = await client.json<Array<{ Untagged?: string; Deleted?: string }>>('DELETE', `/images/${encodeURIComponent(ref)}`, {
          query: { force: flags.bool('force') || undefined, noprune: flags.bool('no-prune') || undefined },
        });
        for (const d of r ?? []) {
          if (d.Untagged) cli.out(`Untagged: ${d.Untagged}\n`);
          if (d.Deleted) cli.out(`Deleted: ${d.Deleted}\n`);
        }
      } catch (e) {
        errors.push(errorText(e, cli));
      }
    }
    if (errors.length) throw new StatusError(1, errors.join('\n'));
  },
};
