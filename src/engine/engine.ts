// The one place that builds berthd's object graph: one metadata.db shared by lifecycle, images and engine; GC with container roots; reconcile on open.
//
//   const engine = await openEngine({ dataRoot: '/var/lib/berth', execRoot: '/run/berth' });
//   const { Id } = await engine.containers.create({ Image: 'hello' }, {});
//   await engine.containers.start(Id);
//   await engine.containers.wait(Id, 'not-running');
//   await engine.close();   // containers keep running; the next openEngine reattaches
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, hostname, release, totalmem } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { errInvalid } from '../common/errors.js';
import { nullLogger, type Logger } from '../common/log.js';
import { Trash } from '../common/trash.js';
import { Lifecycle, type LifecycleEvent, type RuntimeConfig } from '../lifecycle/lifecycle.js';
import { checkStateDirLength } from '../lifecycle/task-sockets.js';
import { ensureBuiltinImages } from '../images/builtin.js';
import { LocalContentStore } from '../images/content/local-store.js';
import type { PullResult } from '../images/distribution/pull.js';
import type { RegistryClientOptions } from '../images/distribution/registry-client.js';
import type { ProgressFn } from '../images/distribution/progress.js';
import { GarbageCollector } from '../images/gc.js';
import { SqliteImageStore } from '../images/image-store.js';
import { ImageService, type ImageSummary } from '../images/images.js';
import { OverlaySnapshotter } from '../images/snapshots/overlay.js';
import { familiarString } from '../images/reference.js';
import { detectCgroupLayout } from '../runtime/cgroups/open.js';
import { writeCgroupParentFile } from './cgroup-parent-file.js';
import { ContainerManager } from './containers.js';
import { NetworkManager, type NetworkManagerOptions } from '../network/networks.js';
import { EventBus } from './events.js';
import { taskEvent } from './task-events.js';
import { ContainerStore } from './store.js';
import { VolumeService } from '../volumes/service.js';
import type { Volume } from '../volumes/types.js';
import type { ContainerSummary, DfKinds, LogConfig, Ulimit } from './types.js';

export interface EngineOptions {
  dataRoot: string;
  execRoot: string;
  log?: Logger;
  registry?: RegistryClientOptions;
  /** dockerd --default-ulimit. */
  defaultUlimits?: Ulimit[];
  /** dockerd's log-driver and log-opts: the log config of containers that set none. Default json-file. */
  logConfig?: LogConfig;
  /** dockerd --default-shm-size, in bytes. */
  defaultShmSize?: number;
  /** runc-compatible runtimes by name (dockerd's `runtimes`), besides `berth`. */
  runtimes?: Record<string, RuntimeConfig>;
  /** The runtime of containers that name none. Default `berth`. */
  defaultRuntime?: string;
  /** dockerd's host-gateway-ip (`--add-host x:host-gateway`). Default: the default bridge's gateway. */
  hostGatewayIp?: string;
  /** Docker's `--init` binary (HostConfig.Init). */
  initBinary?: string;
  /** Parent of the container cgroups; relative paths nest under berthd's own cgroup. Default `berth`. */
  cgroupParent?: string;
  /** Test seams: berth-shim and berth-init binaries (default: native/build). */
  shimBinary?: string;
  runtimeInitBinary?: string;
  /** Create the built-in images (hello, berth-probe) when missing. Default true. */
  builtinImages?: boolean;
  /** Networking: the default bridge, --bip, --ip-masq, address pools, the embedded DNS's upstreams. */
  network?: Omit<NetworkManagerOptions, 'dataRoot' | 'execRoot' | 'db' | 'log'>;
}

/** Docker's GET /system/df body; a kind not asked for is null (and LayersSize 0), as dockerd has it. */
export interface DiskUsage {
  LayersSize: number;
  Images: Array<ImageSummary> | null;
  Containers: ContainerSummary[] | null;
  Volumes: Volume[] | null;
  BuildCache: unknown[] | null;
}

