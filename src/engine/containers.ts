// The container service: Docker's container model (create/start/stop/.../inspect/list) over the lifecycle and image layers.
//
// Lifecycle of a container, as the engine drives it (docs/engine.md):
//   create: image -> snapshot (prepare) -> container dir -> OCI spec -> lifecycle container -> record
//   start:  mount the snapshot -> lifecycle task (shim, log) -> pending attaches -> release the process
//   exit:   (lifecycle /tasks/exit) record -> delete the task -> unmount -> oom/die events -> restart policy (restart.ts) or AutoRemove
//   health: a started container with a check gets one timer (health.ts); its probes are execs
//   remove: kill (force) -> delete the task -> unmount -> lifecycle container + snapshot -> files -> record
import { EventEmitter } from 'node:events';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, chownSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { join, posix } from 'node:path';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import type { Socket } from 'node:net';
import type { Trash } from '../common/trash.js';
import { BerthError, errConflict, errInvalid, errNotFound, errNotImplemented, errorCode, isNotFound } from '../common/errors.js';
import { crashPoint } from '../common/crash-point.js';
import { matchLabels } from '../common/label-filter.js';
import type { Logger } from '../common/log.js';
import { inSpan, tracer, type Span, type SpanData } from '../common/trace.js';
import type { Lifecycle, LifecycleEvent } from '../lifecycle/lifecycle.js';
import { encodeFrame } from '../common/stdcopy.js';
import { commitImage } from '../images/archive/commit.js';
import type { ImageService } from '../images/images.js';
import { familiarString } from '../images/reference.js';
import { mountStubFilter, writeLayerDiff } from '../images/tar/diff.js';
import { TarWriter } from '../images/tar/writer.js';
import { parseSignal } from '../runtime/container/proc.js';
import { detectCgroupLayout } from '../runtime/cgroups/open.js';
import { LOOPBACK_ANNOTATION } from '../runtime/plan/build.js';
import type { LinuxResources } from '../runtime/spec/types.js';
import { extractArchive, FilesView, overlayChanges, statPath as statInRoot, tarTree, writeArchive } from './archive.js';
import { bridge } from './attach.js';
import { commitConfig } from './commit-config.js';
import type { EventBus } from './events.js';
import { ExecManager } from './exec.js';
import { HealthMonitor, healthOnStart, mergeHealthcheck, validateHealthcheck } from './health.js';
import { RestartManager, policyWantsRestart, validateRestartPolicy } from './restart.js';
import { logDiskUsage, readLogs } from './logs.js';
import { readExitFile } from '../lifecycle/shim-client.js';
import { generateName, newContainerId, normalizeName, noSuchContainer } from './names.js';
import { attachRequest, checkConnectable, checkDisconnectable, endpointSettings, extraHostLines, networkSettings, parseLink, planNetwork, summaryPorts, validateExtraHosts, writeNetworkFiles, type NetworkFilesContext } from './container-network.js';
import { parsePortBindings, type NetworkManager, type NetworkRecord } from '../network/networks.js';
import { containerResolvConf, hostResolvConf } from '../network/resolv-conf.js';
import { buildContainerSpec, DEFAULT_SHM_SIZE, detectSpecHost, type SpecInput } from './spec-builder.js';
import { checkResources, memoryBytes } from './spec-resources.js';
import { logSettings, mergeLogConfig } from './log-config.js';
import { RootfsMounts } from './rootfs.js';
import { StartTraces } from './start-trace.js';
import { emptyStats, netDevStats, toStatsJSON } from './stats.js';
import { ContainerStore, ZERO_TIME, type ContainerRecord } from './store.js';
import { top as runTop } from './top.js';
import type {
  CommitRequest, ContainerConfig, ContainerCreateRequest, ContainerInspect, ContainerService, ContainerState, ContainerSummary, ExecConfig,
  ExecInspect, HostConfig, LogConfig, LogLine, LogOptions, MountPoint, PathStat, StatsJSON, StreamAttach, Ulimit, WaitCondition,
} from './types.js';
import { checkPruneFilters, parseListFilters } from './list-filters.js';
import { copyOwner, readUserFiles, resolveInRoot, type UserFiles } from './user.js';
import { ContainerVolumes, specMounts, wireMountPoint } from '../volumes/container-volumes.js';
import { parseVolumesFrom, planContainerMounts } from '../volumes/mount-parser.js';
import type { VolumeService } from '../volumes/service.js';
import type { MountPointRecord } from '../volumes/types.js';

export interface ContainerManagerOptions {
  dataRoot: string;
  execRoot: string;
  lifecycle: Lifecycle;
  images: ImageService;
  store: ContainerStore;
  events: EventBus;
  log: Logger;
  /** Parent of every container cgroup (relative = under berthd's own cgroup). Default `berth`. */
  cgroupParent?: string;
  /** Docker's `--init` binary (docker-init), for HostConfig.Init. */
  initBinary?: string;
  /** Daemon-wide ulimits (dockerd --default-ulimit), applied when a container names none of its own. */
  defaultUlimits?: Ulimit[];
  /** Networks and sandboxes (CNI, DNS, published ports). */
  networks: NetworkManager;
  /** Named and anonymous volumes (volumes/). */
  volumes: VolumeService;
  /** The daemon's log driver and options (dockerd's log-driver, log-opts), for containers that set none. Default json-file. */
  logConfig?: LogConfig;
  /** /dev/shm size for containers without ShmSize (dockerd's default-shm-size). Default 64 MiB. */
  defaultShmSize?: number;
  /** Runtimes besides `berth` that HostConfig.Runtime may name (their config is the lifecycle's). */
  runtimeNames?: string[];
  /** The runtime of containers that name none (dockerd's default-runtime). Default `berth`. */
  defaultRuntime?: string;
  /** The address `--add-host x:host-gateway` stands for (dockerd's host-gateway-ip). Default: the default bridge's gateway. */
  hostGatewayIp?: string;
  /** Where removed containers' dirs go to be deleted in the background. */
  trash: Trash;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const isLive = (s: ContainerState['Status']) => s === 'running' || s === 'paused';
/** Docker's State.Running: a container waiting to be restarted counts as running (stop, kill, ps, wait). */
const isUp = (s: ContainerState['Status']) => isLive(s) || s === 'restarting';
const nowIso = () => new Date().toISOString();

/**
 * Mount targets the runtime creates in the rootfs when the image lacks them: dockerd makes them
 * in an init layer below the container's, so diff and commit leave them out here.
 */
const MOUNT_STUBS = ['etc/hostname', 'etc/hosts', 'etc/resolv.conf', 'dev', 'proc', 'sys'];

/** Docker's `units.HumanDuration`, for the Status column. */
export function humanDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 1) return 'Less than a second';
  if (s === 1) return '1 second';
  if (s < 60) return `${s} seconds`;
  const m = Math.round(ms / 60000);
  if (m === 1) return 'About a minute';
  if (m < 60) return `${m} minutes`;
  const h = Math.round(ms / 3600000);
  if (h === 1) return 'About an hour';
  if (h < 48) return `${h} hours`;
  if (h < 24 * 7 * 2) return `${Math.round(h / 24)} days`;
  if (h < 24 * 30 * 2) return `${Math.round(h / 24 / 7)} weeks`;
  if (h < 24 * 365 * 2) return `${Math.round(h / 24 / 30)} months`;
  return `${Math.round(h / 24 / 365)} years`;
}

function signalOf(s: string | number | undefined, dflt: number): number {
  if (s === undefined || s === '') return dflt;
  const n = typeof s === 'number' ? s : parseSignal(s);
  if (n === undefined) throw errInvalid(`Invalid signal: ${s}`);
  return n;
}

/** Environment lists merged by key, later ones winning (image env, then the request's). */
function mergeEnv(base: string[] | null | undefined, over: string[] | null | undefined): string[] {
  const out = [...(base ?? [])];
  for (const kv of over ?? []) {
    const k = kv.split('=')[0];
    const i = out.findIndex((x) => x.split('=')[0] === k);
    if (i >= 0) out[i] = kv;
    else out.push(kv);
  }
  return out;
}

/** Resources of a HostConfig (create or update) as OCI LinuxResources; only the fields given. */
export function toLinuxResources(h: HostConfig): LinuxResources {
  const r: LinuxResources = {};
  if (h.Memory !== undefined || h.MemorySwap !== undefined || h.MemoryReservation !== undefined || (h.MemorySwappiness ?? -1) >= 0) {
    r.memory = {};
    if (h.Memory) r.memory.limit = memoryBytes(h.Memory);
    if (h.MemorySwap) r.memory.swap = memoryBytes(h.MemorySwap);
    if (h.MemoryReservation) r.memory.reservation = memoryBytes(h.MemoryReservation);
    if (h.MemorySwappiness !== undefined && h.MemorySwappiness !== null && h.MemorySwappiness >= 0) r.memory.swappiness = h.MemorySwappiness;
  }
  const cpu: NonNullable<LinuxResources['cpu']> = {};
  if (h.CpuShares) cpu.shares = h.CpuShares;
  if (h.NanoCpus) { cpu.period = 100000; cpu.quota = Math.round((h.NanoCpus / 1e9) * 100000); }
  if (h.CpuQuota) cpu.quota = h.CpuQuota;
  if (h.CpuPeriod) cpu.period = h.CpuPeriod;
  if (h.CpusetCpus) cpu.cpus = h.CpusetCpus;
  if (h.CpusetMems) cpu.mems = h.CpusetMems;
  if (Object.keys(cpu).length) r.cpu = cpu;
  if (h.PidsLimit !== undefined && h.PidsLimit !== null) r.pids = { limit: h.PidsLimit > 0 ? h.PidsLimit : -1 };
  if (h.BlkioWeight) r.blockIO = { weight: h.BlkioWeight };
  return r;
}

const RESOURCE_KEYS: Array<keyof HostConfig> = [
  'CpuShares', 'Memory', 'CgroupParent', 'BlkioWeight', 'BlkioWeightDevice', 'BlkioDeviceReadBps', 'BlkioDeviceWriteBps', 'BlkioDeviceReadIOps',
  'BlkioDeviceWriteIOps', 'CpuPeriod', 'CpuQuota', 'CpuRealtimePeriod', 'CpuRealtimeRuntime', 'CpusetCpus', 'CpusetMems', 'Devices',
  'DeviceCgroupRules', 'MemoryReservation', 'MemorySwap', 'MemorySwappiness', 'NanoCpus', 'OomKillDisable', 'PidsLimit', 'Ulimits', 'KernelMemory',
  'RestartPolicy',
];

const HOSTS_HEADER = '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n';

/** Berth's own runtime (berth-shim and berth-init), HostConfig.Runtime's default as `runc` is dockerd's. */
export const BERTH_RUNTIME = 'berth';

/** Docker's `--init` binary on Debian (tini-static), used when the daemon names none. */
export const DEFAULT_INIT_BINARY = '/usr/bin/tini-static';

/** Mounts of type tmpfs as HostConfig.Tmpfs entries (the form the spec builder takes). */
function withTmpfsMounts(h: HostConfig): HostConfig {
  const extra = (h.Mounts ?? []).filter((m) => m.Type === 'tmpfs');
  if (!extra.length) return h;
  const tmpfs = { ...(h.Tmpfs ?? {}) };
  for (const m of extra) {
    const o: string[] = [];
    if (m.ReadOnly) o.push('ro');
    if (m.TmpfsOptions?.SizeBytes) o.push(`size=${m.TmpfsOptions.SizeBytes}`);
    if (m.TmpfsOptions?.Mode) o.push(`mode=${m.TmpfsOptions.Mode.toString(8)}`);
    tmpfs[m.Target] = o.join(',');
  }
  return { ...h, Tmpfs: tmpfs };
}

interface PendingAttach {
  opts: { stdin: boolean; stdout: boolean; stderr: boolean };
  connected: (sock: Socket | undefined, err?: unknown) => void;
}

/** The ContainerService over lifecycle/ and images/. One per daemon; built by openEngine. */
/**
 * Fill `out` with `produce`, then release what it read from (a mount, a frozen container), and
 * only then end `out` (or destroy it with the error): a client that has read to the end finds
 * the mount gone and the container running again, as dockerd unmounts before its response ends.
 */
function produceThenRelease(out: PassThrough, produce: () => Promise<void>, release: () => Promise<void>, onReleaseError: (e: Error) => void): void {
  void (async () => {
    let err: Error | undefined;
    try {
      await produce();
    } catch (e) {
      err = e as Error;
    }
    await release().catch((e: unknown) => onReleaseError(e as Error));
    if (err) out.destroy(err);
    else out.end();
  })();
}

