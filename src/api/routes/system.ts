// System routes: `GET /info`, `GET /version`, `GET /system/df`, `POST /build/prune`, in Docker's shapes, filled from what the engine and images report.
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import type { ContainerService, ContainerSummary, DfKinds } from '../../engine/types.js';
import type { ImageService } from '../../images/images.js';
import { insecureRegistries } from '../../images/distribution/endpoints.js';
import type { Router } from '../router.js';
import { errInvalid } from '../../common/errors.js';
import { compareApiVersions, registerVersionRoute, type ComponentsProvider, type DaemonInfo, goArch } from '../version.js';

/** Facts about this daemon that /info reports. */
export interface DaemonFacts {
  /** A stable id for this daemon (dockerd keeps one in its data root). */
  id: string;
  dataRoot: string;
  execRoot: string;
  version: string;
  debug: boolean;
  /** The OCI runtime binary Berth's runtime is served by (for `Runtimes`). */
  runtimePath: string;
  /** The docker-init equivalent, when there is one. */
  initPath?: string;
  loggingDriver?: string;
  insecureRegistries?: string[];
  mirrors?: string[];
}

export interface SystemRouteDeps {
  images: ImageService;
  containers?: ContainerService;
  daemon: DaemonFacts;
  versionInfo?: DaemonInfo;
  /** The extra `/version` components (lifecycle, shim, runtime). */
  components?: ComponentsProvider;
  /** Fields the engine reports for /info; they override the defaults computed here. */
  engineInfo?: () => Promise<Record<string, unknown>> | Record<string, unknown>;
  /** The engine's own /system/df, when it has one: only the kinds asked for are read. */
  engineDf?: (want: DfKinds) => Promise<unknown>;
}

const DF_KINDS = ['container', 'image', 'volume', 'build-cache'] as const;

/** dockerd's reading of `type`: from API 1.42 the kinds named (each known), else (or with none) all. */
export function dfKinds(types: string[], apiVersion: string): DfKinds {
  const all = types.length === 0 || compareApiVersions(apiVersion, '1.42') < 0;
  const want: DfKinds = { container: all, image: all, volume: all, 'build-cache': all };
  if (all) return want;
  for (const t of types) {
    if (!(DF_KINDS as readonly string[]).includes(t)) throw errInvalid(`unknown object type: ${t}`);
    want[t as keyof DfKinds] = true;
  }
  return want;
}

function osRelease(): string {
  try {
    const text = readFileSync('/etc/os-release', 'utf8');
    const m = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(text);
    if (m) return m[1]!;
  } catch {
    // no os-release
  }
  return 'Linux';
}

function cgroupVersion(): '1' | '2' {
  return existsSync('/sys/fs/cgroup/cgroup.controllers') ? '2' : '1';
}

/** Container state counts, as /info shows them. */
function counts(list: ContainerSummary[]): { Containers: number; ContainersRunning: number; ContainersPaused: number; ContainersStopped: number } {
  let running = 0;
  let paused = 0;
  for (const c of list) {
    if (c.State === 'paused') paused++;
    else if (c.State === 'running' || c.State === 'restarting') running++;
  }
  return { Containers: list.length, ContainersRunning: running, ContainersPaused: paused, ContainersStopped: list.length - running - paused };
}