export interface Engine {
  containers: ContainerManager;
  networks: NetworkManager;
  events: EventBus;
  images: ImageService;
  lifecycle: Lifecycle;
  volumes: VolumeService;
  /** The registry options pulls use. */
  registry?: RegistryClientOptions;
  /** `docker pull` with Docker's `pull` image event. */
  pull(ref: string, onProgress?: ProgressFn): Promise<PullResult>;
  /** Docker's GET /info fields this engine knows. */
  info(): Promise<Record<string, unknown>>;
  df(want?: DfKinds): Promise<DiskUsage>;
  /** Log entries the shims dropped, per container id, over each container's life (for metrics). */
  logDrops(): Record<string, number>;
  /** Stop watching; containers keep running. */
  close(): Promise<void>;
}

function osName(): string {
  try {
    const m = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(readFileSync('/etc/os-release', 'utf8'));
    if (m) return m[1]!;
  } catch { /* unknown */ }
  return 'Linux';
}

/** A stable daemon id, kept in the data root (Docker's engine ID). */
function engineId(dataRoot: string): string {
  const f = join(dataRoot, 'engine-id');
  try {
    return readFileSync(f, 'utf8').trim();
  } catch {
    const id = randomBytes(16).toString('hex').replace(/(.{8})(.{4})(.{4})(.{4})(.{12})/, '$1-$2-$3-$4-$5');
    writeFileSync(f, `${id}\n`);
    return id;
  }
}

