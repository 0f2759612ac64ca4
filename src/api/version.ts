// API versions (the supported range, parsing, comparison) and the `GET /version` route.
import os from 'node:os';
import type { Router } from './router.js';

/** The highest API version served; also the version of unversioned requests. */
export const API_MAX_VERSION = '1.50';
/** The lowest API version accepted (dockerd's minimum too). */
export const API_MIN_VERSION = '1.24';

/** Compare dotted versions numerically (`1.9` < `1.41`); missing parts count as 0. */
export function compareApiVersions(a: string, b: string): number {
  const pa = a.split('.');
  const pb = b.split('.');
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = Number.parseInt(pa[i] ?? '0', 10) || 0;
    const y = Number.parseInt(pb[i] ?? '0', 10) || 0;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

export const versionAtLeast = (v: string, min: string) => compareApiVersions(v, min) >= 0;

/** A path's `/v1.41` prefix, split off: `{ version: '1.41', rest: '/containers/json' }`. */
export function splitVersionPrefix(path: string): { version: string | undefined; rest: string } {
  const m = /^\/v([0-9.]+)(\/.*)?$/.exec(path);
  if (!m) return { version: undefined, rest: path };
  return { version: m[1], rest: m[2] ?? '/' };
}

/**
 * The reason a client version is refused, with dockerd's wording, or undefined when served.
 * Both are 400 (invalid parameter) in dockerd.
 */
export function checkApiVersion(version: string, min = API_MIN_VERSION, max = API_MAX_VERSION): string | undefined {
  if (compareApiVersions(version, min) < 0) {
    return `client version ${version} is too old. Minimum supported API version is ${min}, please upgrade your client to a newer version`;
  }
  if (compareApiVersions(version, max) > 0) {
    return `client version ${version} is too new. Maximum supported API version is ${max}`;
  }
  return undefined;
}

/** One entry of `Components` in `GET /version`. */
export interface ComponentVersion {
  Name: string;
  Version: string;
  Details?: Record<string, string> | null;
}

/** Facts about this daemon build, reported by `/version`. */
export interface DaemonInfo {
  /** Shown by `docker version` as "Server: <name>". */
  platformName: string;
  version: string;
  gitCommit: string;
  buildTime: string;
  experimental: boolean;
}

/** Docker's `SystemVersion` (GET /version) response. */
export interface SystemVersion {
  Platform: { Name: string };
  Components: ComponentVersion[];
  Version: string;
  ApiVersion: string;
  MinAPIVersion: string;
  GitCommit: string;
  GoVersion: string;
  Os: string;
  Arch: string;
  KernelVersion: string;
  Experimental?: boolean;
  BuildTime: string;
}

/** Node's arch names to Go's GOARCH values, which clients expect in `Arch`. */
export function goArch(arch: string = process.arch): string {
  const map: Record<string, string> = { x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64', mips: 'mips', mipsel: 'mipsle', loong64: 'loong64' };
  return map[arch] ?? arch;
}

export const DEFAULT_DAEMON_INFO: DaemonInfo = {
  platformName: 'Berth Engine',
  version: '0.1.0',
  gitCommit: 'unknown',
  buildTime: 'unknown',
  experimental: false,
};

/**
 * Build the `/version` body. The "Engine" component always comes first, carrying the details
 * the docker CLI prints (ApiVersion, MinAPIVersion, GoVersion, ...); `extra` (shim, init,
 * runtime versions, supplied by the engine) follow. There is no Go: GoVersion says so.
 */
export function systemVersion(info: DaemonInfo = DEFAULT_DAEMON_INFO, extra: ComponentVersion[] = []): SystemVersion {
  const goVersion = `n/a (Node.js ${process.version})`;
  const arch = goArch();
  const kernel = os.release();
  return {
    Platform: { Name: info.platformName },
    Components: [
      {
        Name: 'Engine',
        Version: info.version,
        Details: {
          ApiVersion: API_MAX_VERSION,
          Arch: arch,
          BuildTime: info.buildTime,
          Experimental: String(info.experimental),
          GitCommit: info.gitCommit,
          GoVersion: goVersion,
          KernelVersion: kernel,
          MinAPIVersion: API_MIN_VERSION,
          Os: 'linux',
        },
      },
      ...extra,
    ],
    Version: info.version,
    ApiVersion: API_MAX_VERSION,
    MinAPIVersion: API_MIN_VERSION,
    GitCommit: info.gitCommit,
    GoVersion: goVersion,
    Os: 'linux',
    Arch: arch,
    KernelVersion: kernel,
    ...(info.experimental ? { Experimental: true } : {}),
    BuildTime: info.buildTime,
  };
}

/** Supplies the extra components at request time (the engine asks the shim, init, runtime). */
export type ComponentsProvider = () => ComponentVersion[] | Promise<ComponentVersion[]>;

/** Register `GET /version`. */
export function registerVersionRoute(router: Router, info: DaemonInfo = DEFAULT_DAEMON_INFO, components?: ComponentsProvider): void {
  router.get('/version', async () => systemVersion(info, components ? await components() : []));
}
