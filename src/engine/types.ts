// The engine's contract: Docker Engine API wire types (exact JSON names, as v1.41-1.50 define
// them; only the fields Berth reads or writes) and the services the API routes call.
//
// The routes in src/api/routes/ only parse and translate; every decision is made behind these
// interfaces. Names and ids: `ref` is a full id, a unique id prefix, or a name (with or
// without the leading `/`), resolved as dockerd does (exact id, exact name, then id prefix).
import type { Readable, Duplex } from 'node:stream';
import type { SpanData } from '../common/trace.js';

// --- wire types -----------------------------------------------------------------------------

export interface PortBinding { HostIp?: string; HostPort?: string }
export type PortMap = Record<string, PortBinding[] | null>;

export interface MountPoint {
  Type: 'bind' | 'volume' | 'tmpfs' | 'npipe' | 'cluster';
  Name?: string;
  Source: string;
  Destination: string;
  Driver?: string;
  Mode: string;
  RW: boolean;
  Propagation: string;
}

export interface MountSpec {
  Target: string;
  Source?: string;
  Type: 'bind' | 'volume' | 'tmpfs';
  ReadOnly?: boolean;
  BindOptions?: { Propagation?: string; NonRecursive?: boolean; CreateMountpoint?: boolean };
  VolumeOptions?: { NoCopy?: boolean; Labels?: Record<string, string>; DriverConfig?: { Name?: string; Options?: Record<string, string> } };
  TmpfsOptions?: { SizeBytes?: number; Mode?: number };
}

export interface HealthConfig {
  Test?: string[];
  Interval?: number;
  Timeout?: number;
  Retries?: number;
  StartPeriod?: number;
  StartInterval?: number;
}

/** `Config` of a create request and of inspect (ContainerConfig in the API yaml). */
export interface ContainerConfig {
  Hostname?: string;
  Domainname?: string;
  User?: string;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  ExposedPorts?: Record<string, object> | null;
  Tty?: boolean;
  OpenStdin?: boolean;
  StdinOnce?: boolean;
  Env?: string[] | null;
  Cmd?: string[] | null;
  Healthcheck?: HealthConfig;
  ArgsEscaped?: boolean;
  Image?: string;
  Volumes?: Record<string, object> | null;
  WorkingDir?: string;
  Entrypoint?: string[] | null;
  NetworkDisabled?: boolean;
  OnBuild?: string[] | null;
  Labels?: Record<string, string> | null;
  StopSignal?: string;
  StopTimeout?: number | null;
  Shell?: string[] | null;
}

export interface DeviceMapping { PathOnHost: string; PathInContainer: string; CgroupPermissions: string }
export interface Ulimit { Name: string; Soft: number; Hard: number }
export interface RestartPolicy { Name: '' | 'no' | 'always' | 'unless-stopped' | 'on-failure'; MaximumRetryCount?: number }
export interface LogConfig { Type: string; Config?: Record<string, string> }

export interface HostConfig {
  Binds?: string[] | null;
  ContainerIDFile?: string;
  LogConfig?: LogConfig;
  NetworkMode?: string;
  PortBindings?: PortMap | null;
  RestartPolicy?: RestartPolicy;
  AutoRemove?: boolean;
  VolumeDriver?: string;
  VolumesFrom?: string[] | null;
  Mounts?: MountSpec[] | null;
  ConsoleSize?: [number, number] | null;
  Annotations?: Record<string, string> | null;
  CapAdd?: string[] | null;
  CapDrop?: string[] | null;
  CgroupnsMode?: 'private' | 'host' | '';
  Dns?: string[] | null;
  DnsOptions?: string[] | null;
  DnsSearch?: string[] | null;
  ExtraHosts?: string[] | null;
  GroupAdd?: string[] | null;
  IpcMode?: string;
  Cgroup?: string;
  Links?: string[] | null;
  OomScoreAdj?: number;
  PidMode?: string;
  Privileged?: boolean;
  PublishAllPorts?: boolean;
  ReadonlyRootfs?: boolean;
  SecurityOpt?: string[] | null;
  StorageOpt?: Record<string, string> | null;
  Tmpfs?: Record<string, string> | null;
  UTSMode?: string;
  UsernsMode?: string;
  ShmSize?: number;
  Sysctls?: Record<string, string> | null;
  Runtime?: string;
  Isolation?: string;
  MaskedPaths?: string[] | null;
  ReadonlyPaths?: string[] | null;
  Init?: boolean | null;
  // Resources (inline in HostConfig on the wire)
  CpuShares?: number;
  Memory?: number;
  CgroupParent?: string;
  BlkioWeight?: number;
  BlkioWeightDevice?: Array<{ Path: string; Weight: number }> | null;
  BlkioDeviceReadBps?: Array<{ Path: string; Rate: number }> | null;
  BlkioDeviceWriteBps?: Array<{ Path: string; Rate: number }> | null;
  BlkioDeviceReadIOps?: Array<{ Path: string; Rate: number }> | null;
  BlkioDeviceWriteIOps?: Array<{ Path: string; Rate: number }> | null;
  CpuPeriod?: number;
  CpuQuota?: number;
  CpuRealtimePeriod?: number;
  CpuRealtimeRuntime?: number;
  CpusetCpus?: string;
  CpusetMems?: string;
  Devices?: DeviceMapping[] | null;
  DeviceCgroupRules?: string[] | null;
  MemoryReservation?: number;
  MemorySwap?: number;
  MemorySwappiness?: number | null;
  NanoCpus?: number;
  OomKillDisable?: boolean | null;
  PidsLimit?: number | null;
  Ulimits?: Ulimit[] | null;
  KernelMemory?: number;
}

