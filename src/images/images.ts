// The image service: names -> images, Docker's list/inspect/history/tag/remove, unpack on demand.
//
// An image is identified by its config digest (Docker's image id); names are image records
// (`docker.io/library/busybox:latest`, or `repo@sha256:...` for digest references), several of
// which may point at the same image. Removing the last name of an image leaves its blobs and
// snapshots to GC, which runs right after when the service has one.
import { errConflict, errInvalid, errNotFound, isNotFound } from '../common/errors.js';
import type { GarbageCollector } from './gc.js';
import { fmtPlatform, hostPlatform } from './manifest.js';
import { familiarString, isIdLike, normalize, parseReference, repoName } from './reference.js';
import { resolveImage, type ResolvedImage } from './resolve.js';
import type { ContentStore, Descriptor, ImageRecord, ImageStore, Platform, Snapshotter } from './types.js';
import { SNAPSHOT_LABEL_UNCOMPRESSED_SIZE, unpackImage } from './unpack.js';
import type { WhiteoutMode } from './layer-io.js';

export interface ImageServiceOptions {
  content: ContentStore;
  snapshotter: Snapshotter;
  store: ImageStore;
  /** Default: 'overlay' for the overlayfs snapshotter, 'native' otherwise. */
  whiteouts?: WhiteoutMode;
  /** The platform images are resolved for (default: the host). */
  platform?: Platform;
  /** True if a container (running or not) uses the image; remove refuses then unless forced. */
  isInUse?: (imageId: string) => boolean | Promise<boolean>;
  /** When set, loads and imports run under its hold and removals collect right after. */
  gc?: GarbageCollector;
}

/** A resolved image with all its names. */
export interface Image extends ResolvedImage {
  names: string[];
  records: ImageRecord[];
}

/** `docker images` JSON (GET /images/json). */
export interface ImageSummary {
  Id: string;
  ParentId: string;
  RepoTags: string[];
  RepoDigests: string[];
  Created: number;
  Size: number;
  SharedSize: number;
  Labels: Record<string, string>;
  Containers: number;
}

/** `docker rmi` JSON (DELETE /images/{name}). */
export type DeleteItem = { Untagged: string } | { Deleted: string };

/** `docker history` JSON (GET /images/{name}/history). */
export interface HistoryItem {
  Id: string;
  Created: number;
  CreatedBy: string;
  Tags: string[] | null;
  Size: number;
  Comment: string;
}

/** Record names for images with no name left, so they stay reachable by id (Docker's dangling images). */
export const DANGLING_PREFIX = 'berth-dangling@';

const unixSeconds = (s?: string) => (s ? Math.floor(Date.parse(s) / 1000) : 0);

/** The facade over content, snapshots and records that the API and the engine use. */
export class ImageService {
  readonly content: ContentStore;
  readonly snapshotter: Snapshotter;
  readonly store: ImageStore;
  readonly platform: Platform;
  readonly whiteouts: WhiteoutMode;
  readonly gc?: GarbageCollector;
  private readonly isInUse: (id: string) => boolean | Promise<boolean>;

  constructor(o: ImageServiceOptions) {
    this.content = o.content;
    this.snapshotter = o.snapshotter;
    this.store = o.store;
    this.platform = o.platform ?? hostPlatform();
    this.whiteouts = o.whiteouts ?? (o.snapshotter.name === 'overlayfs' ? 'overlay' : 'native');
    this.isInUse = o.isInUse ?? (() => false);
    this.gc = o.gc;
  }

  /** Run `fn` so that no GC sweeps what it writes before it names it. */
  hold<T>(fn: () => Promise<T>): Promise<T> {
    return this.gc ? this.gc.hold(fn) : fn();
  }

  /** Every record resolved; records that cannot be resolved for this platform are left out. */
  private async resolveAll(): Promise<Array<{ record: ImageRecord; image: ResolvedImage }>> {
    const out: Array<{ record: ImageRecord; image: ResolvedImage }> = [];
    for (const record of await this.store.list()) {
      try {
        out.push({ record, image: await resolveImage(this.content, record.target, this.platform) });
      } catch (e) {
        if (isNotFound(e) || (e as { code?: string }).code === 'invalid-argument') continue;
        throw e;
      }
    }
    return out;
  }

