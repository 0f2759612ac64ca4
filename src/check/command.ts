// `berthd check`: the consistency check as a command, with the daemon's own flags and daemon.json (so it checks the roots that berthd uses); exit 1 when anything is wrong.
import { parseGoDuration } from '../common/units.js';
import { loadConfig } from '../daemon-config.js';
import { checkState, type CheckReport } from './check.js';

export const CHECK_USAGE = `Usage: berthd check [OPTIONS]

Check that the data root and exec root are consistent with what runs on the host: no shim,
snapshot, blob, mount, cgroup, network namespace, IPAM lease or veth that no container explains.
Changes nothing; runs with berthd stopped or running. Exits 1 when it finds a problem.

Options:
      --format string       "text" (default) or "json"
      --grace duration      With berthd running: blobs and snapshots younger than this may be a
                            pull or unpack under way (default 5m)
      --settle duration     With berthd running: report only what is seen twice this far apart (default 2s)
      --verify-content      Also rehash every blob

Every berthd option is accepted (--data-root, --exec-root, --pidfile, --config-file, ...), so
the check sees the roots the daemon uses; the cgroup parent is the one berthd recorded in the
exec root when it started.
`;

interface CheckFlags { format: 'text' | 'json'; graceMs?: number; settleMs?: number; verifyContent: boolean; help: boolean; rest: string[] }

function parseCheckFlags(argv: readonly string[]): CheckFlags {
  const out: CheckFlags = { format: 'text', verifyContent: false, help: false, rest: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const value = () => {
      const v = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (v === undefined) throw new Error(`flag needs an argument: ${name}`);
      return v;
    };
    const duration = () => {
      const v = value();
      const ms = parseGoDuration(v);
      if (ms === undefined || ms < 0) throw new Error(`invalid argument ${JSON.stringify(v)} for "${name}" flag: time: invalid duration ${JSON.stringify(v)}`);
      return ms;
    };
    switch (name) {
      case '--format': {
        const v = value();
        if (v !== 'text' && v !== 'json') throw new Error(`invalid argument ${JSON.stringify(v)} for "--format" flag: "text" or "json"`);
        out.format = v;
        break;
      }
      case '--grace': out.graceMs = duration(); break;
      case '--settle': out.settleMs = duration(); break;
      case '--verify-content': out.verifyContent = true; break;
      case '-h': case '--help': out.help = true; break;
      default: out.rest.push(arg);
    }
  }
  return out;
}

function printText(r: CheckReport, dataRoot: string, execRoot: string): void {
  const lines = [`data root ${dataRoot}, exec root ${execRoot}: berthd ${r.daemonPid ? `is running (pid ${r.daemonPid})` : 'is not running'}`];
  const width = Math.max(0, ...r.findings.map((f) => f.kind.length));
  for (const f of r.findings) lines.push(`${f.kind.padEnd(width)}  ${f.message}`);
  lines.push(r.ok ? 'OK: the state is consistent, nothing leaked' : `${r.findings.length} problem${r.findings.length === 1 ? '' : 's'} found`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** `berthd check ...`; resolves with the exit code (0 consistent, 1 problems, 2 bad usage). */
export async function runCheck(argv: readonly string[]): Promise<number> {
  let flags: CheckFlags;
  let config: ReturnType<typeof loadConfig>['config'];
  try {
    flags = parseCheckFlags(argv);
    if (flags.help) {
      process.stdout.write(CHECK_USAGE);
      return 0;
    }
    ({ config } = loadConfig(flags.rest));
  } catch (e) {
    process.stderr.write(`berthd check: ${(e as Error).message}\n`);
    return 2;
  }
  const r = await checkState({
    dataRoot: config.dataRoot, execRoot: config.execRoot, pidfile: config.pidfile,
    ...(flags.graceMs !== undefined ? { graceMs: flags.graceMs } : {}),
    ...(flags.settleMs !== undefined ? { settleMs: flags.settleMs } : {}),
    ...(flags.verifyContent ? { verifyContent: true } : {}),
  });
  if (flags.format === 'json') process.stdout.write(`${JSON.stringify({ ok: r.ok, daemonPid: r.daemonPid ?? null, dataRoot: config.dataRoot, execRoot: config.execRoot, findings: r.findings })}\n`);
  else printText(r, config.dataRoot, config.execRoot);
  return r.ok ? 0 : 1;
}