/** POST /containers/create body. */
export interface ContainerCreateRequest extends ContainerConfig {
  HostConfig?: HostConfig;
  NetworkingConfig?: { EndpointsConfig?: Record<string, unknown> };
}

export interface HealthState {
  Status: 'none' | 'starting' | 'healthy' | 'unhealthy';
  FailingStreak: number;
  Log: Array<{ Start: string; End: string; ExitCode: number; Output: string }>;
}

export interface ContainerState {
  Status: 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';
  Running: boolean;
  Paused: boolean;
  Restarting: boolean;
  OOMKilled: boolean;
  Dead: boolean;
  Pid: number;
  ExitCode: number;
  Error: string;
  StartedAt: string;
  FinishedAt: string;
  Health?: HealthState;
}

/** GET /containers/{id}/json. */
export interface ContainerInspect {
  Id: string;
  Created: string;
  Path: string;
  Args: string[];
  State: ContainerState;
  Image: string;
  ResolvConfPath: string;
  HostnamePath: string;
  HostsPath: string;
  LogPath: string;
  Name: string;
  RestartCount: number;
  Driver: string;
  Platform: string;
  MountLabel: string;
  ProcessLabel: string;
  AppArmorProfile: string;
  ExecIDs: string[] | null;
  HostConfig: HostConfig;
  GraphDriver: { Name: string; Data: Record<string, string> | null };
  SizeRw?: number;
  SizeRootFs?: number;
  Mounts: MountPoint[];
  Config: ContainerConfig;
  NetworkSettings: NetworkSettings;
}

export interface NetworkSettings {
  Bridge: string;
  SandboxID: string;
  SandboxKey: string;
  Ports: PortMap;
  HairpinMode?: boolean;
  LinkLocalIPv6Address?: string;
  LinkLocalIPv6PrefixLen?: number;
  SecondaryIPAddresses?: unknown;
  SecondaryIPv6Addresses?: unknown;
  EndpointID?: string;
  Gateway?: string;
  GlobalIPv6Address?: string;
  GlobalIPv6PrefixLen?: number;
  IPAddress?: string;
  IPPrefixLen?: number;
  IPv6Gateway?: string;
  MacAddress?: string;
  Networks: Record<string, EndpointSettings>;
}

/** Docker's network.EndpointSettings (the CLI sends every field; inspect may leave some out). */
export interface EndpointSettings {
  IPAMConfig?: { IPv4Address?: string; IPv6Address?: string; LinkLocalIPs?: string[] } | null;
  Links?: string[] | null;
  Aliases?: string[] | null;
  MacAddress?: string;
  NetworkID: string;
  EndpointID: string;
  Gateway: string;
  IPAddress: string;
  IPPrefixLen: number;
  IPv6Gateway: string;
  GlobalIPv6Address: string;
  GlobalIPv6PrefixLen: number;
  DriverOpts?: Record<string, string> | null;
  GwPriority?: number;
  DNSNames?: string[] | null;
}

