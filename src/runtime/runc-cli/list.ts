// berth-runc list: the containers under --root, as a table, ids, or JSON (runc's shapes).
import type { Command } from './command.js';

export const command: Command = {
  name: 'list',
  argsUsage: '',
  flags: [
    { name: 'format', alias: 'f', type: 'string', usage: 'select one of: table or json', default: 'table' },
    { name: 'quiet', alias: 'q', type: 'bool', usage: 'display only container IDs' },
  ],
  args: 0,
  async run(ctx) {
    const all = await ctx.runtime().list();
    if (ctx.flags.quiet) {
      for (const c of all) process.stdout.write(c.id + '\n');
      return;
    }
    if (ctx.flags.format === 'json') {
      // runc prints `null` for no containers (a nil Go slice).
      process.stdout.write(JSON.stringify(all.length ? all : null) + '\n');
      return;
    }
    if (ctx.flags.format !== 'table') throw new Error(`invalid format option`);
    const rows = [['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER'],
      ...all.map((c) => [c.id, String(c.pid ?? 0), c.status, c.bundle, c.created, c.owner])];
    process.stdout.write(tabwrite(rows));
  },
};

/** Go's tabwriter with minwidth 12, padding 1 (what runc uses): columns padded, last not. */
export function tabwrite(rows: string[][]): string {
  const n = Math.max(...rows.map((r) => r.length));
  const widths = Array.from({ length: n }, (_, i) => Math.max(12, ...rows.map((r) => (r[i]?.length ?? 0) + 1)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('') + '\n').join('');
}