export class ContainerManager implements ContainerService {
  readonly rootfs: RootfsMounts;
  readonly execs: ExecManager;
  readonly health: HealthMonitor;
  readonly restarts = new RestartManager();
  readonly volumes: ContainerVolumes;
  /** The trace of each container's last start (`GET /containers/{id}/trace`). */
  readonly traces: StartTraces;
  /** Restarts under way after their backoff (close waits for them). */
  private readonly restarting = new Set<Promise<void>>();
  /** During reconcile: exits are recorded; the policies are applied once, at the end (dockerd's restore). */
  private restoring = false;
  /** Set by shutdown(): stops are the daemon's, not the user's (dockerd's IsShuttingDown). */
  private shuttingDown = false;
  private readonly lc: Lifecycle;
  private readonly images: ImageService;
  private readonly store: ContainerStore;
  private readonly events: EventBus;
  private readonly log: Logger;
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly signals = new EventEmitter();
  private readonly starting = new Map<string, Promise<unknown>>();
  private readonly exitHandling = new Map<string, Promise<void>>();
  private readonly pending = new Map<string, Set<PendingAttach>>();
  private readonly statsPrev = new Map<string, StatsJSON>();
  /** Copies (cp) in progress per container that froze it: the last one to finish thaws it. */
  private readonly cpFreezes = new Map<string, number>();
  /** Containers whose current task's OOM kill has had its `oom` event. */
  private readonly oomPublished = new Set<string>();
  private readonly stopListening: () => void;
  private closed = false;
  /** The host's init that `--init` mounts (the daemon's, else Debian's tini-static when installed); docker info's InitBinary. */
  readonly initBinary: string | undefined;
  private readonly cgroupVersion = detectCgroupLayout().version;
  /** Per image (top chain id): its passwd/group texts and the WorkingDirs known to exist in it. */
  private readonly imageFiles = new Map<string, { user: UserFiles; dirs: Set<string> }>();

  constructor(private readonly o: ContainerManagerOptions) {
    this.lc = o.lifecycle;
    this.images = o.images;
    this.store = o.store;
    this.events = o.events;
    this.log = o.log;
    this.signals.setMaxListeners(0);
    this.initBinary = o.initBinary ?? (existsSync(DEFAULT_INIT_BINARY) ? DEFAULT_INIT_BINARY : undefined);
    this.rootfs = new RootfsMounts(o.execRoot, o.images.snapshotter);
    this.volumes = new ContainerVolumes(o.volumes);
    this.traces = new StartTraces((id) => this.containerDir(id), o.log);
    this.execs = new ExecManager({
      lifecycle: this.lc,
      events: this.events,
      container: (ref) => this.resolve(ref),
      rootfsPath: (id) => this.rootfs.path(id),
      eventAttrs: (c) => this.attrs(c),
    });
    this.health = new HealthMonitor({
      store: this.store, log: this.log,
      probe: (id, cmd, timeoutMs, maxOutput) => this.execs.probe(id, cmd, timeoutMs, maxOutput),
      publish: (c, action) => this.publish(c, action),
    });
    const onExit = (e: LifecycleEvent) => this.onTaskExit(e.id, Number(e['execNs']) || 0);
    const onOom = (e: LifecycleEvent) => this.onTaskOom(e.id);
    const onDrops = (e: LifecycleEvent) => this.noteLogDrops(e.id, Number(e.logDropped ?? 0));
    this.lc.events.on('/tasks/exit', onExit);
    this.lc.events.on('/tasks/oom', onOom);
    this.lc.events.on('/tasks/log-dropped', onDrops);
    this.stopListening = () => {
      this.lc.events.off('/tasks/exit', onExit);
      this.lc.events.off('/tasks/oom', onOom);
      this.lc.events.off('/tasks/log-dropped', onDrops);
    };
  }

  // --- plumbing ---------------------------------------------------------------------------

  private resolve(ref: string): ContainerRecord {
    return this.store.resolve(ref);
  }

