// `berth version`: the client's and the daemon's versions in docker's layout (or --format over {Client, Server}).
import type { Command } from '../../command.js';
import { StatusError } from '../../command.js';
import { errorText } from '../../errors.js';
import { parseFormat } from '../../format/formatter.js';
import { DOCKER_VERSION, tabwrite } from '../../format/tabwriter.js';
import { goArch, API_MAX_VERSION } from '../../../api/version.js';
import { VERSION as CLI_VERSION } from '../../version.js';

interface Component { Name: string; Version: string; Details?: Record<string, string> | null }
interface ServerVersion {
  Platform?: { Name: string };
  Components?: Component[];
  Version: string;
  ApiVersion: string;
  MinAPIVersion?: string;
  GitCommit: string;
  GoVersion: string;
  Os: string;
  Arch: string;
  KernelVersion?: string;
  Experimental?: boolean;
  BuildTime?: string;
}

/** Go's time.ANSIC for an RFC 3339 build time ("Fri May 30 12:07:14 2025"); other text unchanged. */
export function ansic(t: string | undefined): string {
  if (!t) return '';
  const ms = Date.parse(t);
  if (Number.isNaN(ms)) return t;
  const d = new Date(ms);
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (n: number) => String(n).padStart(2, '0');
  return `${days[d.getUTCDay()]} ${months[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} ${d.getUTCFullYear()}`;
}

/** The text of `docker version` for these facts. */
export function renderVersion(client: Record<string, string>, server: ServerVersion | undefined): string {
  let s = 'Client:\n';
  s += ` Version:\t${client['Version']}\n API version:\t${client['ApiVersion']}\n Go version:\t${client['GoVersion']}\n Git commit:\t${client['GitCommit']}\n Built:\t${client['BuildTime']}\n OS/Arch:\t${client['Os']}/${client['Arch']}\n Context:\t${client['Context']}\n`;
  if (server) {
    s += `\nServer:${server.Platform?.Name ? ` ${server.Platform.Name}` : ''}\n`;
    for (const c of server.Components ?? []) {
      s += ` ${c.Name}:\n`;
      if (c.Name === 'Engine') {
        const d = c.Details ?? {};
        s += `  Version:\t${c.Version}\n  API version:\t${d['ApiVersion'] ?? ''} (minimum version ${d['MinAPIVersion'] ?? ''})\n  Go version:\t${d['GoVersion'] ?? ''}\n  Git commit:\t${d['GitCommit'] ?? ''}\n  Built:\t${ansic(d['BuildTime'])}\n  OS/Arch:\t${d['Os'] ?? ''}/${d['Arch'] ?? ''}\n  Experimental:\t${d['Experimental'] ?? ''}\n`;
      } else {
        s += `  Version:\t${c.Version}\n`;
        for (const k of Object.keys(c.Details ?? {}).sort()) s += `  ${k}:\t${c.Details![k]}\n`;
      }
    }
  }
  return tabwrite(s, DOCKER_VERSION);
}

export const command: Command = {
  name: 'version',
  use: '[OPTIONS]',
  short: 'Show the Berth version information',
  args: { max: 0 },
  flags(fs) {
    fs.string('format', 'f', "Format output using a custom template:\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template.\nRefer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates");
  },
  async run(cli, flags) {
    let server: ServerVersion | undefined;
    let err: unknown;
    let apiVersion = API_MAX_VERSION;
    try {
      const client = await cli.client();
      apiVersion = client.apiVersion ?? apiVersion;
      server = await client.json<ServerVersion>('GET', '/version');
    } catch (e) {
      err = e;
    }
    const clientInfo: Record<string, string> = {
      Version: CLI_VERSION,
      ApiVersion: apiVersion,
      DefaultAPIVersion: API_MAX_VERSION,
      GoVersion: `n/a (Node.js ${process.version})`,
      GitCommit: 'unknown',
      BuildTime: 'unknown',
      Os: 'linux',
      Arch: goArch(),
      Context: 'default',
    };
    const format = flags.str('format');
    if (format) {
      const tmpl = parseFormat(format === 'json' ? '{{json .}}' : format);
      cli.out(tmpl.execute({ Client: { Platform: { Name: 'Berth' }, ...clientInfo }, Server: server ?? null }) + '\n');
    } else {
      cli.out(renderVersion(clientInfo, server));
    }
    if (err) throw new StatusError(1, errorText(err, cli));
  },
};
