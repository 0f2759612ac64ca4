// `berth system df`: GET /system/df summarized as docker does (TYPE, TOTAL, ACTIVE, SIZE, RECLAIMABLE).
import type { Command } from '../../command.js';
import { formatRows } from '../../format/formatter.js';
import { humanSize } from '../../format/units.js';

interface DiskUsage {
  LayersSize?: number;
  Images?: Array<{ Size: number; SharedSize: number; Containers: number }> | null;
  Containers?: Array<{ State: string; SizeRw?: number }> | null;
  Volumes?: Array<{ UsageData?: { Size: number; RefCount: number } | null }> | null;
  BuildCache?: Array<{ Size: number; InUse: boolean; Shared?: boolean }> | null;
}

interface DfRow { Type: string; TotalCount: string; Active: string; Size: string; Reclaimable: string }

function pct(reclaimable: number, total: number): string {
  return total > 0 ? `${humanSize(reclaimable)} (${Math.trunc((reclaimable * 100) / total)}%)` : humanSize(reclaimable);
}

/** The four summary rows. */
export function dfRows(du: DiskUsage): DfRow[] {
  const images = du.Images ?? [];
  const totalImages = du.LayersSize ?? 0;
  let usedImages = 0;
  for (const i of images) if (i.Containers !== 0 && i.Size !== -1 && i.SharedSize !== -1) usedImages += i.Size - i.SharedSize;
  const containers = du.Containers ?? [];
  const isActive = (s: string) => s === 'running' || s === 'paused' || s === 'restarting';
  const cSize = containers.reduce((a, c) => a + (c.SizeRw ?? 0), 0);
  const cRecl = containers.filter((c) => !isActive(c.State)).reduce((a, c) => a + (c.SizeRw ?? 0), 0);
  const volumes = du.Volumes ?? [];
  const vSize = volumes.reduce((a, v) => a + (v.UsageData && v.UsageData.Size !== -1 ? v.UsageData.Size : 0), 0);
  const vRecl = volumes.filter((v) => (v.UsageData?.RefCount ?? 0) === 0).reduce((a, v) => a + (v.UsageData && v.UsageData.Size !== -1 ? v.UsageData.Size : 0), 0);
  const cache = du.BuildCache ?? [];
  const bSize = cache.filter((b) => !b.Shared).reduce((a, b) => a + b.Size, 0);
  const bRecl = cache.filter((b) => !b.Shared && !b.InUse).reduce((a, b) => a + b.Size, 0);
  return [
    { Type: 'Images', TotalCount: String(images.length), Active: String(images.filter((i) => i.Containers > 0).length), Size: humanSize(totalImages), Reclaimable: pct(totalImages - usedImages, totalImages) },
    { Type: 'Containers', TotalCount: String(containers.length), Active: String(containers.filter((c) => isActive(c.State)).length), Size: humanSize(cSize), Reclaimable: pct(cRecl, cSize) },
    { Type: 'Local Volumes', TotalCount: String(volumes.length), Active: String(volumes.filter((v) => (v.UsageData?.RefCount ?? 0) > 0).length), Size: humanSize(vSize), Reclaimable: pct(vRecl, vSize) },
    { Type: 'Build Cache', TotalCount: String(cache.length), Active: String(cache.filter((b) => b.InUse).length), Size: humanSize(bSize), Reclaimable: pct(bRecl, bSize) },
  ];
}

export const command: Command = {
  name: 'df',
  use: '[OPTIONS]',
  short: 'Show berth disk usage',
  args: { max: 0 },
  flags(fs) {
    fs.string('format', undefined, "Format output using a custom template:\n'table':            Print output in table format with column headers (default)\n'table TEMPLATE':   Print output in table format using the given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template.\nRefer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates");
    fs.bool('verbose', 'v', 'Show detailed information on space usage');
  },
  async run(cli, flags) {
    const client = await cli.client();
    const du = await client.json<DiskUsage>('GET', '/system/df');
    let format = flags.str('format') || 'table';
    if (format === 'table') format = 'table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}';
    cli.out(formatRows(format, dfRows(du), { header: { Type: 'TYPE', TotalCount: 'TOTAL', Active: 'ACTIVE', Size: 'SIZE', Reclaimable: 'RECLAIMABLE' } }));
  },
};