/** Register /info, /version and /system/df. */
export function registerSystemRoutes(router: Router, deps: SystemRouteDeps): void {
  const d = deps.daemon;
  registerVersionRoute(router, deps.versionInfo, deps.components);

  router.get('/info', async () => {
    const containers = deps.containers ? await deps.containers.list({ all: true }) : [];
    const images = await deps.images.list();
    const cg = cgroupVersion();
    // dockerd's registry ServiceConfig: the configured CIDRs then the loopback defaults; each named registry an
    // insecure index; mirrors as scheme://host/.
    const { names, cidrs: insecure } = insecureRegistries(d.insecureRegistries);
    const mirrors = (d.mirrors ?? []).map((m) => new URL(m)).map((u) => `${u.protocol}//${u.host}/`);
    const indexConfigs = Object.fromEntries(names.map((r) => [r, { Name: r, Mirrors: [], Secure: false, Official: false }]));
    const base: Record<string, unknown> = {
      ID: d.id,
      ...counts(containers),
      Images: images.length,
      Driver: 'overlayfs',
      DriverStatus: [['driver-type', 'io.containerd.snapshotter.v1']],
      Plugins: { Volume: ['local'], Network: ['bridge', 'host', 'none'], Authorization: null, Log: ['json-file'] },
      MemoryLimit: true,
      SwapLimit: cg === '2' || existsSync('/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes'),
      CpuCfsPeriod: true,
      CpuCfsQuota: true,
      CPUShares: true,
      CPUSet: true,
      PidsLimit: true,
      IPv4Forwarding: true,
      Debug: d.debug,
      NFd: 0,
      OomKillDisable: cg === '1',
      NGoroutines: 0,
      SystemTime: new Date().toISOString(),
      LoggingDriver: d.loggingDriver ?? 'json-file',
      CgroupDriver: 'cgroupfs',
      CgroupVersion: cg,
      NEventsListener: 0,
      KernelVersion: os.release(),
      OperatingSystem: osRelease(),
      OSVersion: '',
      OSType: 'linux',
      Architecture: os.machine?.() ?? goArch(),
      IndexServerAddress: 'https://index.docker.io/v1/',
      RegistryConfig: {
        AllowNondistributableArtifactsCIDRs: null,
        AllowNondistributableArtifactsHostnames: null,
        InsecureRegistryCIDRs: insecure,
        IndexConfigs: { ...indexConfigs, 'docker.io': { Name: 'docker.io', Mirrors: mirrors, Secure: true, Official: true } },
        Mirrors: mirrors,
      },
      NCPU: os.availableParallelism?.() ?? os.cpus().length,
      MemTotal: os.totalmem(),
      GenericResources: null,
      DockerRootDir: d.dataRoot,
      HttpProxy: '',
      HttpsProxy: '',
      NoProxy: '',
      Name: os.hostname(),
      Labels: [],
      ExperimentalBuild: false,
      ServerVersion: d.version,
      Runtimes: { berth: { path: d.runtimePath } },
      DefaultRuntime: 'berth',
      Swarm: { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null },
      LiveRestoreEnabled: true,
      Isolation: '',
      InitBinary: d.initPath ? 'berth-init' : '',
      ContainerdCommit: { ID: '' },
      RuncCommit: { ID: '' },
      InitCommit: { ID: '' },
      SecurityOptions: ['name=seccomp,profile=builtin', ...(cg === '2' ? ['name=cgroupns'] : [])],
      CDISpecDirs: [],
      Warnings: null,
    };
    const extra = deps.engineInfo ? await deps.engineInfo() : {};
    return { ...base, ...extra };
  });

  router.get('/system/df', async (ctx) => {
    const want = dfKinds(ctx.query.all('type'), ctx.apiVersion);
    if (deps.engineDf) return deps.engineDf(want);
    const list = want.image || want.container ? await deps.images.list() : [];
    const containers = deps.containers && want.container ? await deps.containers.list({ all: true, size: true }) : [];
    const allContainers = deps.containers && want.image ? (want.container ? containers : await deps.containers.list({ all: true })) : [];
    const perImage = new Map<string, number>();
    for (const c of allContainers) perImage.set(c.ImageID, (perImage.get(c.ImageID) ?? 0) + 1);
    const images = list.map((i) => ({ ...i, SharedSize: 0, Containers: perImage.get(i.Id) ?? 0 }));
    // dockerd leaves a kind not asked for null (and LayersSize 0).
    return {
      LayersSize: want.image ? images.reduce((n, i) => n + i.Size, 0) : 0,
      Images: want.image ? images : null,
      Containers: want.container ? containers : null,
      Volumes: want.volume ? [] : null,
      BuildCache: want['build-cache'] ? [] : null,
    };
  });

  // Berth has no builder, so no build cache: the empty report dockerd gives when its cache is empty, so that
  // `docker system prune` (which always prunes the cache) completes.
  router.post('/build/prune', () => ({ CachesDeleted: null, SpaceReclaimed: 0 }));

}
