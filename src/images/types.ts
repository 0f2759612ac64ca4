// The image domain's interfaces, in one place: content store, snapshotter, image store.
//
// Lifecycle of an image, as images/ uses these:
//   const d = await content.writeBlob(layerTar, { mediaType });         // blobs by digest
//   await snapshots.prepare('extract-1', parentChainId); apply(tar) ...;  // unpack a layer
//   await snapshots.commit(chainId, 'extract-1');                        // committed by chain id
//   await images.put({ name: 'busybox:latest', target: manifestDesc });  // a name -> a manifest
//   const mounts = await snapshots.prepare(containerId, topChainId);     // a container's rootfs
//   ... await gc.collect();  // whatever no image or container references goes

/** An OCI content descriptor (image-spec descriptor.md). */
export interface Descriptor {
  mediaType: string;
  digest: string; // sha256:<hex>
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  platform?: Platform;
}

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
}

export interface ContentInfo {
  digest: string;
  size: number;
  createdAt: Date;
  /** GC and ownership labels (containerd's `containerd.io/gc.ref.*` role). */
  labels: Record<string, string>;
}

/** An ingest in progress: resumable by `ref` until committed or aborted. */
export interface ContentWriter {
  readonly ref: string;
  /** Bytes written so far (a resumed ingest starts where the last one stopped). */
  readonly offset: number;
  write(chunk: Uint8Array): Promise<void>;
  /** Verify size and digest (when given), then move the blob into place atomically. */
  commit(expected?: { size?: number; digest?: string }, labels?: Record<string, string>): Promise<string>;
  abort(): Promise<void>;
}

/** Content-addressable blob storage with atomic, verified ingest. */
export interface ContentStore {
  has(digest: string): Promise<boolean>;
  info(digest: string): Promise<ContentInfo>;
  /** The whole blob; verified against its digest when `verify` is set. */
  read(digest: string, opts?: { verify?: boolean }): Promise<Buffer>;
  /** A stream of the blob from `offset`. */
  reader(digest: string, offset?: number): NodeJS.ReadableStream;
  /** The file holding a committed blob (for zero-copy uses such as tar apply). */
  path(digest: string): string;
  writer(ref: string, expected?: { size?: number; digest?: string }): Promise<ContentWriter>;
  writeBlob(data: Uint8Array, opts?: { mediaType?: string; labels?: Record<string, string> }): Promise<Descriptor>;
  setLabels(digest: string, labels: Record<string, string>): Promise<void>;
  delete(digest: string): Promise<void>;
  list(): Promise<ContentInfo[]>;
  /** Ingests not committed (interrupted pulls), for resume and GC. */
  listIngests(): Promise<Array<{ ref: string; offset: number; updatedAt: Date }>>;
  abortIngest(ref: string): Promise<void>;
}

/** A mount as the runtime wants it (an OCI `mounts` entry without the destination). */
export interface Mount {
  type: string;
  source: string;
  options: string[];
}

export type SnapshotKind = 'active' | 'view' | 'committed';

export interface SnapshotInfo {
  name: string;
  parent?: string;
  kind: SnapshotKind;
  createdAt: Date;
  labels: Record<string, string>;
}

/** containerd's snapshotter model: committed layers by name (chain id), active ones by key. */
export interface Snapshotter {
  /** The mechanism, as shown in `GraphDriver.Name` (`overlayfs`, `native`). */
  readonly name: string;
  stat(key: string): Promise<SnapshotInfo>;
  /** A new writable snapshot on top of `parent`; its mounts make the rootfs. */
  prepare(key: string, parent?: string, labels?: Record<string, string>): Promise<Mount[]>;
  /** A read-only view of `parent`. */
  view(key: string, parent?: string, labels?: Record<string, string>): Promise<Mount[]>;
  mounts(key: string): Promise<Mount[]>;
  /** Make the active snapshot `key` a committed one named `name`. */
  commit(name: string, key: string, labels?: Record<string, string>): Promise<void>;
  /** Remove a snapshot; one with children is refused. */
  remove(key: string): Promise<void>;
  list(): Promise<SnapshotInfo[]>;
  /** Disk usage of one snapshot's own layer. */
  usage(key: string): Promise<{ size: number; inodes: number }>;
  /** The directory holding the upper (active) or the layer (committed) — for diff and apply. */
  dir(key: string): string;
}

/** An image record: a name (`docker.io/library/busybox:latest` or a digest ref) -> a manifest or index. */
export interface ImageRecord {
  name: string;
  target: Descriptor;
  createdAt: Date;
  updatedAt: Date;
  labels: Record<string, string>;
}

export interface ImageStore {
  get(name: string): Promise<ImageRecord>;
  list(filter?: (r: ImageRecord) => boolean): Promise<ImageRecord[]>;
  put(record: Omit<ImageRecord, 'createdAt' | 'updatedAt'> & { createdAt?: Date }): Promise<ImageRecord>;
  delete(name: string): Promise<void>;
}
