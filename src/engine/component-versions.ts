// /version's Components besides the Engine: what berth-shim, the default runtime and berth-init say of themselves
// (`--version`), asked once at daemon start, as dockerd asks containerd, runc and docker-init.
import { execFile } from 'node:child_process';
import { BERTH_RUNTIME } from './containers.js';

/** One Components entry, in Docker's shape. */
export interface Component {
  Name: string;
  Version: string;
  Details: { GitCommit: string };
}

/**
 * runc's `--version` text as dockerd's parseRuntimeVersion reads it: the line with `version` gives the name
 * (before) and version (after), `commit:` the commit; undefined when it has neither.
 */
export function parseVersionText(text: string): { name: string; version: string; commit: string } | undefined {
  let name = '';
  let version = '';
  let commit = '';
  for (const line of text.trim().split('\n')) {
    if (line.includes('version')) {
      const parts = line.split('version');
      name = parts[0]!.trim();
      version = parts[parts.length - 1]!.trim();
    } else if (line.startsWith('commit:')) {
      commit = line.slice('commit:'.length).trim();
    }
  }
  return version || commit ? { name, version, commit } : undefined;
}

function askVersion(bin: string): Promise<{ version: string; commit: string }> {
  return new Promise((resolve, reject) => {
    execFile(bin, ['--version'], { timeout: 10_000, encoding: 'utf8' }, (err, stdout) => {
      if (err) return reject(err);
      const v = parseVersionText(stdout);
      if (!v) return reject(new Error(`unknown output format: ${stdout}`));
      resolve(v);
    });
  });
}

export interface ComponentPaths {
  shim: string;
  init: string;
  /** The default runtime's name; `berth` is berthd's own runtime, which berth-init carries out. */
  defaultRuntime: string;
  /** The configured runc-compatible runtimes by name. */
  runtimes: Record<string, { path: string }>;
}

/**
 * Ask each binary once, in parallel; one that fails is left out with `onError` told (dockerd logs and omits it too).
 * Order as dockerd's: the supervisor (containerd there), the runtime, the init.
 */
export async function componentVersions(p: ComponentPaths, onError: (name: string, err: Error) => void): Promise<Component[]> {
  const runtimeBin = p.defaultRuntime === BERTH_RUNTIME ? p.init : p.runtimes[p.defaultRuntime]?.path;
  const asked: Array<[string, string | undefined]> = [['berth-shim', p.shim], [p.defaultRuntime, runtimeBin], ['berth-init', p.init]];
  const answers = await Promise.all(asked.map(async ([name, bin]): Promise<Component | undefined> => {
    try {
      if (!bin) throw new Error('no such runtime configured');
      const v = await askVersion(bin);
      return { Name: name, Version: v.version, Details: { GitCommit: v.commit } };
    } catch (e) {
      onError(name, e as Error);
      return undefined;
    }
  }));
  return answers.filter((c): c is Component => c !== undefined);
}