/** One entry of GET /containers/json. */
export interface ContainerSummary {
  Id: string;
  Names: string[];
  Image: string;
  ImageID: string;
  Command: string;
  Created: number;
  Ports: Array<{ IP?: string; PrivatePort: number; PublicPort?: number; Type: string }>;
  SizeRw?: number;
  SizeRootFs?: number;
  Labels: Record<string, string>;
  State: ContainerState['Status'];
  Status: string;
  HostConfig: { NetworkMode: string; Annotations?: Record<string, string> };
  NetworkSettings: { Networks: Record<string, EndpointSettings> };
  Mounts: MountPoint[];
}

/** POST /containers/{id}/exec body. */
export interface ExecConfig {
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  ConsoleSize?: [number, number] | null;
  DetachKeys?: string;
  Tty?: boolean;
  Env?: string[] | null;
  Cmd: string[];
  Privileged?: boolean;
  User?: string;
  WorkingDir?: string;
}

/** GET /exec/{id}/json. */
export interface ExecInspect {
  CanRemove: boolean;
  DetachKeys: string;
  ID: string;
  Running: boolean;
  ExitCode: number | null;
  ProcessConfig: { privileged: boolean; user: string; tty: boolean; entrypoint: string; arguments: string[] };
  OpenStdin: boolean;
  OpenStderr: boolean;
  OpenStdout: boolean;
  ContainerID: string;
  Pid: number;
}

/** The fields of GET /containers/{id}/stats that the docker CLI reads (CPU %, memory, block, pids, network). */
export interface StatsJSON {
  read: string;
  preread: string;
  pids_stats: { current?: number; limit?: number };
  blkio_stats: { io_service_bytes_recursive: Array<{ major: number; minor: number; op: string; value: number }> | null; [k: string]: unknown };
  num_procs: number;
  storage_stats: Record<string, never>;
  cpu_stats: CpuStats;
  precpu_stats: CpuStats;
  memory_stats: { usage?: number; max_usage?: number; stats?: Record<string, number>; failcnt?: number; limit?: number };
  name: string;
  id: string;
  networks?: Record<string, { rx_bytes: number; rx_packets: number; rx_errors: number; rx_dropped: number; tx_bytes: number; tx_packets: number; tx_errors: number; tx_dropped: number }>;
  /** Berth's own: log entries the shim dropped (a write failed), over the container's life. */
  berth?: { log_dropped: number };
}

export interface CpuStats {
  cpu_usage: { total_usage: number; percpu_usage?: number[]; usage_in_kernelmode: number; usage_in_usermode: number };
  system_cpu_usage?: number;
  online_cpus?: number;
  throttling_data: { periods: number; throttled_periods: number; throttled_time: number };
}

/** One line of /events (Docker's events message). */
export interface EventMessage {
  /** Docker's types, and Berth's `task` (lifecycle task events, sent only to clients that filter on `type=task`). */
  Type: 'container' | 'image' | 'volume' | 'network' | 'daemon' | 'plugin' | 'service' | 'node' | 'secret' | 'config' | 'task';
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: 'local' | 'swarm';
  time: number;
  timeNano: number;
  // Pre-1.22 fields docker still sends for containers.
  status?: string;
  id?: string;
  from?: string;
}

/** A filesystem entry's stat, as the X-Docker-Container-Path-Stat header carries it (base64 JSON). */
export interface PathStat { name: string; size: number; mode: number; mtime: string; linkTarget: string }

// --- services ---------------------------------------------------------------------------------

export type WaitCondition = 'not-running' | 'next-exit' | 'removed';

/** Hijacked attach/exec plumbing: the route gives the engine the client's raw stream. */
export interface StreamAttach {
  /** The client connection after the upgrade (stdin from it, output to it). */
  conn: Duplex;
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  /** Docker's detach key sequence (already parsed), or undefined for none. */
  detachKeys?: Buffer;
}

export interface LogOptions {
  follow?: boolean;
  stdout?: boolean;
  stderr?: boolean;
  /** Unix seconds (with fraction), 0 = no bound. */
  since?: number;
  until?: number;
  timestamps?: boolean;
  /** 'all' or a number of lines from the end. */
  tail?: number | 'all';
}

/**
 * One log entry: `text` exactly as the process wrote it (with its newline, when it had one; a
 * line longer than 16 KiB comes in several entries), `time` the json-file RFC 3339 nano
 * timestamp. The route prepends `time + ' '` itself when `timestamps` was asked for, then frames.
 */
export interface LogLine { stream: 'stdout' | 'stderr'; text: Buffer; time: string }