  /** One state-changing operation per container at a time. */
  private lock<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(id) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.locks.set(id, tail);
    void tail.then(() => { if (this.locks.get(id) === tail) this.locks.delete(id); });
    return next;
  }

  /** Docker's event attributes for a container: image, name, and its labels. */
  private attrs(c: ContainerRecord): Record<string, string> {
    return { ...(c.config.Labels ?? {}), image: c.config.Image ?? c.imageRef, name: c.name.slice(1) };
  }

  private publish(c: ContainerRecord, action: string, extra: Record<string, string> = {}): void {
    // At debug the log tells each container's story, each line with the request that caused it.
    this.log.debug(`container ${action}`, { id: c.id, name: c.name });
    this.events.publish({ Type: 'container', Action: action, Actor: { ID: c.id, Attributes: { ...this.attrs(c), ...extra } } });
  }

  private containerDir(id: string): string {
    return join(this.o.dataRoot, 'containers', id);
  }

  /** Resolves with the exit code the next time the container's exit has been applied; `false` after `ms`. */
  private nextExit(id: string, ms?: number): { done: Promise<number | false>; cancel: () => void } {
    let cancel!: () => void;
    const done = new Promise<number | false>((resolve) => {
      const on = (code: number) => { cleanup(); resolve(code); };
      const timer = ms !== undefined ? setTimeout(() => { cleanup(); resolve(false); }, ms) : undefined;
      const cleanup = () => { this.signals.off(`exit:${id}`, on); if (timer) clearTimeout(timer); };
      cancel = () => { cleanup(); resolve(false); };
      this.signals.on(`exit:${id}`, on);
    });
    return { done, cancel };
  }

  /** Keep an image's files for later creates; the oldest goes beyond a bound (images come and go). */
  private rememberImageFiles(key: string, files: { user: UserFiles; dirs: Set<string> }): void {
    this.imageFiles.delete(key);
    this.imageFiles.set(key, files);
    if (this.imageFiles.size > 64) this.imageFiles.delete(this.imageFiles.keys().next().value!);
  }

  private cgroupsPath(id: string, h: HostConfig): string {
    const parent = (h.CgroupParent || this.o.cgroupParent || 'berth').replace(/\/+$/, '');
    return `${parent}/${id}`;
  }

  // --- create -----------------------------------------------------------------------------

  async create(req: ContainerCreateRequest, opts: { name?: string; platform?: string }): Promise<{ Id: string; Warnings: string[] }> {
    return inSpan('container.create', 'engine', () => this.createContainer(req, opts));
  }

  private async createContainer(req: ContainerCreateRequest, opts: { name?: string; platform?: string }): Promise<{ Id: string; Warnings: string[] }> {
    const warnings: string[] = [];
    let name: string;
    if (opts.name) {
      name = normalizeName(opts.name);
      const holder = this.store.byName(name);
      if (holder) throw errConflict(`Conflict. The container name "${name}" is already in use by container "${holder}". You have to remove (or rename) that container to be able to reuse that name.`);
    } else {
      let retry = 0;
      do name = `/${generateName(retry++)}`; while (this.store.byName(name) && retry < 100);
    }
    if (!req.Image) throw errInvalid('Config.Image: an image is required');
    const image = req.Image;
    const img = await inSpan('image.resolve', 'image', async (span) => {
      const i = await this.images.get(image);
      span?.set('image.id', i.id);
      if (!(await this.images.isUnpacked(i))) await inSpan('image.unpack', 'image', () => this.images.unpack(i));
      return i;
    });
    const top = img.chainIds.at(-1);
    const ic = (img.config.config ?? {}) as ContainerConfig;

    // Merge the image's config with the request (Docker's merge: request wins; a request
    // Entrypoint drops the image's Cmd unless Cmd is given too).
    const { HostConfig: reqHost, NetworkingConfig: _nc, ...reqConfig } = req;
    const hostConfig: HostConfig = structuredClone(reqHost ?? {});
    const config: ContainerConfig = structuredClone(reqConfig);
    const entrypointGiven = req.Entrypoint !== undefined && req.Entrypoint !== null;
    config.Entrypoint = entrypointGiven ? (req.Entrypoint!.length === 1 && req.Entrypoint![0] === '' ? null : req.Entrypoint!) : ic.Entrypoint ?? null;
    config.Cmd = req.Cmd && req.Cmd.length ? req.Cmd : entrypointGiven ? null : ic.Cmd ?? null;
    if (!config.Entrypoint?.length && !config.Cmd?.length) throw errInvalid('No command specified');
    config.Env = mergeEnv(ic.Env, req.Env);
    config.WorkingDir = req.WorkingDir || ic.WorkingDir || '';
    config.User = req.User || ic.User || '';
    config.Labels = { ...(ic.Labels ?? {}), ...(req.Labels ?? {}) };
    config.ExposedPorts = req.ExposedPorts || ic.ExposedPorts ? { ...(ic.ExposedPorts ?? {}), ...(req.ExposedPorts ?? {}) } : undefined;
    config.Volumes = req.Volumes || ic.Volumes ? { ...(ic.Volumes ?? {}), ...(req.Volumes ?? {}) } : null;
    if (!config.StopSignal && ic.StopSignal) config.StopSignal = ic.StopSignal;
    const hc = mergeHealthcheck(config.Healthcheck, ic.Healthcheck);
    if (hc) config.Healthcheck = hc;
    validateHealthcheck(config.Healthcheck);
    if (!config.Shell && ic.Shell) config.Shell = ic.Shell;
    if (config.StopSignal) signalOf(config.StopSignal, 15);
    config.Image = req.Image;
    config.Tty = !!config.Tty;
    config.OpenStdin = !!config.OpenStdin;
    config.StdinOnce = !!config.StdinOnce;
    config.AttachStdin = !!config.AttachStdin;
    config.AttachStdout = !!config.AttachStdout;
    config.AttachStderr = !!config.AttachStderr;

    // Host config defaults and what this engine supports.
    if (!hostConfig.NetworkMode || hostConfig.NetworkMode === 'default') hostConfig.NetworkMode = 'bridge';
    hostConfig.LogConfig = mergeLogConfig(hostConfig.LogConfig, this.o.logConfig ?? { Type: 'json-file', Config: {} });
    const logOpts = logSettings(hostConfig.LogConfig.Type, hostConfig.LogConfig.Config);
    // dockerd records the daemon's defaults in HostConfig, so inspect shows what the container gets.
    if (!hostConfig.ShmSize) hostConfig.ShmSize = this.o.defaultShmSize ?? DEFAULT_SHM_SIZE;
    hostConfig.Runtime ||= this.o.defaultRuntime ?? BERTH_RUNTIME;
    if (hostConfig.Runtime !== BERTH_RUNTIME && !this.o.runtimeNames?.includes(hostConfig.Runtime)) {
      throw errInvalid(`unknown or invalid runtime name: ${hostConfig.Runtime}`);
    }
    hostConfig.RestartPolicy ??= { Name: 'no', MaximumRetryCount: 0 };
    if (hostConfig.RestartPolicy.Name === '') hostConfig.RestartPolicy = { Name: 'no', MaximumRetryCount: 0 };
    validateRestartPolicy(hostConfig.RestartPolicy);
    if (hostConfig.AutoRemove && hostConfig.RestartPolicy.Name !== 'no') throw errInvalid(`can't create 'AutoRemove' container with restart policy`);
    // dockerd's postContainersCreate: 0 (what the CLI sends by default) and any negative limit mean
    // "unlimited", stored as none, so the spec sets no pids limit (inspect shows null).
    if (hostConfig.PidsLimit != null && hostConfig.PidsLimit <= 0) hostConfig.PidsLimit = null;
    hostConfig.IpcMode ||= 'private';
    hostConfig.CgroupnsMode ||= this.cgroupVersion === 2 ? 'private' : 'host';
    const inherited = (hostConfig.VolumesFrom ?? []).map((spec) => {
      const { container, mode } = parseVolumesFrom(spec);
      let from: ContainerRecord;
      try { from = this.resolve(container); } catch (e) { throw isNotFound(e) ? errInvalid((e as Error).message, e) : e; }
      return { mode, mounts: from.mountPoints ?? [] };
    });
    const mountPlan = planContainerMounts(hostConfig, config.Volumes, undefined, inherited);
    const namespaces: SpecInput['namespaces'] = {};
    const netPlan = config.NetworkDisabled ? { kind: 'none' as const } : planNetwork(this.o.networks, req, hostConfig);
    let hostNet = false;
    // --network container:<ref>: the other container need only exist now (it may be stopped); its netns,
    // hostname and network files are taken at each start (joinNetworkOf).
    let joined: ContainerRecord | undefined;
    if (netPlan.kind === 'host') { namespaces.network = 'host'; hostNet = true; }
    else if (netPlan.kind === 'container') {
      try { joined = this.resolve(netPlan.ref); } catch (e) { throw isNotFound(e) ? errInvalid((e as Error).message, e) : e; }
      config.Hostname = joined.config.Hostname;
    }
    // dockerd refuses a bad port spec and a bad --add-host at create, whatever the network mode.
    parsePortBindings(hostConfig.PortBindings ?? {}, []);
    validateExtraHosts(hostConfig);
    if (netPlan.kind === 'bridge' && hostConfig.NetworkMode === 'bridge' && hostConfig.Links?.length) hostConfig.Links = this.registerLinks(hostConfig.Links, name);
    if (netPlan.kind === 'host' && Object.keys(hostConfig.PortBindings ?? {}).length) {
      warnings.push('Published ports are discarded when using host network mode');
    }
    if (hostConfig.IpcMode === 'host') namespaces.ipc = 'host';
    if (hostConfig.PidMode === 'host') namespaces.pid = 'host';
    if (hostConfig.UTSMode === 'host') namespaces.uts = 'host';
    if (!config.Hostname) config.Hostname = hostNet ? osHostname() : '';

    const id = newContainerId();
    if (!config.Hostname) config.Hostname = id.slice(0, 12);
    // A bridge container runs in a netns pinned at each start (CNI ADD happens on it first).
    if (netPlan.kind === 'bridge') namespaces.network = this.o.networks.sandboxPath(id);
    const [path = '', ...args] = [...(config.Entrypoint ?? []), ...(config.Cmd ?? [])];
    const dir = this.containerDir(id);
    const rec: ContainerRecord = {
      id, name, created: nowIso(), path, args, config, hostConfig, image: img.id, imageRef: req.Image, snapshotKey: id,
      state: { status: 'created', pid: 0, exitCode: 0, error: '', oomKilled: false, startedAt: ZERO_TIME, finishedAt: ZERO_TIME },
      restartCount: 0, hasBeenStarted: false, manuallyStopped: false,
      logPath: hostConfig.LogConfig.Type === 'json-file' ? join(dir, `${id}-json.log`) : '',
      hostnamePath: joined?.hostnamePath ?? join(dir, 'hostname'), hostsPath: joined?.hostsPath ?? join(dir, 'hosts'),
      resolvConfPath: joined?.resolvConfPath ?? join(dir, 'resolv.conf'),
      platform: 'linux',
      ...(netPlan.kind === 'bridge' ? { networks: netPlan.attachments } : {}),
    };
    if (logOpts) rec.logOpts = logOpts;

    const undo: Array<() => Promise<void> | void> = [];
    try {
      mkdirSync(dir, { recursive: true, mode: 0o710 });
      undo.push(() => rmSync(dir, { recursive: true, force: true }));
      if (!joined) {
        writeFileSync(rec.hostnamePath, `${config.Hostname}\n`);
        const hosts = hostNet ? (existsSync('/etc/hosts') ? readFileSync('/etc/hosts', 'utf8') : HOSTS_HEADER) : HOSTS_HEADER;
        writeFileSync(rec.hostsPath, hosts + extraHostLines(hostConfig, this.hostGateway()));
        writeFileSync(rec.resolvConfPath, containerResolvConf(hostResolvConf(hostNet), { dns: hostConfig.Dns, search: hostConfig.DnsSearch, options: hostConfig.DnsOptions }, hostNet));
      }
      crashPoint('create:after-dir');

      await inSpan('snapshot.prepare', 'image', () => this.images.hold(async () => {
        await this.images.snapshotter.prepare(rec.snapshotKey, top);
      }));
      undo.push(() => this.images.snapshotter.remove(rec.snapshotKey).catch(() => undefined));
      crashPoint('create:after-snapshot');
      const mountPoints: MountPointRecord[] = await this.volumes.attach(id, mountPlan);
      undo.push(() => this.volumes.detach(id, mountPoints).then(() => undefined));
      rec.mountPoints = mountPoints;
      const volumeMounts = specMounts(mountPoints);

      const rootfs = this.rootfs.path(id);
      // Before the spec is built: a refusal there (Docker's resource checks) leaves its mount point dir otherwise.
      undo.push(() => this.rootfs.removeAll(id));
      const specFor = (userFiles?: UserFiles) => buildContainerSpec({
        id, config, hostConfig: withTmpfsMounts(hostConfig), rootfs, containerDir: dir, cgroupsPath: this.cgroupsPath(id, hostConfig), namespaces,
        ...(joined ? { networkFiles: { 'resolv.conf': rec.resolvConfPath, hostname: rec.hostnamePath, hosts: rec.hostsPath } } : {}),
        volumeMounts,
        ...(userFiles ? { userFiles } : {}),
        ...(this.initBinary ? { initBinary: this.initBinary } : {}),
        ...(this.o.defaultUlimits?.length ? { defaultUlimits: this.o.defaultUlimits } : {}),
      });
      // The spec needs the image's files (/etc/passwd for User, WorkingDir). A fresh snapshot shows
      // exactly its image's files, so what one create read is kept per image (by top chain id) and
      // later creates skip the mount; else mount for the build only.
      const imageKey = top ?? '';
      const known = this.imageFiles.get(imageKey);
      const built = known && (!config.WorkingDir || known.dirs.has(config.WorkingDir)) ? specFor(known.user) : await inSpan('spec.image-files', 'image', () => this.rootfs.with(id, rec.snapshotKey, async (root) => {
        crashPoint('create:rootfs-mounted');
        const files = known ?? { user: readUserFiles(root), dirs: new Set<string>() };
        const out = specFor(files.user);
        // Docker creates a missing WorkingDir at create, owned by the container's user.
        if (config.WorkingDir) {
          const host = resolveInRoot(root, config.WorkingDir);
          if (!existsSync(host)) {
            mkdirSync(host, { recursive: true, mode: 0o755 });
            const u = out.spec.process?.user;
            if (u) try { chownSync(host, u.uid, u.gid); } catch { /* best effort */ }
          } else {
            files.dirs.add(config.WorkingDir);
          }
        }
        this.rememberImageFiles(imageKey, files);
        return out;
      }));
      warnings.push(...built.warnings);
      // --network none: a netns of the container's own with only `lo`, up (Docker's sandbox); berth-init does it.
      if (netPlan.kind === 'none') built.spec.annotations = { ...(built.spec.annotations ?? {}), [LOOPBACK_ANNOTATION]: 'up' };
      // Copy-up (dockerd's populateVolumes, at create): empty volumes get the image's content.
      if (this.volumes.needsPopulate(mountPoints)) await this.rootfs.with(id, rec.snapshotKey, (root) => this.volumes.populate(id, root, mountPoints));
      await inSpan('container.record', 'lifecycle', () => this.lc.createContainer({
        id, spec: built.spec, rootfs, snapshotKey: rec.snapshotKey, labels: config.Labels ?? {}, imageRef: img.id,
        ...(hostConfig.Runtime !== BERTH_RUNTIME ? { runtime: hostConfig.Runtime } : {}),
      }));
      undo.push(() => this.lc.deleteContainer(id).catch(() => undefined));
      crashPoint('create:after-lifecycle');
      this.store.insert(rec);
      this.volumes.settle(id);
    } catch (e) {
      for (const u of undo.reverse()) {
        try { await u(); } catch (ue) { this.log.warn('create: undo failed', { id, err: (ue as Error).message }); }
      }
      throw e;
    }
    this.publish(rec, 'create');
    return { Id: id, Warnings: warnings };
  }

  // --- start / stop / kill / restart / wait -------------------------------------------------

  async start(ref: string): Promise<boolean> {
    const id = this.resolve(ref).id;
    return this.lock(id, async () => {
      const c = this.store.get(id);
      if (isUp(c.state.status)) return false;
      if (c.state.status === 'removing' || c.state.status === 'dead') throw errConflict(`cannot start container ${id}: container is marked for removal`);
      // An exit still being applied (a quick restart after an exit) must finish first.
      await this.exitHandling.get(id);
      return this.startTracked(id, false);
    });
  }

  /** startLocked, visible to logs/attach/wait as "starting". */
  private async startTracked(id: string, auto: boolean): Promise<boolean> {
    const p = this.startTraced(id, auto);
    this.starting.set(id, p);
    try {
      return await p;
    } finally {
      this.starting.delete(id);
    }
  }

  /**
   * startLocked in a `container.start` span: below the request's, or (a restart by the policy, a
   * start without a request) the root of a trace of its own. It becomes the container's last start.
   */
  private startTraced(id: string, auto: boolean): Promise<boolean> {
    const span = (!auto && tracer.start('container.start', 'engine')) || tracer.startRoot('container.start', 'engine');
    span.set('container.id', id);
    this.traces.begin(id, span);
    return tracer.run(span, async () => {
      try {
        return await this.startLocked(id, auto);
      } catch (e) {
        span.fail(e);
        throw e;
      } finally {
        span.finish();
      }
    });
  }

  /** `auto`: a restart by the policy; otherwise a start by the user, which resets the restart state (dockerd's ResetRestartManager). */
  private async startLocked(id: string, auto = false): Promise<boolean> {
    if (!auto) this.restarts.reset(id);
    let c = this.store.get(id);
    // A new task counts its drops from zero (a write only when the last one dropped any).
    if (c.logDroppedTask) c = this.store.update(id, (r) => { r.logDroppedTask = 0; });
    const stale = this.lc.md.findTask(this.lc.namespace, id);
    if (stale) await this.lc.deleteTask(id, { force: true });
    // Records from before rotation was on by default get today's defaults.
    const logOpts = c.logOpts ?? logSettings('json-file')!;
    await inSpan('rootfs.mount', 'image', () => this.rootfs.holdForTask(id, c.snapshotKey));
    crashPoint('start:after-mount');
    let task;
    try {
      if (c.hostConfig.NetworkMode?.startsWith('container:') && !c.config.NetworkDisabled) c = this.joinNetworkOf(c);
      await this.setupNetwork(c);
      // Host dirs of -v binds, volumes with driver options (dockerd's setupMounts).
      await this.volumes.beforeStart(id, c.mountPoints);
      crashPoint('start:after-network');
      task = await this.lc.newTask(id, {
        stdin: !!c.config.OpenStdin,
        terminal: !!c.config.Tty,
        ...(c.logPath ? { log: { path: c.logPath, maxSize: logOpts.maxSize ?? 0, maxFiles: logOpts.maxFiles ?? 1, compress: !!logOpts.compress } } : {}),
      });
      const size = c.hostConfig.ConsoleSize;
      if (c.config.Tty && size && size[0] > 0 && size[1] > 0) await this.lc.resize(id, size[0], size[1]).catch(() => undefined);
      await this.connectPending(id);
      crashPoint('start:after-task');
      task = await this.lc.start(id);
      crashPoint('start:after-release');
    } catch (e) {
      await this.lc.deleteTask(id, { force: true }).catch(() => undefined);
      await this.rootfs.releaseTask(id).catch(() => undefined);
      await this.teardownNetwork(id);
      await this.volumes.afterStop(id, c.mountPoints, false).catch(() => undefined);
      this.failPending(id, e);
      const msg = (e as Error).message;
      // Docker's codes for a start that failed before the process ran: 127 not found, 126 not executable.
      const code = isNotFound(e) ? 127 : (e as BerthError).code === 'permission-denied' ? 126 : 128;
      const failed = this.store.update(id, (r) => { r.state = { ...r.state, status: r.hasBeenStarted ? 'exited' : 'created', pid: 0, error: msg, exitCode: code }; });
      if (auto) this.signals.emit(`exit:${id}`, code);
      // dockerd removes an AutoRemove container whose start failed: a client waiting on
      // `condition=removed` (docker run --rm) would otherwise wait forever. After our lock is released.
      if (failed.hostConfig.AutoRemove) {
        setImmediate(() => {
          this.lock(id, () => this.removeLocked(id, true)).catch((err) => {
            if (!isNotFound(err)) this.log.warn('AutoRemove after a failed start failed', { id, err: (err as Error).message });
          });
        });
      }
      throw e;
    }
    const rec = this.store.update(id, (r) => {
      r.state = { status: 'running', pid: task.pid, exitCode: 0, error: '', oomKilled: false, startedAt: task.startedAt || nowIso(), finishedAt: r.state.finishedAt };
      r.hasBeenStarted = true;
      r.manuallyStopped = false;
      if (!auto) r.restartCount = 0;
      healthOnStart(r);
    });
    this.publish(rec, 'start');
    // The probes' timer must not carry this start's trace along.
    tracer.detached(() => this.health.arm(rec));
    return true;
  }

  // --- networks -------------------------------------------------------------------------------

  /** Before the task: pin the netns the spec names and run CNI ADD on it; the sandbox is recorded first, so a crash can undo it. */
  private async setupNetwork(c: ContainerRecord): Promise<void> {
    if (!c.networks) return;
    const id = c.id;
    await inSpan('network.setup', 'network', async () => {
      await this.teardownNetwork(id); // a sandbox left by a crash: recorded or not
      const sb = await this.o.networks.attach(attachRequest(c));
      const rec = this.store.update(id, (r) => { r.sandbox = sb; });
      writeNetworkFiles(rec, sb, this.networkFilesContext(rec, true));
      if (sb.endpoints.some((e) => e.network === 'bridge')) this.refreshLinkers(rec);
      for (const ep of sb.endpoints) this.publishNetwork(ep.networkId, ep.network, 'connect', id);
    });
  }

  /** dockerd's updateParentHosts: running containers with a legacy link to `child` get its address now (a start gives it a new one). */
  private refreshLinkers(child: ContainerRecord): void {
    // On every start on the default bridge: only the few containers with links are read.
    for (const p of this.store.withLinks()) {
      if (p.id === child.id || !p.sandbox || !isLive(p.state.status)) continue;
      if (!p.hostConfig.Links?.some((l) => `/${parseLink(l)[0]}` === child.name)) continue;
      try {
        writeNetworkFiles(p, p.sandbox, this.networkFilesContext(p, false));
      } catch (e) {
        this.log.warn('legacy link: cannot update /etc/hosts', { id: p.id, link: child.name, err: (e as Error).message });
      }
    }
  }

  /** dockerd's host gateway address: its host-gateway-ip, else the default bridge's gateway. */
  private hostGateway(): string | undefined {
    if (this.o.hostGatewayIp) return this.o.hostGatewayIp;
    try { return this.o.networks.resolve('bridge').gateway; } catch { return undefined; }
  }

  /**
   * Legacy links on the default bridge, at create as dockerd's registerLinks: each target must exist and not use the
   * host's network; stored as dockerd shows them (`/db:/web/database`).
   */
  private registerLinks(links: string[], parent: string): string[] {
    return links.map((l) => {
      const [name, alias] = parseLink(l);
      let child: ContainerRecord;
      try { child = this.resolve(name); } catch (e) { throw isNotFound(e) ? errInvalid(`could not get container for ${name}: ${(e as Error).message}`, e) : e; }
      if (child.hostConfig.NetworkMode === 'host') throw errInvalid('conflicting options: host type networking can\'t be used with links. This would result in undefined behavior');
      return `${child.name}:${parent}/${alias}`;
    });
  }

  /**
   * The host gateway and the /etc/hosts lines of the container's legacy links: `ip alias hostname name` of each
   * linked container on the default bridge (dockerd's addLegacyLinks). `strict` (at start): a linked container that
   * is not running fails the start with dockerd's text; else (connect, disconnect) its line is left out.
   */
  private networkFilesContext(c: ContainerRecord, strict: boolean): NetworkFilesContext {
    const links: Array<{ ip: string; names: string }> = [];
    const onBridge = c.sandbox?.endpoints.some((e) => e.network === 'bridge');
    for (const l of onBridge ? c.hostConfig.Links ?? [] : []) {
      const [name, alias] = parseLink(l);
      const child = this.store.find(this.store.byName(`/${name}`) ?? '');
      // Its sandbox is there from the network setup of its start (when refreshLinkers runs) to its exit.
      const ip = child?.sandbox?.endpoints.find((e) => e.network === 'bridge')?.ip;
      if (strict) {
        if (!child || !isLive(child.state.status)) throw errInvalid(`Cannot link to a non running container: /${name} AS ${c.name}/${alias}`);
        if (!ip) throw errInvalid(`Cannot link to /${name}, as it does not belong to the default network`);
      }
      if (!ip) continue;
      links.push({ ip, names: [alias, child!.config.Hostname, ...(alias !== name ? [name] : [])].join(' ') });
    }
    const hostGateway = this.hostGateway();
    return { hostsHeader: HOSTS_HEADER, ...(hostGateway ? { hostGateway } : {}), links };
  }

  /**
   * --network container:<ref>, at each start as dockerd's getNetworkedContainer: the other container must run
   * now, and this one joins its netns as it is now (a restart of that one made a new one) and shares its
   * hostname and /etc/hosts, /etc/resolv.conf and /etc/hostname. The stored spec follows, so exec sees it too.
   */
  private joinNetworkOf(c: ContainerRecord): ContainerRecord {
    const ref = c.hostConfig.NetworkMode!.slice('container:'.length);
    let t: ContainerRecord;
    try {
      t = this.resolve(ref);
    } catch (e) {
      // dockerd's system error (500): the create found it, so its absence now is not the caller's mistake.
      throw isNotFound(e) ? new BerthError('internal', `joining network namespace of container: ${(e as Error).message}`, { cause: e }) : e;
    }
    if (t.state.status === 'restarting') throw errConflict(`cannot join network namespace of container: Container ${ref} is restarting, wait until the container is running`);
    if (!isLive(t.state.status)) throw errConflict(`cannot join network namespace of a non running container: container ${t.name.slice(1)} is ${t.state.status}`);
    const spec = structuredClone(this.lc.getContainer(c.id).spec);
    const before = JSON.stringify(spec);
    const net = spec.linux?.namespaces?.find((n) => n.type === 'network');
    if (net) net.path = `/proc/${t.state.pid}/ns/net`;
    const hostname = t.config.Hostname ?? '';
    if (spec.hostname !== undefined) spec.hostname = hostname;
    // HOSTNAME is the hostname unless the container's own env sets it (dockerd's env order).
    const env = spec.process?.env;
    const at = env?.findIndex((e) => e.startsWith('HOSTNAME=')) ?? -1;
    if (env && at >= 0 && !c.config.Env?.some((e) => e.startsWith('HOSTNAME='))) env[at] = `HOSTNAME=${hostname}`;
    const files = [['/etc/hosts', 'hostsPath'], ['/etc/resolv.conf', 'resolvConfPath'], ['/etc/hostname', 'hostnamePath']] as const;
    for (const m of spec.mounts ?? []) {
      const f = files.find(([dest, k]) => m.destination === dest && m.source === c[k]);
      if (f) m.source = t[f[1]];
    }
    if (JSON.stringify(spec) !== before) this.lc.md.updateContainer(this.lc.namespace, c.id, { spec });
    return this.store.update(c.id, (r) => {
      r.config.Hostname = hostname;
      r.hostsPath = t.hostsPath;
      r.resolvConfPath = t.resolvConfPath;
      r.hostnamePath = t.hostnamePath;
    });
  }

  /** After the task: ports, CNI DEL, the pinned netns. Failures are logged; the record forgets the sandbox. */
  private async teardownNetwork(id: string): Promise<void> {
    const c = this.store.find(id);
    if (!c) return;
    if (!c.sandbox) {
      if (c.networks) await this.o.networks.recover(id, Object.values(c.networks).map((a) => a.networkId)).catch((e) => this.log.warn('network recover failed', { id, err: (e as Error).message }));
      return;
    }
    try {
      const sandbox = c.sandbox;
      await inSpan('network.teardown', 'network', () => this.o.networks.detach(id, sandbox));
    } catch (e) {
      this.log.warn('network teardown failed', { id, err: (e as Error).message });
    }
    for (const ep of c.sandbox.endpoints) this.publishNetwork(ep.networkId, ep.network, 'disconnect', id);
    this.store.update(id, (r) => { delete r.sandbox; });
  }

  private publishNetwork(networkId: string, name: string, action: string, container?: string): void {
    this.events.publish({ Type: 'network', Action: action, Actor: { ID: networkId, Attributes: { name, type: 'bridge', ...(container ? { container } : {}) } } });
  }

  /** CNI CHECK of a running container's network sandbox (what restore runs after a berthd restart). */
  async checkNetwork(ref: string): Promise<void> {
    const c = this.resolve(ref);
    if (c.sandbox) await this.o.networks.check(c.id, c.sandbox);
  }

  /** docker network connect: recorded for the next starts, and made now if the container runs. */
  async connectNetwork(netRef: string, ref: string, cfg: { Aliases?: string[] | null; IPAMConfig?: { IPv4Address?: string } | null; GwPriority?: number; Links?: string[] | null } = {}): Promise<void> {
    const n = this.o.networks.resolve(netRef);
    const id = this.resolve(ref).id;
    await this.lock(id, async () => {
      const c = this.store.get(id);
      checkConnectable(c, n);
      if (c.networks?.[n.name]) throw new BerthError('permission-denied', `endpoint with name ${c.name.slice(1)} already exists in network ${n.name}`);
      if (cfg.Aliases?.length && n.builtin) throw errInvalid('network-scoped alias is supported only for containers in user defined networks');
      const ipv4 = cfg.IPAMConfig?.IPv4Address || undefined;
      for (const l of cfg.Links ?? []) parseLink(l);
      const links = cfg.Links?.length && !n.builtin ? [...cfg.Links] : undefined;
      const att = { networkId: n.id, ...(cfg.Aliases?.length ? { aliases: [...cfg.Aliases] } : {}), ...(ipv4 ? { ipv4 } : {}), ...(cfg.GwPriority ? { gwPriority: cfg.GwPriority } : {}), ...(links ? { links } : {}) };
      if (c.sandbox && isLive(c.state.status)) {
        const sb = c.sandbox;
        const a = { ...c, networks: { ...(c.networks ?? {}), [n.name]: att } };
        const net = attachRequest(a).networks.find((x) => x.name === n.id)!;
        await this.o.networks.connect(attachRequest(c), sb, net);
        const rec = this.store.update(id, (r) => { r.sandbox = sb; r.networks = { ...(r.networks ?? {}), [n.name]: att }; });
        // As dockerd: the new address goes into /etc/hosts, and a first user network brings its DNS into resolv.conf.
        writeNetworkFiles(rec, sb, this.networkFilesContext(rec, false));
      } else {
        this.store.update(id, (r) => { r.networks = { ...(r.networks ?? {}), [n.name]: att }; });
      }
      this.publishNetwork(n.id, n.name, 'connect', id);
    });
  }

  /** docker network disconnect. */
  async disconnectNetwork(netRef: string, ref: string, _force = false): Promise<void> {
    const n = this.o.networks.resolve(netRef);
    const id = this.resolve(ref).id;
    await this.lock(id, async () => {
      const c = this.store.get(id);
      checkDisconnectable(c);
      if (!c.networks?.[n.name]) throw new BerthError('permission-denied', `container ${id} is not connected to network ${n.name}`);
      if (c.sandbox && isLive(c.state.status)) {
        const sb = c.sandbox;
        await this.o.networks.disconnect(id, sb, n.id);
        const rec = this.store.update(id, (r) => { r.sandbox = sb; delete r.networks![n.name]; });
        writeNetworkFiles(rec, sb, this.networkFilesContext(rec, false));
      } else {
        this.store.update(id, (r) => { delete r.networks![n.name]; });
      }
      this.publishNetwork(n.id, n.name, 'disconnect', id);
    });
  }

  /** Running containers with an endpoint on the network (network rm refuses then), and their endpoints as Docker's network inspect shows them. */
  networkEndpoints(n: NetworkRecord): Record<string, { Name: string; EndpointID: string; MacAddress: string; IPv4Address: string; IPv6Address: string }> {
    const out: Record<string, { Name: string; EndpointID: string; MacAddress: string; IPv4Address: string; IPv6Address: string }> = {};
    for (const c of this.store.list()) {
      const ep = c.sandbox?.endpoints.find((e) => e.networkId === n.id);
      if (ep) out[c.id] = { Name: c.name.slice(1), EndpointID: ep.endpointId, MacAddress: ep.mac, IPv4Address: `${ep.ip}/${ep.prefixLen}`, IPv6Address: '' };
      else if ((n.driver === 'host' || n.driver === 'null') && isLive(c.state.status) && c.hostConfig.NetworkMode === n.name) {
        out[c.id] = { Name: c.name.slice(1), EndpointID: '', MacAddress: '', IPv4Address: '', IPv6Address: '' };
      }
    }
    return out;
  }

  /** Whether any container (running or not) is configured on the network (network prune keeps it). */
  networkInUse(n: NetworkRecord): boolean {
    return this.store.list().some((c) => Object.values(c.networks ?? {}).some((a) => a.networkId === n.id) || c.hostConfig.NetworkMode === n.name);
  }

  /** Attach the clients waiting for this start (`docker start -a`, `docker run`) before the process runs. */
  private async connectPending(id: string): Promise<void> {
    const set = this.pending.get(id);
    if (!set) return;
    this.pending.delete(id);
    await inSpan('attach.connect', 'engine', async () => {
      for (const p of set) {
        try {
          p.connected(await this.lc.attach(id, p.opts));
        } catch (e) {
          p.connected(undefined, e);
        }
      }
    });
  }

  private failPending(id: string, e: unknown): void {
    const set = this.pending.get(id);
    this.pending.delete(id);
    for (const p of set ?? []) p.connected(undefined, e);
  }

  async stop(ref: string, opts: { signal?: string; timeout?: number }): Promise<boolean> {
    const id = this.resolve(ref).id;
    return this.lock(id, () => this.stopLocked(id, opts));
  }

  private async stopLocked(id: string, opts: { signal?: string; timeout?: number }): Promise<boolean> {
    let c = this.store.get(id);
    if (c.state.status === 'restarting') {
      // dockerd: the restart manager is cancelled; no signal, the container is just stopped.
      this.cancelRestart(id);
      this.publish(this.store.get(id), 'stop');
      return true;
    }
    if (!isLive(c.state.status)) return false;
    this.restarts.cancel(id);
    // dockerd's killWithSignal: a stop by the shutting-down daemon is not the user's, so
    // unless-stopped and on-failure containers come back at the next start.
    if (!this.shuttingDown) c = this.store.update(id, (r) => { r.manuallyStopped = true; });
    const sig = signalOf(opts.signal ?? c.config.StopSignal, 15);
    const timeout = opts.timeout ?? c.config.StopTimeout ?? 10;
    const exit = this.nextExit(id);
    const timers: NodeJS.Timeout[] = [];
    const after = (ms: number) => new Promise<'timeout'>((r) => { timers.push(setTimeout(() => r('timeout'), ms)); });
    try {
      await this.signalTask(c, sig);
      if (sig !== 9 && timeout >= 0) {
        if ((await Promise.race([exit.done, after(timeout * 1000)])) === 'timeout') {
          this.log.info('stop: timeout reached, killing', { id, timeout });
          await this.signalTask(c, 9);
        }
      }
      // timeout -1: wait as long as it takes (Docker's "no timeout")
      if (sig !== 9 && timeout < 0) await exit.done;
      else if ((await Promise.race([exit.done, after(30_000)])) === 'timeout') {
        throw new BerthError('deadline-exceeded', `container ${id}: did not exit within 30 s of SIGKILL`);
      }
    } finally {
      exit.cancel();
      for (const t of timers) clearTimeout(t);
    }
    this.publish(this.store.find(id) ?? c, 'stop');
    return true;
  }

  /** Send a signal the way dockerd does: the init process, or with SIGKILL every process (thawing a paused one). */
  private async signalTask(c: ContainerRecord, sig: number): Promise<void> {
    this.publish(c, 'kill', { signal: String(sig) });
    try {
      if (sig === 9) await this.lc.kill(c.id, 9, { all: true });
      else {
        await this.lc.kill(c.id, sig);
        // A frozen process takes the signal once thawed: stopping a paused container unpauses it.
        if (this.store.find(c.id)?.state.status === 'paused') await this.lc.resume(c.id).catch(() => undefined);
      }
    } catch (e) {
      if (errPreconditionLike(e) || isNotFound(e)) return; // exited meanwhile
      throw e;
    }
  }

  async restart(ref: string, opts: { signal?: string; timeout?: number }): Promise<void> {
    const id = this.resolve(ref).id;
    await this.lock(id, async () => {
      await this.stopLocked(id, opts);
      await this.exitHandling.get(id);
      const p = this.startLocked(id);
      this.starting.set(id, p);
      try { await p; } finally { this.starting.delete(id); }
    });
    this.publish(this.store.get(id), 'restart');
  }

  async kill(ref: string, signal?: string): Promise<void> {
    const c0 = this.resolve(ref);
    await this.lock(c0.id, async () => {
      const c = this.store.get(c0.id);
      if (!isUp(c.state.status)) throw errConflict(`Cannot kill container: ${ref}: Container ${c.id} is not running`);
      const sig = signalOf(signal, 9);
      // dockerd's killWithSignal: SIGKILL, or the stop signal (any signal when none is configured),
      // means "do not restart after this exit"; any kill marks the container stopped by the user.
      const exitOnNext = sig === 9 || !c.config.StopSignal || signalOf(c.config.StopSignal, 15) === sig;
      if (c.state.status === 'restarting') {
        if (exitOnNext) this.cancelRestart(c.id);
        else this.store.update(c.id, (r) => { r.manuallyStopped = true; });
        return;
      }
      if (exitOnNext) this.restarts.cancel(c.id);
      this.store.update(c.id, (r) => { r.manuallyStopped = true; });
      const exit = sig === 9 ? this.nextExit(c.id, 10_000) : undefined;
      try {
        await this.signalTask(c, sig);
        // dockerd's kill with SIGKILL returns once the container is gone.
        if (exit) await exit.done;
      } finally {
        exit?.cancel();
      }
    });
  }

  async wait(ref: string, condition: WaitCondition, signal?: AbortSignal): Promise<{ StatusCode: number; Error?: { Message: string } | null }> {
    const c = this.resolve(ref);
    const id = c.id;
    const result = (code: number) => {
      const r = this.store.find(id);
      return r?.state.error ? { StatusCode: code, Error: { Message: r.state.error } } : { StatusCode: code };
    };
    if (condition === 'not-running' && !isUp(c.state.status) && !this.starting.has(id)) return result(c.state.exitCode);
    return new Promise((resolve, reject) => {
      const ev = condition === 'removed' ? `removed:${id}` : `exit:${id}`;
      const on = (code: number) => { cleanup(); resolve(result(code)); };
      const onAbort = () => { cleanup(); reject(new BerthError('cancelled', `wait for container ${id}: cancelled`)); };
      const cleanup = () => { this.signals.off(ev, on); signal?.removeEventListener('abort', onAbort); };
      this.signals.on(ev, on);
      signal?.addEventListener('abort', onAbort, { once: true });
      if (signal?.aborted) onAbort();
    });
  }

  /** A stop or kill during the backoff: the pending restart is called off and the container is stopped by the user. */
  private cancelRestart(id: string): void {
    this.restarts.cancel(id);
    const rec = this.store.update(id, (r) => { r.state.status = 'exited'; r.state.pid = 0; r.manuallyStopped = true; });
    this.signals.emit(`exit:${id}`, rec.state.exitCode);
  }

  /** After the backoff: start again, unless a stop, kill, remove or close came first. */
  private scheduleRestart(id: string, delayMs: number): void {
    const p = this.restarts.wait(id, delayMs).then(async (go) => {
      if (!go || this.closed) return;
      await this.lock(id, async () => {
        const c = this.store.find(id);
        if (!c || c.state.status !== 'restarting') return;
        await this.exitHandling.get(id);
        await this.startTracked(id, true);
      });
    }).catch((e) => {
      // dockerd: a restart that fails to start leaves the container stopped (startLocked recorded the error).
      this.log.warn('restart policy: start failed', { id, err: (e as Error).message });
    }).finally(() => this.restarting.delete(p));
    this.restarting.add(p);
  }

  // --- exit -------------------------------------------------------------------------------

  private onTaskExit(id: string, execNs = 0): void {
    if (this.closed || this.exitHandling.has(id) || !this.store.find(id)) return;
    const p = (async () => {
      await this.starting.get(id)?.catch(() => undefined);
      await this.exitTraced(id, execNs);
    })().catch((e) => this.log.error('exit handling failed', { id, err: (e as Error).message }))
      .finally(() => this.exitHandling.delete(id));
    this.exitHandling.set(id, p);
  }

  /**
   * Docker's `oom` when the kernel OOM-kills in the container, as dockerd publishes it on
   * containerd's TaskOOM: while it runs (the container may go on), or at the exit at the latest.
   */
  private onTaskOom(id: string): void {
    const c = this.store.find(id);
    if (!c) return;
    this.oomPublished.add(id);
    this.publish(c, 'oom');
  }

  /**
   * A task's log drop count (cumulative for the task, from its shim): what is new is added to the
   * container's and announced with a `log_dropped` event. Counts are kept in the record, so a
   * shim's repeat after a daemon restart adds nothing.
   */
  private noteLogDrops(id: string, taskCount: number): void {
    let delta = 0;
    let rec: ContainerRecord;
    try {
      rec = this.store.update(id, (r) => {
        const seen = r.logDroppedTask ?? 0;
        delta = Math.max(0, taskCount - seen);
        r.logDroppedTask = Math.max(seen, taskCount);
        r.logDropped = (r.logDropped ?? 0) + delta;
      });
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
    if (delta > 0) {
      this.log.warn('log entries dropped', { id, dropped: delta, total: rec.logDropped });
      this.publish(rec, 'log_dropped', { dropped: String(delta), total: String(rec.logDropped ?? 0) });
    }
  }

  /** Log entries dropped so far, per container id (for metrics). */
  logDrops(): Record<string, number> {
    return Object.fromEntries(this.store.list().map((c) => [c.id, c.logDropped ?? 0]));
  }

  /** applyExit in a `container.exit` span below the last start's (with the container's execve and run recorded there). */
  private exitTraced(id: string, execNs: number): Promise<void> {
    const anchor = this.traces.anchor(id);
    if (execNs) this.traces.exec(id, execNs);
    const span = anchor ? tracer.startRoot('container.exit', 'engine', { parent: anchor }) : undefined;
    if (span) this.traces.extend(id, span);
    return tracer.run(span, async () => {
      try {
        await this.applyExit(id, span);
      } catch (e) {
        span?.fail(e);
        throw e;
      } finally {
        span?.finish();
      }
    });
  }

  /**
   * Record a stopped task's exit in the container, clean up after it, publish, AutoRemove.
   * `span` (the exit's) ends once the exit is applied, before waiters hear of it and before AutoRemove.
   */
  async applyExit(id: string, span?: Span): Promise<void> {
    const c = this.store.find(id);
    if (!c) return;
    const t = this.lc.md.findTask(this.lc.namespace, id);
    if (!t || t.status !== 'stopped') return;
    this.traces.process(id, t.finishedAt, { 'process.exit_code': t.exitCode ?? 255 });
    this.health.stop(id);
    // The shim's final count (drops while the daemon was away included), before the task dir goes.
    try {
      const final = readExitFile(t.dir);
      if (final?.logDropped) this.noteLogDrops(id, final.logDropped);
    } catch { /* a damaged exit file: the events so far stand */ }
    // The task row holds the exit status: keep it in the record before the task goes, so a crash
    // during the cleanup below does not turn it into "task lost" at the next start.
    this.store.update(id, (r) => {
      r.exitPending = { exitCode: t.exitCode ?? 255, oomKilled: t.oomKilled, finishedAt: t.finishedAt || nowIso(), error: t.exitReason || '', ...(t.startedAt ? { startedAt: t.startedAt } : {}) };
    });
    // Independent: the host-side rootfs mount is not the container's (it has its own mount namespace).
    await Promise.all([
      this.lc.deleteTask(id).catch((e) => this.log.warn('exit: delete task', { id, err: (e as Error).message })),
      this.rootfs.releaseTask(id).catch((e) => this.log.warn('exit: unmount rootfs', { id, err: (e as Error).message })),
    ]);
    crashPoint('exit:after-task-delete');
    await this.teardownNetwork(id);
    await this.volumes.afterStop(id, c.mountPoints).catch((e) => this.log.warn('exit: release volumes', { id, err: (e as Error).message }));
    const code = t.exitCode ?? 255;
    const startedAt = t.startedAt || c.state.startedAt;
    // dockerd's handleContainerExit: the policy decides (and the backoff advances) at each exit.
    // While restoring, exits are only recorded; reconcile applies the policies once at the end.
    // While shutting down, none is restarted: the next start's restore does it.
    const delay = this.restoring || this.shuttingDown ? undefined
      : this.restarts.decide(id, c.hostConfig.RestartPolicy, code, c.manuallyStopped, c.restartCount, Date.now() - Date.parse(startedAt));
    const rec = this.store.update(id, (r) => {
      r.state = {
        ...r.state, status: delay !== undefined ? 'restarting' : 'exited', pid: 0, exitCode: code, oomKilled: t.oomKilled,
        finishedAt: t.finishedAt || nowIso(), error: t.exitReason || '',
        ...(t.startedAt ? { startedAt: t.startedAt } : {}),
      };
      if (delay !== undefined) r.restartCount++;
      delete r.exitPending;
    });
    // Published by onTaskOom already, unless the exit happened while no engine listened.
    if (t.oomKilled && !this.oomPublished.has(id)) this.publish(rec, 'oom');
    this.oomPublished.delete(id);
    this.publish(rec, 'die', { exitCode: String(code), execDuration: String(Math.max(0, Math.round((Date.parse(rec.state.finishedAt) - Date.parse(rec.state.startedAt)) / 1000))) });
    span?.finish();
    this.signals.emit(`exit:${id}`, code);
    if (delay !== undefined) tracer.detached(() => this.scheduleRestart(id, delay));
    else if (rec.hostConfig.AutoRemove) {
      await inSpan('container.remove', 'engine', () => this.lock(id, () => this.removeLocked(id, true))).catch((e) => {
        if (!isNotFound(e)) this.log.warn('AutoRemove failed', { id, err: (e as Error).message });
      });
    }
  }

  // --- pause / rename / remove --------------------------------------------------------------

  async pause(ref: string): Promise<void> {
    const id = this.resolve(ref).id;
    await this.lock(id, async () => {
      const c = this.store.get(id);
      if (c.state.status === 'paused') throw errConflict(`Container ${id} is already paused`);
      if (c.state.status !== 'running') throw errConflict(`Container ${id} is not running`);
      await this.lc.pause(id);
      this.publish(this.store.update(id, (r) => { r.state.status = 'paused'; }), 'pause');
    });
  }

  async unpause(ref: string): Promise<void> {
    const id = this.resolve(ref).id;
    await this.lock(id, async () => {
      const c = this.store.get(id);
      if (c.state.status !== 'paused') throw errConflict(`Container ${id} is not paused`);
      await this.lc.resume(id);
      this.publish(this.store.update(id, (r) => { r.state.status = 'running'; }), 'unpause');
    });
  }

  async rename(ref: string, newName: string): Promise<void> {
    const id = this.resolve(ref).id;
    const name = normalizeName(newName);
    await this.lock(id, async () => {
      const c = this.store.get(id);
      if (c.name === name) throw errInvalid(`Renaming a container with the same name as its current name`);
      const old = c.name;
      const rec = this.store.update(id, (r) => { r.name = name; });
      this.publish(rec, 'rename', { oldName: old });
    });
  }

  async remove(ref: string, opts: { force?: boolean; volumes?: boolean; link?: boolean }): Promise<void> {
    return inSpan('container.remove', 'engine', () => this.removeRef(ref, opts));
  }

  private async removeRef(ref: string, opts: { force?: boolean; volumes?: boolean; link?: boolean }): Promise<void> {
    const c0 = this.resolve(ref);
    if (opts.link) throw errInvalid('Conflict, cannot remove the default link name of the container');
    await this.lock(c0.id, async () => {
      const c = this.store.get(c0.id);
      if (c.state.status === 'restarting') {
        if (!opts.force) throw errConflict(`cannot remove container "${c.name}": container is restarting: stop the container before removing or force remove`);
        this.restarts.cancel(c.id);
      }
      if (isLive(c.state.status)) {
        if (!opts.force) {
          throw errConflict(`cannot remove container "${c.name}": container is running: stop the container before removing or force remove`);
        }
        const exit = this.nextExit(c.id, 15_000);
        try {
          await this.signalTask(c, 9);
          await exit.done;
        } finally {
          exit.cancel();
        }
        await this.exitHandling.get(c.id);
      }
      await this.removeLocked(c.id, !!opts.volumes);
    });
  }

  /** `removeVolumes`: also the container's anonymous volumes (`rm -v`, and AutoRemove as dockerd does). */
  private async removeLocked(id: string, removeVolumes = false): Promise<void> {
    const c = this.store.find(id);
    if (!c) throw noSuchContainer(id);
    this.restarts.reset(id);
    this.health.stop(id);
    this.store.update(id, (r) => { r.state.status = 'removing'; });
    crashPoint('rm:after-mark');
    if (this.lc.md.findTask(this.lc.namespace, id)) await this.lc.deleteTask(id, { force: true });
    crashPoint('rm:after-task');
    this.traces.forget(id);
    // The container dir goes into the trash meanwhile: nothing below needs it.
    const dirGone = this.o.trash.discard(this.containerDir(id));
    dirGone.catch(() => undefined); // awaited below; a failure must not count as unhandled meanwhile
    try {
      await this.teardownNetwork(id);
      await this.rootfs.removeAll(id);
      await this.volumes.afterStop(id, c.mountPoints, false);
      crashPoint('rm:after-unmount');
      try {
        await this.lc.deleteContainer(id, {
          snapshotCleanup: (key) => {
            crashPoint('rm:before-snapshot');
            return this.images.snapshotter.remove(key);
          },
        });
      } catch (e) {
        if (!isNotFound(e)) throw e;
        await this.images.snapshotter.remove(c.snapshotKey).catch(() => undefined);
      }
      crashPoint('rm:after-snapshot');
    } finally {
      await dirGone;
    }
    this.store.delete(id);
    if (removeVolumes) {
      const errs = await this.volumes.removeAnonymous(c.mountPoints);
      if (errs.length) this.log.warn('remove: anonymous volumes', { id, errs });
    }
    this.execs.forget(id);
    this.statsPrev.delete(id);
    this.failPending(id, noSuchContainer(id));
    this.publish(c, 'destroy');
    this.signals.emit(`removed:${id}`, c.state.exitCode);
  }

  // --- list / inspect -------------------------------------------------------------------------

  private wireState(c: ContainerRecord): ContainerState {
    const s = c.state;
    return {
      Status: s.status,
      Running: isUp(s.status),
      Paused: s.status === 'paused',
      Restarting: s.status === 'restarting',
      OOMKilled: s.oomKilled,
      Dead: s.status === 'dead',
      Pid: isLive(s.status) ? s.pid : 0,
      ExitCode: s.exitCode,
      Error: s.error,
      StartedAt: s.startedAt || ZERO_TIME,
      FinishedAt: s.finishedAt || ZERO_TIME,
      ...(s.health ? { Health: s.health } : {}),
    };
  }

  private statusText(c: ContainerRecord): string {
    const s = c.state;
    switch (s.status) {
      case 'running': return `Up ${humanDuration(Date.now() - Date.parse(s.startedAt))}${s.health ? ` (${s.health.Status === 'starting' ? 'health: starting' : s.health.Status})` : ''}`;
      case 'paused': return `Up ${humanDuration(Date.now() - Date.parse(s.startedAt))} (Paused)`;
      case 'exited': return `Exited (${s.exitCode}) ${humanDuration(Date.now() - Date.parse(s.finishedAt))} ago`;
      case 'restarting': return `Restarting (${s.exitCode}) ${humanDuration(Date.now() - Date.parse(s.finishedAt))} ago`;
      case 'created': return 'Created';
      case 'removing': return 'Removal In Progress';
      case 'dead': return 'Dead';
      default: return s.status;
    }
  }

  private mounts(c: ContainerRecord): MountPoint[] {
    // dockerd's GetMountPoints: binds, volumes and --mount tmpfs (not --tmpfs), here by destination.
    if (c.mountPoints) return c.mountPoints.map(wireMountPoint).sort((a, b) => (a.Destination < b.Destination ? -1 : a.Destination > b.Destination ? 1 : 0));
    const out: MountPoint[] = [];
    for (const b of c.hostConfig.Binds ?? []) {
      const [src = '', dst = '', mode = ''] = b.split(':');
      if (!src.startsWith('/')) continue; // named volumes: a later issue
      out.push({ Type: 'bind', Source: src, Destination: dst, Mode: mode, RW: !mode.split(',').includes('ro'), Propagation: 'rprivate' });
    }
    for (const m of c.hostConfig.Mounts ?? []) {
      if (m.Type === 'bind') out.push({ Type: 'bind', Source: m.Source ?? '', Destination: m.Target, Mode: '', RW: !m.ReadOnly, Propagation: m.BindOptions?.Propagation ?? 'rprivate' });
      if (m.Type === 'tmpfs') out.push({ Type: 'tmpfs', Source: '', Destination: m.Target, Mode: '', RW: !m.ReadOnly, Propagation: '' });
    }
    for (const dst of Object.keys(c.hostConfig.Tmpfs ?? {})) out.push({ Type: 'tmpfs', Source: '', Destination: dst, Mode: '', RW: true, Propagation: '' });
    return out;
  }

  private async graphDriver(c: ContainerRecord): Promise<{ Name: string; Data: Record<string, string> | null }> {
    const sn = this.images.snapshotter;
    try {
      const upper = sn.dir(c.snapshotKey);
      const data: Record<string, string> = { MergedDir: this.rootfs.path(c.id), UpperDir: upper, WorkDir: posix.join(posix.dirname(upper), 'work') };
      const lowers = await this.lowerDirs(c);
      if (lowers.length) data.LowerDir = lowers.join(':');
      return { Name: sn.name, Data: data };
    } catch {
      return { Name: sn.name, Data: null };
    }
  }

  private async lowerDirs(c: ContainerRecord): Promise<string[]> {
    const ms = await this.images.snapshotter.mounts(c.snapshotKey);
    const lo = ms[0]?.options.find((o) => o.startsWith('lowerdir='));
    return lo ? lo.slice('lowerdir='.length).split(':') : [];
  }

  async startTrace(ref: string): Promise<{ id: string; traceId: string; spans: SpanData[] }> {
    const c = this.resolve(ref);
    // berth-init's execve reaches us with the exit; a running container's shim is asked for it.
    if (isLive(c.state.status) && this.traces.needsExec(c.id)) {
      const ns = await this.lc.execNs(c.id).catch(() => undefined);
      if (ns) this.traces.exec(c.id, ns);
    }
    const t = this.traces.get(c.id);
    if (!t) throw errNotFound(`no start trace recorded for container ${c.id}: it has not been started`);
    return { id: c.id, ...t };
  }

  async inspect(ref: string, opts: { size?: boolean } = {}): Promise<ContainerInspect> {
    const c = this.resolve(ref);
    const out: ContainerInspect = {
      Id: c.id,
      Created: c.created,
      Path: c.path,
      Args: c.args,
      State: this.wireState(c),
      Image: c.image,
      ResolvConfPath: c.resolvConfPath,
      HostnamePath: c.hostnamePath,
      HostsPath: c.hostsPath,
      LogPath: c.logPath,
      Name: c.name,
      RestartCount: c.restartCount,
      Driver: this.images.snapshotter.name,
      Platform: c.platform,
      MountLabel: '',
      ProcessLabel: '',
      AppArmorProfile: '',
      ExecIDs: this.execs.idsOf(c.id).length ? this.execs.idsOf(c.id) : null,
      HostConfig: c.hostConfig,
      GraphDriver: await this.graphDriver(c),
      Mounts: this.mounts(c),
      Config: c.config,
      NetworkSettings: networkSettings(c, this.o.networks),
    };
    if (opts.size) Object.assign(out, await this.sizes(c));
    return out;
  }

  /**
   * SizeRw is the container's writable layer plus its log files and their indexes: Docker counts
   * only the layer, but a log is the container's data on disk too, and this is where `ps --size`
   * and `system df` users look for it (a Berth choice, docs/engine.md).
   */
  private async sizes(c: ContainerRecord): Promise<{ SizeRw: number; SizeRootFs: number }> {
    let rw = 0;
    let lower = 0;
    try { rw = (await this.images.snapshotter.usage(c.snapshotKey)).size; } catch { /* gone */ }
    if (c.logPath) rw += logDiskUsage(c.logPath);
    try {
      const img = await this.images.get(c.image);
      for (const ch of img.chainIds) lower += (await this.images.snapshotter.usage(ch)).size;
    } catch { /* image removed */ }
    return { SizeRw: rw, SizeRootFs: rw + lower };
  }

  async list(opts: { all?: boolean; limit?: number; size?: boolean; filters?: Record<string, string[]> }): Promise<ContainerSummary[]> {
    const f = opts.filters ?? {};
    const pf = parseListFilters(f);
    const all = opts.all || (opts.limit ?? 0) > 0 || !!f.status?.length || !!f.exited?.length;
    let list = this.store.list().sort((a, b) => (a.created < b.created ? 1 : a.created > b.created ? -1 : 0));
    const createdOf = (ref: string) => this.resolve(ref).created;
    const before = f.before?.length ? createdOf(f.before[0]!) : undefined;
    const since = f.since?.length ? createdOf(f.since[0]!) : undefined;
    let ancestors: Set<string> | undefined;
    if (f.ancestor?.length) {
      ancestors = new Set();
      for (const a of f.ancestor) {
        try { ancestors.add((await this.images.get(a)).id); } catch { /* matches nothing */ }
      }
    }
    const any = (key: string, pred: (v: string) => boolean) => !f[key]?.length || f[key]!.some(pred);
    list = list.filter((c) => {
      const st = c.state.status;
      if (!all && !isUp(st)) return false;
      if (!any('id', (v) => c.id.startsWith(v))) return false;
      if (!any('name', (v) => { try { return new RegExp(v).test(c.name) || new RegExp(v).test(c.name.slice(1)); } catch { return c.name.includes(v); } })) return false;
      // Labels match all of the given ones, unlike the other keys.
      if (!matchLabels(f.label, c.config.Labels)) return false;
      if (!any('status', (v) => v === st)) return false;
      if (pf.exited.length && !(st === 'exited' && pf.exited.includes(c.state.exitCode))) return false;
      if (pf.isTask === true) return false;
      if (!any('health', (v) => v === (c.state.health?.Status ?? 'none'))) return false;
      // dockerd's ps `volume` filter: a mount's volume name (a bind's source) or its destination.
      if (!any('volume', (v) => (c.mountPoints ?? []).some((m) => m.destination === v || (m.name || m.source) === v))) return false;
      if (!any('isolation', (v) => v === 'default')) return false;
      if (!any('network', (v) => v === c.hostConfig.NetworkMode || Object.entries(c.networks ?? {}).some(([n, a]) => n === v || a.networkId.startsWith(v)))) return false;
      if (ancestors && !ancestors.has(c.image) && !f.ancestor!.includes(c.imageRef)) return false;
      if (before !== undefined && !(c.created < before)) return false;
      if (since !== undefined && !(c.created > since)) return false;
      if (pf.publish.size || pf.expose.size) {
        // dockerd: a port with no public side is published as 0.
        const hit = summaryPorts(c).some((p) => pf.publish.has(`${p.PublicPort ?? 0}/${p.Type}`) || pf.expose.has(`${p.PrivatePort}/${p.Type}`));
        if (!hit) return false;
      }
      return true;
    });
    if (opts.limit && opts.limit > 0) list = list.slice(0, opts.limit);
    const out: ContainerSummary[] = [];
    for (const c of list) {
      const s: ContainerSummary = {
        Id: c.id,
        Names: [c.name],
        Image: c.config.Image ?? c.imageRef,
        ImageID: c.image,
        Command: [c.path, ...c.args].join(' '),
        Created: Math.floor(Date.parse(c.created) / 1000),
        Ports: summaryPorts(c),
        Labels: c.config.Labels ?? {},
        State: c.state.status,
        Status: this.statusText(c),
        HostConfig: { NetworkMode: c.hostConfig.NetworkMode ?? 'bridge', ...(c.hostConfig.Annotations ? { Annotations: c.hostConfig.Annotations } : {}) },
        NetworkSettings: { Networks: endpointSettings(c, this.o.networks) },
        Mounts: this.mounts(c),
      };
      if (opts.size) Object.assign(s, await this.sizes(c));
      out.push(s);
    }
    return out;
  }

  async isTty(ref: string): Promise<boolean> {
    return !!this.resolve(ref).config.Tty;
  }

  // --- logs / attach / resize -----------------------------------------------------------------

  /**
   * The container's log lines. `text` is the line as the process wrote it; the route adds the
   * timestamp (`time`) when `opts.timestamps` and frames it. Not-found is thrown at once.
   */
  logs(ref: string, opts: LogOptions, signal: AbortSignal): AsyncIterable<LogLine> {
    const c = this.resolve(ref);
    if (!c.logPath) throw errNotImplemented(`configured logging driver does not support reading`);
    const id = c.id;
    return readLogs(c.logPath, opts, signal, () => {
      const r = this.store.find(id);
      return !!r && (isLive(r.state.status) || this.starting.has(id));
    });
  }

  async attach(ref: string, a: StreamAttach, opts: { logs?: boolean; stream?: boolean }): Promise<void> {
    const c = this.resolve(ref);
    const tty = !!c.config.Tty;
    if (opts.logs && c.logPath) {
      const ac = new AbortController();
      for await (const l of readLogs(c.logPath, { stdout: a.stdout, stderr: a.stderr }, ac.signal, () => false)) {
        if ((l.stream === 'stdout' && !a.stdout) || (l.stream === 'stderr' && !a.stderr)) continue;
        a.conn.write(tty ? l.text : encodeFrame(l.stream === 'stdout' ? 1 : 2, l.text));
      }
    }
    if (!opts.stream) {
      a.conn.end();
      return;
    }
    const stdin = a.stdin && !!c.config.OpenStdin;
    const attachOpts = { stdin, stdout: a.stdout, stderr: a.stderr };
    let sock: Socket;
    const cur = this.store.get(c.id);
    if (isLive(cur.state.status) && !this.starting.has(c.id)) {
      sock = await this.lc.attach(c.id, attachOpts);
    } else {
      // Not running: wait for the next start, which connects us before the process runs.
      const got = await new Promise<Socket | undefined>((resolve, reject) => {
        const entry: PendingAttach = {
          opts: attachOpts,
          connected: (s, err) => { a.conn.off('close', gone); if (err) reject(err); else resolve(s); },
        };
        const gone = () => { this.pending.get(c.id)?.delete(entry); resolve(undefined); };
        a.conn.once('close', gone);
        let set = this.pending.get(c.id);
        if (!set) this.pending.set(c.id, (set = new Set()));
        set.add(entry);
      });
      if (!got) return;
      sock = got;
    }
    this.publish(cur, 'attach');
    await bridge({
      conn: a.conn, source: sock, stdin, ...(a.detachKeys ? { detachKeys: a.detachKeys } : {}),
      onStdinEnd: () => { if (c.config.StdinOnce) void this.lc.closeStdin(c.id).catch(() => undefined); },
    });
  }

  async resize(ref: string, height: number, width: number): Promise<void> {
    const c = this.resolve(ref);
    if (!isLive(c.state.status)) throw errConflict(`Container ${c.id} is not running`);
    await this.lc.resize(c.id, height, width);
    this.publish(c, 'resize', { height: String(height), width: String(width) });
  }

  // --- stats / top / update -------------------------------------------------------------------

  stats(ref: string, opts: { stream: boolean; oneShot?: boolean }, signal: AbortSignal): AsyncIterable<StatsJSON> {
    const c = this.resolve(ref);
    const id = c.id;
    const self = this;
    const sample = async (prev?: StatsJSON): Promise<StatsJSON | undefined> => {
      const r = self.store.find(id);
      if (!r || !isLive(r.state.status)) return undefined;
      try {
        const out: StatsJSON = { ...toStatsJSON(id, r.name, await self.lc.stats(id), nowIso(), prev), berth: { log_dropped: r.logDropped ?? 0 } };
        // Host networking shows no container counters (dockerd: none); a netns of its own does.
        const nets = r.hostConfig.NetworkMode !== 'host' ? netDevStats(r.state.pid) : undefined;
        if (nets) out.networks = nets;
        return out;
      } catch {
        return undefined;
      }
    };
    return (async function* () {
      let prev = await sample();
      if (!prev) {
        yield emptyStats(id, c.name);
        return;
      }
      if (!opts.stream) {
        if (opts.oneShot) { yield prev; return; }
        // dockerd waits for a second sample so precpu (and the CPU %) is meaningful.
        await sleep(1000);
        yield (await sample(prev)) ?? prev;
        return;
      }
      yield prev;
      while (!signal.aborted) {
        await new Promise<void>((r) => {
          const t = setTimeout(r, 1000);
          signal.addEventListener('abort', () => { clearTimeout(t); r(); }, { once: true });
        });
        if (signal.aborted) return;
        const next = await sample(prev);
        if (!next) return;
        yield next;
        prev = next;
      }
    })();
  }

  async top(ref: string, psArgs?: string): Promise<{ Titles: string[]; Processes: string[][] }> {
    const c = this.resolve(ref);
    if (!isLive(c.state.status)) throw errConflict(`Container ${c.id} is not running`);
    return runTop(await this.lc.pids(c.id), psArgs);
  }

  async update(ref: string, resources: HostConfig): Promise<{ Warnings: string[] }> {
    const id = this.resolve(ref).id;
    return this.lock(id, async () => {
      const c = this.store.get(id);
      const patch: HostConfig = {};
      for (const k of RESOURCE_KEYS) if (resources[k] !== undefined) (patch as Record<string, unknown>)[k] = resources[k];
      validateRestartPolicy(patch.RestartPolicy);
      const warnings: string[] = [];
      checkResources(patch, detectSpecHost(), warnings, true);
      if (patch.RestartPolicy && c.hostConfig.AutoRemove && patch.RestartPolicy.Name !== 'no') {
        throw errInvalid(`Restart policy cannot be updated because AutoRemove is enabled for the container`);
      }
      const res = toLinuxResources(patch);
      if (Object.keys(res).length) {
        if (isLive(c.state.status)) await this.lc.update(id, res);
        else {
          const row = this.lc.getContainer(id);
          const spec = structuredClone(row.spec);
          const linux = (spec.linux ??= {});
          linux.resources = { ...(linux.resources ?? {}), ...res };
          this.lc.md.updateContainer(this.lc.namespace, id, { spec });
        }
      }
      const rec = this.store.update(id, (r) => { Object.assign(r.hostConfig, patch); });
      this.publish(rec, 'update');
      return { Warnings: warnings };
    });
  }

  // --- filesystem -----------------------------------------------------------------------------

  async changes(ref: string): Promise<Array<{ Path: string; Kind: 0 | 1 | 2 }>> {
    const c = this.resolve(ref);
    const sn = this.images.snapshotter;
    const upper = sn.dir(c.snapshotKey);
    const lowers = await this.lowerDirs(c);
    return overlayChanges(upper, lowers, mountStubFilter(upper, lowers, MOUNT_STUBS));
  }

  async export(ref: string): Promise<Readable> {
    const c = this.resolve(ref);
    const { root, release } = await this.rootfs.acquire(c.id, c.snapshotKey);
    const out = new PassThrough();
    produceThenRelease(out, async () => {
      const w = new TarWriter(out);
      await tarTree(root, '', w);
      await w.finish();
    }, release, (e) => this.log.warn('export: unmount', { id: c.id, err: e.message }));
    this.publish(c, 'export');
    return out;
  }

  async commit(ref: string, o: CommitRequest): Promise<{ Id: string }> {
    const c = this.resolve(ref);
    if (c.state.status === 'dead') throw errConflict(`You cannot commit container ${c.id} which is Dead`);
    if (c.state.status === 'removing') throw errConflict(`You cannot commit container ${c.id} which is being removed`);
    // Checked before the container is frozen or anything is written.
    const config = commitConfig(c.config, o.config, o.changes);
    const parent = await this.images.get(c.image);
    // The engine's snapshotter is overlayfs (engine.ts): the upper dir is the container's layer, as for diff.
    const sn = this.images.snapshotter;
    const writeLayer = async (out: Writable) => {
      // dockerd freezes a running container so the layer is one moment's state; here only for the diff itself.
      let paused = false;
      if (o.pause && this.store.get(c.id).state.status === 'running') {
        // One that stopped meanwhile needs no freezing (dockerd goes on without it too).
        paused = await this.pause(c.id).then(() => true, (e: unknown) => {
          if (errorCode(e) !== 'conflict') throw e;
          return false;
        });
      }
      try {
        crashPoint('commit:during-diff');
        const upper = sn.dir(c.snapshotKey);
        const lowers = await this.lowerDirs(c);
        await writeLayerDiff(upper, lowers, out, mountStubFilter(upper, lowers, MOUNT_STUBS));
      } finally {
        if (paused) await this.unpause(c.id).catch((e) => this.log.warn('commit: unpause', { id: c.id, err: (e as Error).message }));
      }
    };
    const r = await inSpan('container.commit', 'engine', () => commitImage(this.images, {
      parent, config, writeLayer,
      createdBy: (c.config.Cmd ?? []).join(' '),
      ...(o.author ? { author: o.author } : {}),
      ...(o.comment ? { comment: o.comment } : {}),
      ...(o.ref ? { ref: o.ref } : {}),
    }));
    const imageRef = r.name ? familiarString(r.name) : '';
    // As the tag route publishes it (dockerd tags the committed image the same way).
    if (imageRef) this.events.publish({ Type: 'image', Action: 'tag', Actor: { ID: imageRef, Attributes: { name: imageRef } } });
    this.publish(c, 'commit', { comment: o.comment ?? '', imageID: r.id, imageRef });
    return { Id: r.id };
  }

  /**
   * A container's files as archive calls see them. A live container's is its own view,
   * /proc/<pid>/root, with its volumes, binds and /etc/hostname, hosts and resolv.conf mounted.
   * Otherwise the rootfs with the volumes and binds laid over it by path, as dockerd mounts them
   * for the copy (tmpfs mounts hold nothing then). Either way paths are resolved lexically
   * (FilesView), never by the kernel from there.
   */
  private async filesView(c: ContainerRecord): Promise<{ view: FilesView; release: () => Promise<void> }> {
    if (isLive(c.state.status) && c.state.pid > 0) return { view: new FilesView(`/proc/${c.state.pid}/root`), release: async () => undefined };
    const { root, release } = await this.rootfs.acquire(c.id, c.snapshotKey);
    const mounts = (c.mountPoints ?? []).filter((m) => m.type !== 'tmpfs' && m.source !== '');
    return { view: new FilesView(root, mounts), release };
  }

  async statPath(ref: string, path: string): Promise<PathStat> {
    const c = this.resolve(ref);
    const { view, release } = await this.filesView(c);
    try {
      return statInRoot(view, path, ref).stat;
    } finally {
      await release();
    }
  }

  async getArchive(ref: string, path: string): Promise<{ stat: PathStat; stream: Readable }> {
    const c = this.resolve(ref);
    const { view, done } = await this.copyView(c);
    let stat: PathStat;
    try {
      stat = statInRoot(view, path, ref).stat;
    } catch (e) {
      await done();
      throw e;
    }
    const out = new PassThrough();
    produceThenRelease(out, () => writeArchive(view, path, out, ref), done, (e) => this.log.warn('archive: release', { id: c.id, err: e.message }));
    this.publish(c, 'archive-path');
    return { stat, stream: out };
  }

  async putArchive(ref: string, path: string, tar: Readable, opts: { noOverwriteDirNonDir?: boolean; copyUIDGID?: boolean }): Promise<void> {
    const c = this.resolve(ref);
    const { view, done } = await this.copyView(c);
    try {
      const user = c.config.User ?? '';
      await extractArchive(view, path, tar, ref, {
        ...(opts.noOverwriteDirNonDir ? { noOverwriteDirNonDir: true } : {}),
        // dockerd: copyUIDGID without a User keeps the tar's owners, as a plain copy does.
        ...(opts.copyUIDGID && user !== '' ? { owner: copyOwner(readUserFiles(view.root), user) } : {}),
        writable: (dest) => this.checkWritable(c, dest),
      });
    } finally {
      await done();
    }
    this.publish(c, 'extract-to-dir');
  }

  /** A copy's view of the container's files, with the container frozen while it lasts; `done` releases both. */
  private async copyView(c: ContainerRecord): Promise<{ view: FilesView; done: () => Promise<void> }> {
    const thaw = await this.freezeForCopy(c);
    try {
      const { view, release } = await this.filesView(c);
      return { view, done: async () => { try { await release(); } finally { await thaw(); } } };
    } catch (e) {
      await thaw();
      throw e;
    }
  }

  /**
   * Freeze a running container for a copy in or out of it: paths are checked, then used by name from
   * the host, and a process of the container could swap a checked directory for a symlink in
   * between and send the copy to the host's files (CVE-2018-15664; dockerd's first fix froze the
   * container the same way). Not a pause the user sees: no state change, no event; a pause the
   * user makes meanwhile is left as it is. Returns the thaw (a no-op when nothing was frozen).
   */
  private async freezeForCopy(c: ContainerRecord): Promise<() => Promise<void>> {
    const id = c.id;
    const froze = await this.lock(id, async () => {
      if (this.store.get(id).state.status !== 'running') return false;
      const n = this.cpFreezes.get(id) ?? 0;
      if (n === 0) await this.lc.pause(id);
      this.cpFreezes.set(id, n + 1);
      return true;
    });
    if (!froze) return async () => undefined;
    let done = false;
    return async () => {
      if (done) return;
      done = true;
      // Not under the container's lock: a stop waiting on it for the frozen process's exit would wait forever.
      const n = (this.cpFreezes.get(id) ?? 1) - 1;
      if (n > 0) return void this.cpFreezes.set(id, n);
      this.cpFreezes.delete(id);
      if (this.store.find(id)?.state.status !== 'running') return;
      await this.lc.resume(id).catch((e: unknown) => this.log.warn('cp: thaw failed', { id, err: (e as Error).message }));
    };
  }

  /** dockerd's checkWritablePath: the mount holding `path` decides, else the rootfs; both are 400s. */
  private checkWritable(c: ContainerRecord, path: string): void {
    const inside = (dest: string) => path === dest || path.startsWith(dest === '/' ? '/' : `${dest}/`);
    const m = (c.mountPoints ?? []).filter((x) => inside(x.destination)).sort((a, b) => b.destination.length - a.destination.length)[0];
    if (m) {
      if (!m.rw) throw errInvalid('mounted volume is marked read-only');
      return;
    }
    if (c.hostConfig.ReadonlyRootfs) throw errInvalid('container rootfs is marked read-only');
  }

  async prune(filters: Record<string, string[]>): Promise<{ ContainersDeleted: string[] | null; SpaceReclaimed: number }> {
    checkPruneFilters(filters);
    const until = filters.until?.[0];
    const untilMs = until === undefined ? undefined : /^\d+(\.\d+)?$/.test(until) ? Number(until) * 1000 : Date.parse(until);
    const labelMatch = (c: ContainerRecord, v: string) => {
      const labels = c.config.Labels ?? {};
      const i = v.indexOf('=');
      return i < 0 ? v in labels : labels[v.slice(0, i)] === v.slice(i + 1);
    };
    const deleted: string[] = [];
    let space = 0;
    for (const c of this.store.list()) {
      if (isLive(c.state.status) || c.state.status === 'removing') continue;
      if (untilMs !== undefined && !(Date.parse(c.created) < untilMs)) continue;
      if (filters.label?.length && !filters.label.every((v) => labelMatch(c, v))) continue;
      if (filters['label!']?.length && filters['label!'].some((v) => labelMatch(c, v))) continue;
      let size = 0;
      try { size = (await this.images.snapshotter.usage(c.snapshotKey)).size; } catch { /* none */ }
      if (c.logPath) size += logDiskUsage(c.logPath);
      try {
        await this.lock(c.id, async () => {
          const cur = this.store.find(c.id);
          if (!cur || isLive(cur.state.status)) return;
          await this.removeLocked(c.id);
          deleted.push(c.id);
          space += size;
        });
      } catch (e) {
        this.log.warn('prune: remove failed', { id: c.id, err: (e as Error).message });
      }
    }
    this.events.publish({ Type: 'container', Action: 'prune', Actor: { ID: '', Attributes: { reclaimed: String(space) } } });
    return { ContainersDeleted: deleted.length ? deleted : null, SpaceReclaimed: space };
  }

  // --- exec -----------------------------------------------------------------------------------

  async execCreate(ref: string, cfg: ExecConfig): Promise<{ Id: string }> {
    return this.execs.create(ref, cfg);
  }

  async execStart(execId: string, opts: { detach: boolean; tty?: boolean; consoleSize?: [number, number] }, a?: StreamAttach): Promise<void> {
    return this.execs.start(execId, opts, a);
  }

  async execResize(execId: string, height: number, width: number): Promise<void> {
    return this.execs.resize(execId, height, width);
  }

  async execInspect(execId: string): Promise<ExecInspect> {
    return this.execs.inspect(execId);
  }

  // --- daemon start and stop ------------------------------------------------------------------

  /**
   * Settle every container with what the lifecycle found on open: exits that happened while the
   * daemon was down are applied (record, unmount, die), running tasks are adopted, and crash
   * leftovers (a half-done create or remove) are cleaned up.
   */
  async reconcile(): Promise<void> {
    this.restoring = true;
    try {
      await this.reconcileTasks();
    } finally {
      this.restoring = false;
    }
    await this.restoreRestarts();
  }

  /**
   * dockerd's restore, after the tasks are settled: a running container's health monitor starts
   * over ("starting"), and a stopped one that its policy restarts is started again, as a user
   * start would (a fresh restart manager): `always` (even after a manual stop), `unless-stopped`
   * unless stopped by the user, `on-failure` after a failure that was not a stop by the user and
   * while retries are left. This is what brings containers back after a reboot.
   */
  private async restoreRestarts(): Promise<void> {
    for (const c of this.store.list()) {
      try {
        if (c.state.status === 'running' || c.state.status === 'paused') {
          if (c.config.Healthcheck) this.health.arm(this.store.update(c.id, (r) => healthOnStart(r)));
          continue;
        }
        if (c.state.status !== 'exited' && c.state.status !== 'restarting') continue;
        // A container waiting out its backoff when the daemon stopped is stopped until started again.
        if (c.state.status === 'restarting') this.store.update(c.id, (r) => { r.state.status = 'exited'; });
        if (!c.hasBeenStarted) continue;
        const p = c.hostConfig.RestartPolicy;
        const want = p?.Name === 'always' || (!c.manuallyStopped && policyWantsRestart(p, c.state.exitCode, false, c.restartCount));
        if (want) await this.start(c.id);
      } catch (e) {
        this.log.warn('restore: restart policy', { id: c.id, err: (e as Error).message });
      }
    }
  }

  private async reconcileTasks(): Promise<void> {
    const known = new Set<string>();
    for (const c of this.store.list()) {
      known.add(c.id);
      const t = this.lc.md.findTask(this.lc.namespace, c.id);
      try {
        if (c.state.status === 'removing') {
          await this.lock(c.id, () => this.removeLocked(c.id));
          continue;
        }
        if (isLive(c.state.status) || t) {
          if (t?.status === 'stopped') {
            if (!isLive(c.state.status)) this.store.update(c.id, (r) => { r.state.status = 'running'; });
            // Through the same gate as a live exit event, so the two never apply it twice.
            this.onTaskExit(c.id);
            await this.exitHandling.get(c.id);
          } else if (t && (t.status === 'running' || t.status === 'paused')) {
            this.rootfs.adoptTask(c.id);
            const r2 = this.store.update(c.id, (r) => {
              // A start that a crash cut short after the process was released: it ran, record it as started.
              if (!isLive(r.state.status)) {
                r.state = { ...r.state, exitCode: 0, error: '', oomKilled: false, startedAt: t.startedAt || nowIso() };
                r.hasBeenStarted = true;
                r.manuallyStopped = false;
              }
              r.state.status = t.status === 'paused' ? 'paused' : 'running';
              r.state.pid = t.pid;
            });
            if (r2.sandbox) await this.o.networks.restore(attachRequest(r2), r2.sandbox);
          } else if (t) {
            // created but never released (a crash inside start): undo the start. Seen as a start
            // under way, so the exit that killing its process publishes is not applied as a run's.
            const undo = (async () => {
              await this.lc.deleteTask(c.id, { force: true });
              await this.rootfs.releaseTask(c.id);
              await this.teardownNetwork(c.id);
              await this.volumes.afterStop(c.id, c.mountPoints, false);
              this.store.update(c.id, (r) => { r.state.status = r.hasBeenStarted ? 'exited' : 'created'; r.state.pid = 0; });
            })();
            this.starting.set(c.id, undo);
            try {
              await undo;
            } finally {
              this.starting.delete(c.id);
            }
          } else {
            await this.rootfs.releaseTask(c.id);
            await this.teardownNetwork(c.id);
            await this.volumes.afterStop(c.id, c.mountPoints, false);
            // An exit noted before a crash cut its cleanup short is the container's; else it is unknown.
            const p = c.exitPending;
            this.store.update(c.id, (r) => {
              r.state = {
                ...r.state, status: 'exited', pid: 0, exitCode: p?.exitCode ?? 255, oomKilled: p?.oomKilled ?? false,
                error: p ? p.error : 'task lost while the daemon was down', finishedAt: p?.finishedAt ?? nowIso(), ...(p?.startedAt ? { startedAt: p.startedAt } : {}),
              };
              delete r.exitPending;
            });
          }
        } else {
          await this.rootfs.releaseTask(c.id); // a mount left by a crash during create/archive
          await this.teardownNetwork(c.id); // a sandbox left by a crash during start
        }
      } catch (e) {
        this.log.warn('reconcile failed', { id: c.id, err: (e as Error).message });
      }
    }
    // Lifecycle containers without an engine record: a create that crashed before its record.
    for (const row of this.lc.list()) {
      if (known.has(row.id)) continue;
      try {
        if (row.task) await this.lc.deleteTask(row.id, { force: true });
        await this.rootfs.removeAll(row.id);
        await this.lc.deleteContainer(row.id, { snapshotCleanup: (key) => this.images.snapshotter.remove(key) });
        rmSync(this.containerDir(row.id), { recursive: true, force: true });
      } catch (e) {
        this.log.warn('reconcile: orphan lifecycle container', { id: row.id, err: (e as Error).message });
      }
    }
    // Dirs (and a rootfs mount) of containers with no record at all: a create that crashed before
    // its lifecycle container existed. Its snapshot, if any, is the GC's.
    for (const base of [join(this.o.dataRoot, 'containers'), join(this.o.execRoot, 'containers')]) {
      let names: string[] = [];
      try { names = readdirSync(base); } catch { /* none yet */ }
      for (const n of names) {
        if (known.has(n) || !/^[0-9a-f]{64}$/.test(n)) continue;
        try {
          await this.rootfs.removeAll(n);
          rmSync(this.containerDir(n), { recursive: true, force: true });
        } catch (e) {
          this.log.warn('reconcile: orphan container dir', { id: n, err: (e as Error).message });
        }
      }
    }
  }

  /** Snapshot keys of every container (GC roots). */
  snapshotKeys(): string[] {
    return this.store.list().map((c) => c.snapshotKey);
  }

  /** True if a container uses the image (rmi refuses then). */
  usesImage(imageId: string): boolean {
    return this.store.list().some((c) => c.image === imageId);
  }

  /** Counts for /info. */
  counts(): { total: number; running: number; paused: number; stopped: number } {
    const all = this.store.list();
    const running = all.filter((c) => c.state.status === 'running').length;
    const paused = all.filter((c) => c.state.status === 'paused').length;
    return { total: all.length, running, paused, stopped: all.length - running - paused };
  }

  /**
   * The daemon's `--shutdown-containers`: every live container is stopped as `docker stop`
   * would (its stop signal and timeout), but not as stopped by the user, and none is restarted.
   */
  async shutdown(): Promise<void> {
    this.shuttingDown = true;
    const live = this.store.list().filter((c) => isUp(c.state.status));
    this.log.info('stopping: stopping containers (shutdown-containers)', { count: live.length });
    await Promise.allSettled(live.map((c) => this.stop(c.id, {}).catch((e: unknown) => {
      this.log.warn('shutdown: stop failed', { id: c.id, err: (e as Error).message });
    })));
  }

  /** Stop listening; containers keep running (live-restore). Waits for exits being applied. */
  async close(): Promise<void> {
    this.stopListening();
    await Promise.allSettled([...this.exitHandling.values()]);
    this.closed = true;
    // Pending restarts are called off (the containers stay "restarting": the next open starts them).
    this.restarts.close();
    this.health.close();
    await Promise.allSettled([...this.restarting]);
    for (const id of [...this.pending.keys()]) this.failPending(id, new BerthError('cancelled', 'engine closed'));
    await this.traces.flush();
  }
}

function errPreconditionLike(e: unknown): boolean {
  const code = (e as BerthError)?.code;
  return code === 'failed-precondition' || code === 'unavailable';
}