/** Build the engine on `dataRoot` and `execRoot`, reattach to what runs, and apply exits that happened while down. */
export async function openEngine(opts: EngineOptions): Promise<Engine> {
  const { dataRoot, execRoot } = opts;
  if (!isAbsolute(dataRoot) || !isAbsolute(execRoot)) throw errInvalid('engine: dataRoot and execRoot must be absolute paths');
  // Shim sockets live in `<exec-root>/s/` under short names; refused before anything is made.
  checkStateDirLength(execRoot, 'engine: exec root');
  const log = opts.log ?? nullLogger;
  mkdirSync(dataRoot, { recursive: true, mode: 0o711 });
  mkdirSync(join(dataRoot, 'containers'), { recursive: true, mode: 0o710 });
  mkdirSync(join(execRoot, 'containers'), { recursive: true, mode: 0o711 });

  try {
    writeCgroupParentFile(execRoot, opts.cgroupParent ?? 'berth');
  } catch (e) {
    log.warn('cgroup parent not recorded (berthd check will not see its cgroups)', { err: (e as Error).message });
  }
  const lifecycle = await Lifecycle.open({
    dataRoot, stateDir: execRoot,
    ...(opts.shimBinary ? { shimBinary: opts.shimBinary } : {}),
    ...(opts.runtimeInitBinary ? { initBinary: opts.runtimeInitBinary } : {}),
    ...(opts.runtimes ? { runtimes: opts.runtimes } : {}),
    log: log.child({ component: 'lifecycle' }),
  });
  try {
    const db = lifecycle.md.db;
    const content = await new LocalContentStore(join(dataRoot, 'content')).init();
    // Trees of removed containers and snapshots go in the background (common/trash.ts).
    const trash = new Trash(join(dataRoot, 'trash'), (path, err) => log.warn('trash: delete failed', { path, err: err.message })).init();
    const snapshotter = await new OverlaySnapshotter(db, join(dataRoot, 'snapshots'), trash).init();
    const imageStore = new SqliteImageStore(db);
    const store = new ContainerStore(db);
    // The GC's roots include every container's snapshot (the store is read at each collection).
    const gc = new GarbageCollector({ content, snapshotter, images: imageStore, containerSnapshots: () => store.list().map((c) => c.snapshotKey) });
    const images = new ImageService({
      content, snapshotter, store: imageStore, gc,
      isInUse: (id) => store.list().some((c) => c.image === id),
    });
    const events = new EventBus();
    const networks = new NetworkManager({ ...(opts.network ?? {}), dataRoot, execRoot, db, log }).init();
    await networks.finishRemovals();
    const volumes = new VolumeService({
      db, dataRoot, events, log: log.child({ component: 'volumes' }),
      containers: () => store.list().map((c) => ({ id: c.id, running: ['running', 'paused', 'restarting'].includes(c.state.status), mountPoints: c.mountPoints ?? [] })),
    });
    await volumes.open();
    const containers = new ContainerManager({
      dataRoot, execRoot, lifecycle, images, store, events, log, volumes, networks, trash,
      ...(opts.cgroupParent ? { cgroupParent: opts.cgroupParent } : {}),
      ...(opts.initBinary ? { initBinary: opts.initBinary } : {}),
      ...(opts.defaultUlimits ? { defaultUlimits: opts.defaultUlimits } : {}),
      ...(opts.logConfig ? { logConfig: opts.logConfig } : {}),
      ...(opts.defaultShmSize ? { defaultShmSize: opts.defaultShmSize } : {}),
      runtimeNames: Object.keys(opts.runtimes ?? {}),
      ...(opts.defaultRuntime ? { defaultRuntime: opts.defaultRuntime } : {}),
      ...(opts.hostGatewayIp ? { hostGatewayIp: opts.hostGatewayIp } : {}),
    });
    // Task events for clients that ask for them (`type=task`); the container's name and labels are the engine's.
    // The lifecycle's container records live from create to rm, but Docker's containerd ones from each
    // start to the exit (dockerd makes one per start and deletes it with the task): `ctr events`
    // under dockerd shows /containers/create before /tasks/create and /containers/delete after
    // /tasks/delete, so these come from the task's topics.
    const onLifecycleEvent = (e: LifecycleEvent) => {
      if (!e.topic.startsWith('/tasks/')) return;
      const c = store.find(e.id);
      const who = c ? { name: c.name, labels: c.config.Labels ?? {} } : undefined;
      const publish = (x: LifecycleEvent) => {
        const ev = taskEvent(x, who);
        if (ev) events.publish(ev);
      };
      const base = { namespace: e.namespace, id: e.id, timestamp: e.timestamp };
      if (e.topic === '/tasks/create') {
        const { runtime, ...task } = e;
        publish({ ...base, topic: '/containers/create', image: c?.config.Image, runtime });
        publish(task as LifecycleEvent);
      } else {
        publish(e);
      }
      if (e.topic === '/tasks/delete') publish({ ...base, topic: '/containers/delete' });
    };
    lifecycle.events.on('event', onLifecycleEvent);
    await containers.reconcile();
    // No writer survives a daemon: every ingest, every snapshot no image or container uses (a
    // crashed unpack or create), every blob no image names (a crashed pull) is garbage now.
    const swept = await gc.collect({ graceMs: 0 });
    if (swept.blobs.length || swept.snapshots.length || swept.ingests.length || swept.orphanDirs.length) {
      log.info('open: removed what crashed operations left', { blobs: swept.blobs.length, snapshots: swept.snapshots, ingests: swept.ingests.length, dirs: swept.orphanDirs.length });
    }
    if (opts.builtinImages !== false) {
      const r = await ensureBuiltinImages(images);
      for (const s of r.skipped) log.warn('built-in image not created', s);
    }
    const id = engineId(dataRoot);

    const engine: Engine = {
      containers, networks, events, images, lifecycle, volumes,
      ...(opts.registry ? { registry: opts.registry } : {}),
      async pull(ref, onProgress) {
        // Loaded on first use: the registry client (undici) is most of an idle daemon's memory.
        const { pullImage } = await import('../images/distribution/pull.js');
        const r = await pullImage(images, ref, { ...(opts.registry ? { registry: opts.registry } : {}), ...(onProgress ? { onProgress } : {}) });
        const img = await images.get(r.name);
        events.publish({ Type: 'image', Action: 'pull', Actor: { ID: familiarString(r.name), Attributes: { name: familiarString(r.name), ...(img.config.config?.Labels ?? {}) } } });
        return r;
      },
      async info() {
        const n = containers.counts();
        const imgs = await images.list();
        const layout = detectCgroupLayout();
        return {
          ID: id,
          Containers: n.total,
          ContainersRunning: n.running,
          ContainersPaused: n.paused,
          ContainersStopped: n.stopped,
          Images: imgs.length,
          Driver: snapshotter.name,
          DriverStatus: [['Backing Filesystem', 'extfs'], ['Supports d_type', 'true']],
          DockerRootDir: dataRoot,
          Plugins: { Volume: ['local'], Network: ['bridge', 'host', 'null'], Authorization: null, Log: ['json-file'] },
          MemoryLimit: true, SwapLimit: existsSync('/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes') || layout.version === 2,
          CpuCfsPeriod: true, CpuCfsQuota: true, CPUShares: true, CPUSet: true, PidsLimit: true, OomKillDisable: layout.version === 1,
          IPv4Forwarding: true, BridgeNfIptables: false, BridgeNfIp6tables: false, Debug: false,
          NFd: 0, NGoroutines: 0, SystemTime: new Date().toISOString(),
          LoggingDriver: opts.logConfig?.Type ?? 'json-file',
          CgroupDriver: 'cgroupfs',
          CgroupVersion: String(layout.version),
          NEventsListener: 0,
          KernelVersion: release(),
          OperatingSystem: osName(),
          OSVersion: '',
          OSType: 'linux',
          Architecture: process.arch === 'x64' ? 'x86_64' : process.arch === 'arm64' ? 'aarch64' : process.arch,
          IndexServerAddress: 'https://index.docker.io/v1/',
          NCPU: cpus().length,
          MemTotal: totalmem(),
          Name: hostname(),
          Labels: [],
          ExperimentalBuild: false,
          ServerVersion: '0.1.0',
          // Docker's shape: `path` and `runtimeArgs` per runtime.
          Runtimes: {
            berth: { path: 'berth-shim' },
            ...Object.fromEntries(Object.entries(opts.runtimes ?? {}).map(([n, r]) => [n, { path: r.path, ...(r.runtimeArgs?.length ? { runtimeArgs: r.runtimeArgs } : {}) }])),
          },
          DefaultRuntime: opts.defaultRuntime ?? 'berth',
          LiveRestoreEnabled: true,
          Isolation: '',
          // dockerd reports its --init-path, else the name it looks up (docker-init); ours is a path either way.
          InitBinary: containers.initBinary ?? '',
          SecurityOptions: ['name=seccomp,profile=builtin'],
          Warnings: [],
        };
      },
      async df(want = { container: true, image: true, volume: true, 'build-cache': true }) {
        // Only what is asked for is read: container sizes and layer usage walk trees.
        const all = want.container ? await containers.list({ all: true, size: true }) : want.image ? await containers.list({ all: true }) : [];
        let imgs: ImageSummary[] | null = null;
        let layers = 0;
        if (want.image) {
          const perImage = new Map<string, number>();
          for (const c of all) perImage.set(c.ImageID, (perImage.get(c.ImageID) ?? 0) + 1);
          imgs = (await images.list()).map((i) => ({ ...i, Containers: perImage.get(i.Id) ?? 0 }));
          for (const s of await snapshotter.list()) {
            if (s.kind !== 'committed') continue;
            try { layers += (await snapshotter.usage(s.name)).size; } catch { /* gone */ }
          }
        }
        return {
          LayersSize: layers,
          Images: imgs,
          Containers: want.container ? all : null,
          Volumes: want.volume ? await volumes.usage() : null,
          BuildCache: want['build-cache'] ? [] : null,
        };
      },
      logDrops() {
        return containers.logDrops();
      },
      async close() {
        lifecycle.events.off('event', onLifecycleEvent);
        await containers.close();
        await networks.close();
        await trash.drain();
        lifecycle.close();
      },
    };
    return engine;
  } catch (e) {
    lifecycle.close();
    throw e;
  }
}