/** POST /commit's parameters. */
export interface CommitRequest {
  /** The full name to give the image (`docker.io/library/img:1`). */
  ref?: string;
  comment?: string;
  author?: string;
  /** Freeze a running container while its changes are read. */
  pause: boolean;
  /** Dockerfile instructions (`ENV A=b`), as `docker import --change`. */
  changes: string[];
  /** The request's Config: replaces the container's, which fills what it leaves empty. */
  config?: ContainerConfig;
}

export interface ContainerService {
  create(req: ContainerCreateRequest, opts: { name?: string; platform?: string }): Promise<{ Id: string; Warnings: string[] }>;
  /** The trace of the container's last start (through exec and, once it ended, exit); `not-found` when it never started. */
  startTrace(ref: string): Promise<{ id: string; traceId: string; spans: SpanData[] }>;
  /** Resolves false (HTTP 304) when already running. */
  start(ref: string): Promise<boolean>;
  /** Resolves false (HTTP 304) when not running. */
  stop(ref: string, opts: { signal?: string; timeout?: number }): Promise<boolean>;
  restart(ref: string, opts: { signal?: string; timeout?: number }): Promise<void>;
  kill(ref: string, signal?: string): Promise<void>;
  wait(ref: string, condition: WaitCondition, signal?: AbortSignal): Promise<{ StatusCode: number; Error?: { Message: string } | null }>;
  pause(ref: string): Promise<void>;
  unpause(ref: string): Promise<void>;
  rename(ref: string, newName: string): Promise<void>;
  remove(ref: string, opts: { force?: boolean; volumes?: boolean; link?: boolean }): Promise<void>;
  list(opts: { all?: boolean; limit?: number; size?: boolean; filters?: Record<string, string[]> }): Promise<ContainerSummary[]>;
  inspect(ref: string, opts?: { size?: boolean }): Promise<ContainerInspect>;
  top(ref: string, psArgs?: string): Promise<{ Titles: string[]; Processes: string[][] }>;
  logs(ref: string, opts: LogOptions, signal: AbortSignal): AsyncIterable<LogLine>;
  /** Whether the container has a tty (logs and attach are then raw, not stdcopy-framed). */
  isTty(ref: string): Promise<boolean>;
  attach(ref: string, a: StreamAttach, opts: { logs?: boolean; stream?: boolean }): Promise<void>;
  resize(ref: string, height: number, width: number): Promise<void>;
  stats(ref: string, opts: { stream: boolean; oneShot?: boolean }, signal: AbortSignal): AsyncIterable<StatsJSON>;
  update(ref: string, resources: HostConfig): Promise<{ Warnings: string[] }>;
  changes(ref: string): Promise<Array<{ Path: string; Kind: 0 | 1 | 2 }>>;
  export(ref: string): Promise<Readable>;
  /** `docker commit`: a new image from the container's image and its changes; the image id. */
  commit(ref: string, opts: CommitRequest): Promise<{ Id: string }>;
  statPath(ref: string, path: string): Promise<PathStat>;
  getArchive(ref: string, path: string): Promise<{ stat: PathStat; stream: Readable }>;
  putArchive(ref: string, path: string, tar: Readable, opts: { noOverwriteDirNonDir?: boolean; copyUIDGID?: boolean }): Promise<void>;
  prune(filters: Record<string, string[]>): Promise<{ ContainersDeleted: string[] | null; SpaceReclaimed: number }>;

  execCreate(ref: string, cfg: ExecConfig): Promise<{ Id: string }>;
  /** Detached: resolves once started. Attached: resolves when the exec ends and its output is flushed. */
  execStart(execId: string, opts: { detach: boolean; tty?: boolean; consoleSize?: [number, number] }, a?: StreamAttach): Promise<void>;
  execResize(execId: string, height: number, width: number): Promise<void>;
  execInspect(execId: string): Promise<ExecInspect>;
}

/** The engine's event bus (GET /events and `berth events`). */
export interface EventService {
  publish(e: Omit<EventMessage, 'time' | 'timeNano' | 'scope'>): void;
  /** Past events in [since, until] then, unless until is set, live ones, until `signal` fires. */
  subscribe(opts: { since?: number; until?: number; filters?: Record<string, string[]> }, signal: AbortSignal): AsyncIterable<EventMessage>;
}

/** What a /system/df asks for (its `type` parameters). */
export interface DfKinds { container: boolean; image: boolean; volume: boolean; 'build-cache': boolean }
