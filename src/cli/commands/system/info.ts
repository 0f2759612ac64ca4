// `berth info`: GET /info in docker's layout (client section, then the server's), or --format over the info JSON.
import type { Command } from '../../command.js';
import { StatusError } from '../../command.js';
import { errorText } from '../../errors.js';
import { parseFormat } from '../../format/formatter.js';
import { bytesSize } from '../../format/units.js';
import { VERSION } from '../../version.js';

type Info = Record<string, unknown> & {
  Containers?: number; ContainersRunning?: number; ContainersPaused?: number; ContainersStopped?: number; Images?: number;
  ServerVersion?: string; Driver?: string; DriverStatus?: Array<[string, string]> | null; LoggingDriver?: string; CgroupDriver?: string;
  CgroupVersion?: string; KernelVersion?: string; OperatingSystem?: string; OSType?: string; Architecture?: string; NCPU?: number;
  MemTotal?: number; Name?: string; ID?: string; DockerRootDir?: string; Debug?: boolean; Experimental?: boolean; LiveRestoreEnabled?: boolean;
  SecurityOptions?: string[] | null; DefaultRuntime?: string; Runtimes?: Record<string, unknown> | null; Labels?: string[] | null;
  Warnings?: string[] | null;
};

/** The server part of `docker info`. */
export function renderServerInfo(i: Info): string {
  let s = 'Server:\n';
  s += ` Containers: ${i.Containers ?? 0}\n  Running: ${i.ContainersRunning ?? 0}\n  Paused: ${i.ContainersPaused ?? 0}\n  Stopped: ${i.ContainersStopped ?? 0}\n`;
  s += ` Images: ${i.Images ?? 0}\n Server Version: ${i.ServerVersion ?? ''}\n Storage Driver: ${i.Driver ?? ''}\n`;
  for (const [k, v] of i.DriverStatus ?? []) s += `  ${k}: ${v}\n`;
  s += ` Logging Driver: ${i.LoggingDriver ?? ''}\n Cgroup Driver: ${i.CgroupDriver ?? ''}\n Cgroup Version: ${i.CgroupVersion ?? ''}\n`;
  if (i.Runtimes) s += ` Runtimes: ${Object.keys(i.Runtimes).sort().join(' ')}\n Default Runtime: ${i.DefaultRuntime ?? ''}\n`;
  if (i.SecurityOptions?.length) {
    s += ' Security Options:\n';
    for (const o of i.SecurityOptions) {
      const parts = o.split(',');
      s += `  ${parts[0]!.replace(/^name=/, '')}\n`;
      for (const p of parts.slice(1)) {
        const [k, v] = p.split('=');
        s += `   ${k!.charAt(0).toUpperCase()}${k!.slice(1)}: ${v ?? ''}\n`;
      }
    }
  }
  s += ` Kernel Version: ${i.KernelVersion ?? ''}\n Operating System: ${i.OperatingSystem ?? ''}\n OSType: ${i.OSType ?? ''}\n Architecture: ${i.Architecture ?? ''}\n`;
  s += ` CPUs: ${i.NCPU ?? 0}\n Total Memory: ${bytesSize(i.MemTotal ?? 0)}\n Name: ${i.Name ?? ''}\n ID: ${i.ID ?? ''}\n`;
  s += ` Docker Root Dir: ${i.DockerRootDir ?? ''}\n Debug Mode: ${i.Debug ? 'true' : 'false'}\n`;
  if (i.Labels?.length) s += ` Labels:\n${i.Labels.map((l) => `  ${l}\n`).join('')}`;
  s += ` Experimental: ${i.Experimental ? 'true' : 'false'}\n Live Restore Enabled: ${i.LiveRestoreEnabled ? 'true' : 'false'}\n`;
  return s;
}

export const command: Command = {
  name: 'info',
  use: '[OPTIONS]',
  short: 'Display system-wide information',
  args: { max: 0 },
  flags(fs) {
    fs.string('format', 'f', "Format output using a custom template:\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template.\nRefer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates");
  },
  async run(cli, flags) {
    let info: Info | undefined;
    let err: unknown;
    try {
      const client = await cli.client();
      info = await client.json<Info>('GET', '/info');
    } catch (e) {
      err = e;
    }
    const format = flags.str('format');
    const clientInfo = { Debug: cli.globals.debug, Version: VERSION, Context: 'default', Plugins: [], Warnings: null };
    if (format) {
      const tmpl = parseFormat(format === 'json' ? '{{json .}}' : format);
      cli.out(tmpl.execute({ ...(info ?? {}), ClientInfo: clientInfo, ServerErrors: err ? [errorText(err, cli)] : null }) + '\n');
    } else {
      cli.out(`Client:\n Version:    ${VERSION}\n Context:    default\n Debug Mode: ${cli.globals.debug}\n\n`);
      if (info) {
        cli.out(renderServerInfo(info));
        for (const w of info.Warnings ?? []) cli.err(`${w}\n`);
      }
    }
    if (err) throw new StatusError(1, errorText(err, cli));
  },
};