  private group(all: Array<{ record: ImageRecord; image: ResolvedImage }>): Image[] {
    const byId = new Map<string, Image>();
    for (const { record, image } of all) {
      const g = byId.get(image.id);
      if (g) {
        g.names.push(record.name);
        g.records.push(record);
      } else byId.set(image.id, { ...image, names: [record.name], records: [record] });
    }
    return [...byId.values()];
  }

  /**
   * Find an image by name (`busybox`, `busybox:1`, `repo@sha256:...`) or by id (`sha256:<hex>`,
   * or a unique hex prefix as `docker rmi 3f5` takes). not-found when nothing matches.
   */
  async get(ref: string): Promise<Image> {
    const all = await this.resolveAll();
    const images = this.group(all);
    let name: string | undefined;
    try {
      name = normalize(ref);
    } catch (e) {
      if (!isIdLike(ref)) throw e;
    }
    if (name !== undefined) {
      const hit = images.find((i) => i.names.includes(name!));
      if (hit) return hit;
      // repo@digest also matches a tagged record of that repository whose target has the digest.
      const r = parseReference(ref);
      if (r.digest) {
        const byDigest = images.find((i) => i.records.some((rec) => rec.target.digest === r.digest && safeRepo(rec.name) === repoName(r)));
        if (byDigest) return byDigest;
      }
    }
    if (isIdLike(ref)) {
      const hex = ref.replace(/^sha256:/, '');
      const hits = images.filter((i) => i.id.slice(7).startsWith(hex));
      if (hits.length === 1) return hits[0];
      if (hits.length > 1) throw errInvalid(`image id prefix "${ref}" is ambiguous (${hits.length} images)`);
    }
    // A record that exists but does not resolve deserves its own reason.
    if (name !== undefined) {
      try {
        const rec = await this.store.get(name);
        await resolveImage(this.content, rec.target, this.platform);
      } catch (e) {
        if (!isNotFound(e) || !/^image "/.test((e as Error).message)) throw errNotFound(`image "${ref}": ${(e as Error).message}`, e);
      }
    }
    throw errNotFound(`No such image: ${ref}`);
  }

  /** All images, `docker images` style (one entry per image id). */
  async list(): Promise<ImageSummary[]> {
    const out: ImageSummary[] = [];
    for (const img of this.group(await this.resolveAll())) {
      const { tags, digests } = splitNames(img.names, img.records);
      out.push({
        Id: img.id,
        ParentId: '',
        RepoTags: tags,
        RepoDigests: digests,
        Created: unixSeconds(img.config.created),
        Size: await this.size(img),
        SharedSize: -1,
        Labels: img.config.config?.Labels ?? {},
        Containers: -1,
      });
    }
    return out.sort((a, b) => b.Created - a.Created || a.Id.localeCompare(b.Id));
  }

  /** True if every layer of the image is a committed snapshot. */
  async isUnpacked(img: ResolvedImage): Promise<boolean> {
    const top = img.chainIds.at(-1);
    if (!top) return true;
    try {
      return (await this.snapshotter.stat(top)).kind === 'committed';
    } catch {
      return false;
    }
  }

  /** Uncompressed size from the unpacked layers' labels, else the compressed layer sizes. */
  private async size(img: ResolvedImage): Promise<number> {
    let total = 0;
    for (let i = 0; i < img.chainIds.length; i++) {
      let n: number | undefined;
      try {
        const s = await this.snapshotter.stat(img.chainIds[i]);
        const v = Number(s.labels[SNAPSHOT_LABEL_UNCOMPRESSED_SIZE]);
        if (Number.isFinite(v)) n = v;
      } catch {
        // not unpacked
      }
      total += n ?? img.manifest.layers[i].size;
    }
    return total;
  }

  /** Unpack the image's layers into snapshots (no-op for layers already there); returns the top chain id. */
  async unpack(refOrImage: string | ResolvedImage): Promise<string | undefined> {
    const img = typeof refOrImage === 'string' ? await this.get(refOrImage) : refOrImage;
    return this.hold(() => unpackImage(this.content, this.snapshotter, img.manifest, img.config, { whiteouts: this.whiteouts }));
  }

  /** Docker's image inspect JSON (GET /images/{name}/json). */
  async inspect(ref: string): Promise<Record<string, unknown>> {
    const img = await this.get(ref);
    const { tags, digests } = splitNames(img.names, img.records);
    const c = img.config;
    const lastTag = img.records.map((r) => r.updatedAt.getTime()).reduce((a, b) => Math.max(a, b), 0);
    return {
      Id: img.id,
      RepoTags: tags,
      RepoDigests: digests,
      Parent: '',
      Comment: c.history?.at(-1)?.comment ?? '',
      Created: c.created ?? '',
      DockerVersion: (c as { docker_version?: string }).docker_version ?? '',
      Author: c.author ?? '',
      Config: dockerConfig(c.config),
      Architecture: c.architecture,
      ...(c.variant ? { Variant: c.variant } : {}),
      Os: c.os,
      ...(c['os.version'] ? { OsVersion: c['os.version'] } : {}),
      Size: await this.size(img),
      GraphDriver: await this.graphDriver(img),
      RootFS: { Type: 'layers', Layers: [...c.rootfs.diff_ids] },
      Metadata: { LastTagTime: lastTag ? new Date(lastTag).toISOString() : '0001-01-01T00:00:00Z' },
    };
  }

  private async graphDriver(img: ResolvedImage): Promise<{ Name: string; Data: Record<string, string> | null }> {
    if (!(await this.isUnpacked(img)) || img.chainIds.length === 0) return { Name: this.snapshotter.name, Data: null };
    const dirs = img.chainIds.map((c) => this.snapshotter.dir(c)).reverse();
    if (this.snapshotter.name !== 'overlayfs') return { Name: this.snapshotter.name, Data: { Dir: dirs[0] } };
    return { Name: this.snapshotter.name, Data: { UpperDir: dirs[0], ...(dirs.length > 1 ? { LowerDir: dirs.slice(1).join(':') } : {}) } };
  }

  /** Docker's history JSON, newest first; the top entry carries the image id and its tags. */
  async history(ref: string): Promise<HistoryItem[]> {
    const img = await this.get(ref);
    const hist = img.config.history ?? [];
    let layer = 0;
    const items: HistoryItem[] = hist.map((h) => {
      let size = 0;
      if (!h.empty_layer) {
        size = img.manifest.layers[layer] ? img.manifest.layers[layer].size : 0;
        layer++;
      }
      return { Id: '<missing>', Created: unixSeconds(h.created), CreatedBy: h.created_by ?? '', Tags: null, Size: size, Comment: h.comment ?? '' };
    });
    // Prefer uncompressed sizes where the layer is unpacked.
    layer = 0;
    for (let i = 0; i < hist.length; i++) {
      if (hist[i].empty_layer) continue;
      const chain = img.chainIds[layer++];
      if (!chain) continue;
      try {
        const v = Number((await this.snapshotter.stat(chain)).labels[SNAPSHOT_LABEL_UNCOMPRESSED_SIZE]);
        if (Number.isFinite(v)) items[i].Size = v;
      } catch {
        // not unpacked: the compressed size stays
      }
    }
    items.reverse();
    if (items.length === 0) items.push({ Id: img.id, Created: unixSeconds(img.config.created), CreatedBy: '', Tags: null, Size: 0, Comment: '' });
    items[0].Id = img.id;
    const { tags } = splitNames(img.names, img.records);
    items[0].Tags = tags.length ? tags : null;
    return items;
  }

  /** Point `target` (normalized) at the image `source` names; returns the normalized target. */
  async tag(source: string, target: string): Promise<string> {
    const img = await this.get(source);
    const r = parseReference(target);
    if (r.digest) throw errInvalid(`tag "${target}": a tag cannot contain a digest`);
    const name = normalize(target);
    // The record points at what the source's record points at (an index stays an index).
    const from = img.records.find((x) => x.name === safeNormalize(source)) ?? img.records[0];
    await this.setName(name, from.target);
    return name;
  }

  /**
   * Create or move the record `name` to `target` (used by tag, load, import, pull). An image that
   * loses its last name this way stays as a dangling record, reachable by id, as Docker keeps it;
   * a dangling record of `target` goes, now that it has a name.
   */
  async setName(name: string, target: Descriptor, labels: Record<string, string> = {}): Promise<ImageRecord> {
    const full = name.startsWith(DANGLING_PREFIX) ? name : normalize(name);
    let old: ImageRecord | undefined;
    try {
      old = await this.store.get(full);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    const rec = await this.store.put({ name: full, target, labels });
    if (old && old.target.digest !== target.digest) {
      const others = (await this.store.list()).filter((r) => r.target.digest === old!.target.digest);
      if (others.length === 0) await this.store.put({ name: `${DANGLING_PREFIX}${old.target.digest}`, target: old.target, labels: {} });
    }
    if (!full.startsWith(DANGLING_PREFIX)) await this.store.delete(`${DANGLING_PREFIX}${target.digest}`).catch(() => undefined);
    return rec;
  }

  /**
   * `docker rmi`: by name, untag it and delete the image when no tag is left; by id, delete the image
   * with all its names (refused when it has several repositories unless forced). Refused with
   * conflict when a container uses the image, unless forced.
   */
  async remove(ref: string, opts: { force?: boolean } = {}): Promise<DeleteItem[]> {
    const img = await this.get(ref);
    const items: DeleteItem[] = [];
    let byName: string | undefined;
    try {
      const n = normalize(ref);
      if (img.names.includes(n)) byName = n;
    } catch {
      // an id
    }
    const tagNames = img.names.filter((n) => !n.includes('@'));
    const realNames = img.names.filter((n) => !n.startsWith(DANGLING_PREFIX));
    let untag: string[];
    let deleteImage: boolean;
    if (byName !== undefined) {
      const otherTags = tagNames.filter((n) => n !== byName);
      deleteImage = otherTags.length === 0;
      // The last tag takes the image's digest references with it, as Docker does.
      untag = deleteImage ? [byName, ...img.names.filter((n) => n !== byName)] : [byName];
    } else {
      const repos = new Set(realNames.map(safeRepo));
      if (repos.size > 1 && !opts.force) {
        throw errConflict(`conflict: unable to delete ${shortId(img.id)} (must be forced) - image is referenced in multiple repositories`);
      }
      untag = [...img.names];
      deleteImage = true;
    }
    if (deleteImage && !opts.force && (await this.isInUse(img.id))) {
      throw errConflict(`conflict: unable to remove image ${byName ? familiarString(byName) : shortId(img.id)} - image is being used by a container (${shortId(img.id)})`);
    }
    for (const n of untag) {
      await this.store.delete(n).catch((e: unknown) => {
        if (!isNotFound(e)) throw e;
      });
      if (!n.startsWith(DANGLING_PREFIX)) items.push({ Untagged: familiarString(n) });
    }
    if (deleteImage) {
      items.push({ Deleted: img.id });
      if (this.gc) await this.gc.collect();
    }
    return items;
  }

  /** `platform` formatted, for messages. */
  get platformString(): string {
    return fmtPlatform(this.platform);
  }
}

const shortId = (id: string) => id.replace(/^sha256:/, '').slice(0, 12);

function safeNormalize(s: string): string | undefined {
  try {
    return normalize(s);
  } catch {
    return undefined;
  }
}

function safeRepo(name: string): string {
  try {
    return repoName(parseReference(name));
  } catch {
    return name;
  }
}

/** RepoTags from tag names; RepoDigests from digest names and from the targets of tagged names. */
function splitNames(allNames: string[], records: ImageRecord[]): { tags: string[]; digests: string[] } {
  const names = allNames.filter((n) => !n.startsWith(DANGLING_PREFIX));
  const tags = names.filter((n) => !n.includes('@')).map(familiarString).sort();
  const digests = new Set<string>();
  for (const n of names) {
    if (!n.includes('@')) continue;
    const r = parseReference(n);
    digests.add(familiarString(`${repoName(r)}@${r.digest}`));
  }
  // A pulled image's tag record carries its repository digest as Docker's RepoDigests do.
  for (const r of records) if (r.labels['berth.io/repo-digest'] === 'true') digests.add(familiarString(`${safeRepo(r.name)}@${r.target.digest}`));
  return { tags, digests: [...digests].sort() };
}

/** The config as Docker's inspect shows it: its fields, with Docker's empty defaults. */
function dockerConfig(c: Record<string, unknown> | undefined): Record<string, unknown> {
  return {
    Hostname: '', Domainname: '', User: '', AttachStdin: false, AttachStdout: false, AttachStderr: false,
    Tty: false, OpenStdin: false, StdinOnce: false, Env: null, Cmd: null, Image: '', Volumes: null,
    WorkingDir: '', Entrypoint: null, OnBuild: null, Labels: null,
    ...(c ?? {}),
  };
}
