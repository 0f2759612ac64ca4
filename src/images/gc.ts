// Garbage collection of blobs, snapshots and stale ingests by mark and sweep, and a consistency check.
//
// Roots: image records (-> index -> manifests -> configs and layers, and the chain-id snapshots of
// their layers), snapshots containers use (a callback, or the label berth.io/gc.root, with their
// parents), blobs labelled berth.io/gc.root, and ingests and non-committed snapshots younger than
// a grace period. Writers that create unreferenced objects before naming them (load, import, pull)
// run inside `hold()`, which a collection waits for, so it never sweeps their half-built images.
import { AsyncLocalStorage } from 'node:async_hooks';
import { errorCode, isNotFound } from '../common/errors.js';
import { chainIds, isIndexType, isManifestType, parseConfig, parseIndex } from './manifest.js';
import { referencedBlobs } from './resolve.js';
import type { ContentInfo, ContentStore, Descriptor, ImageStore, SnapshotInfo, Snapshotter } from './types.js';

/** A label that makes a blob or snapshot a GC root (containerd's `containerd.io/gc.root`). */
export const GC_ROOT_LABEL = 'berth.io/gc.root';

/** Optional maintenance hooks the local implementations have. */
interface SnapshotterMaintenance {
  inconsistencies?(): Promise<{ orphanDirs: string[]; missingDirs: string[] }>;
  removeOrphans?(): Promise<string[]>;
}
interface ContentMaintenance {
  orphanLabels?(): Promise<string[]>;
  removeOrphanLabels?(): Promise<string[]>;
}

export interface GcDeps {
  content: ContentStore & ContentMaintenance;
  snapshotter: Snapshotter & SnapshotterMaintenance;
  images: ImageStore;
  /** Snapshot keys containers use (their rootfs); each keeps its parent chain. */
  containerSnapshots?: () => Promise<string[]> | string[];
  /** Ingests and non-committed snapshots younger than this survive (default 1 hour). */
  graceMs?: number;
}

export interface GcResult {
  blobs: string[];
  snapshots: string[];
  ingests: string[];
  orphanDirs: string[];
}

/** What is unreachable from every root (GarbageCollector.unreferenced). */
export interface Garbage {
  snapshots: SnapshotInfo[];
  blobs: ContentInfo[];
  ingests: Array<{ ref: string; offset: number; updatedAt: Date }>;
}

export interface Problem {
  kind: 'missing-blob' | 'bad-image' | 'snapshot-without-dir' | 'dir-without-snapshot' | 'orphan-labels' | 'corrupt-blob';
  object: string;
  message: string;
}

/** A readers-writer gate: many holders at once, or one collection. */
class Gate {
  private holders = 0;
  private exclusive: Promise<void> | null = null;
  private waiters: Array<() => void> = [];

  private readonly inside = new AsyncLocalStorage<true>();

  async shared<T>(fn: () => Promise<T>): Promise<T> {
    // Re-entrant: a holder calling another holder must not queue behind a waiting collection.
    if (this.inside.getStore()) return fn();
    while (this.exclusive) await this.exclusive;
    this.holders++;
    try {
      return await this.inside.run(true, fn);
    } finally {
      this.holders--;
      if (this.holders === 0) this.waiters.splice(0).forEach((w) => w());
    }
  }

  async exclusiveRun<T>(fn: () => Promise<T>): Promise<T> {
    while (this.exclusive) await this.exclusive;
    let release!: () => void;
    this.exclusive = new Promise((r) => (release = r));
    try {
      while (this.holders > 0) await new Promise<void>((r) => this.waiters.push(r));
      return await fn();
    } finally {
      this.exclusive = null;
      release();
    }
  }
}

/** Mark-and-sweep GC over one content store, one snapshotter and the image records. */
export class GarbageCollector {
  private readonly gate = new Gate();
  constructor(private readonly deps: GcDeps) {}

  /** Run `fn` with collections held off (for operations that write before they name). */
  hold<T>(fn: () => Promise<T>): Promise<T> {
    return this.gate.shared(fn);
  }

  /** The blobs and snapshots reachable from the roots. */
  async mark(graceMs = this.deps.graceMs ?? 3600_000): Promise<{ blobs: Set<string>; snapshots: Set<string> }> {
    const { content, snapshotter, images } = this.deps;
    const blobs = new Set<string>();
    const snapshots = new Set<string>();
    const markTarget = async (desc: Descriptor): Promise<void> => {
      await referencedBlobs(content, desc, blobs);
      await this.markChains(desc, snapshots);
    };
    for (const r of await images.list()) await markTarget(r.target);
    for (const b of await content.list()) if (b.labels[GC_ROOT_LABEL]) blobs.add(b.digest);
    const all = await snapshotter.list();
    const byName = new Map(all.map((s) => [s.name, s]));
    const rootKeys = new Set<string>((await this.deps.containerSnapshots?.()) ?? []);
    for (const s of all) {
      if (s.labels[GC_ROOT_LABEL]) rootKeys.add(s.name);
      // An active snapshot just prepared by someone not yet recorded anywhere (a container being created).
      if (s.kind !== 'committed' && Date.now() - s.createdAt.getTime() < graceMs) rootKeys.add(s.name);
    }
    for (const k of rootKeys) {
      for (let cur = byName.get(k); cur && !snapshots.has(cur.name); cur = cur.parent ? byName.get(cur.parent) : undefined) {
        snapshots.add(cur.name);
      }
    }
    // The chain-id snapshots of images keep their ancestors too (a chain id names the whole stack).
    for (const k of [...snapshots]) {
      for (let cur = byName.get(k)?.parent; cur; cur = byName.get(cur)?.parent) snapshots.add(cur);
    }
    return { blobs, snapshots };
  }

  private async markChains(desc: Descriptor, out: Set<string>, depth = 0): Promise<void> {
    const { content } = this.deps;
    if (depth > 4) return;
    let data: Buffer;
    try {
      data = await content.read(desc.digest);
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
    try {
      if (isIndexType(desc.mediaType)) {
        for (const m of parseIndex(data).manifests) await this.markChains(m, out, depth + 1);
      } else if (isManifestType(desc.mediaType)) {
        const m = JSON.parse(data.toString('utf8')) as { config?: Descriptor };
        if (!m.config) return;
        const cfg = parseConfig(await content.read(m.config.digest));
        for (const c of chainIds(cfg.rootfs.diff_ids)) out.add(c);
      }
    } catch (e) {
      // A broken or half-present image marks what it can; check() reports it.
      if (!isNotFound(e) && errorCode(e) !== 'invalid-argument') throw e;
    }
  }

  /**
   * What a collection with this grace would remove, without removing anything: unreachable
   * snapshots (deepest first, so a parent never goes before its children), unreachable blobs, and
   * ingests not written to within the grace. Also what `berthd check` reports as leaks.
   */
  async unreferenced(opts: { graceMs?: number } = {}): Promise<Garbage> {
    const { content, snapshotter } = this.deps;
    const grace = opts.graceMs ?? this.deps.graceMs ?? 3600_000;
    const marked = await this.mark(grace);
    const all = await snapshotter.list();
    const byName = new Map(all.map((s) => [s.name, s]));
    const depth = (n: string) => {
      let d = 0;
      for (let c = byName.get(n)?.parent; c; c = byName.get(c)?.parent) d++;
      return d;
    };
    const snapshots = all.filter((s) => !marked.snapshots.has(s.name)).sort((a, b) => depth(b.name) - depth(a.name));
    const blobs = (await content.list()).filter((b) => !marked.blobs.has(b.digest));
    const ingests = (await content.listIngests()).filter((i) => Date.now() - i.updatedAt.getTime() >= grace);
    return { snapshots, blobs, ingests };
  }

  /** Remove everything not reachable from a root. */
  async collect(opts: { graceMs?: number } = {}): Promise<GcResult> {
    return this.gate.exclusiveRun(async () => {
      const { content, snapshotter } = this.deps;
      const garbage = await this.unreferenced(opts);
      const result: GcResult = { blobs: [], snapshots: [], ingests: [], orphanDirs: [] };
      for (const s of garbage.snapshots) {
        try {
          await snapshotter.remove(s.name);
          result.snapshots.push(s.name);
        } catch (e) {
          if (!isNotFound(e)) throw e;
        }
      }
      for (const b of garbage.blobs) {
        try {
          await content.delete(b.digest);
          result.blobs.push(b.digest);
        } catch (e) {
          if (!isNotFound(e)) throw e;
        }
      }
      for (const i of garbage.ingests) {
        try {
          await content.abortIngest(i.ref);
          result.ingests.push(i.ref);
        } catch (e) {
          // An open writer (locked) is in use: not stale after all.
          if (!isNotFound(e) && errorCode(e) !== 'unavailable') throw e;
        }
      }
      if (snapshotter.removeOrphans) result.orphanDirs = await snapshotter.removeOrphans();
      await content.removeOrphanLabels?.();
      return result;
    });
  }

  /** Report inconsistencies without changing anything; `verifyContent` also rehashes every blob. */
  async check(opts: { verifyContent?: boolean } = {}): Promise<{ ok: boolean; problems: Problem[] }> {
    const { content, snapshotter, images } = this.deps;
    const problems: Problem[] = [];
    for (const r of await images.list()) {
      const missing = new Set<string>();
      try {
        await referencedBlobs(content, r.target, new Set(), missing);
      } catch (e) {
        problems.push({ kind: 'bad-image', object: r.name, message: `image "${r.name}": ${(e as Error).message}` });
      }
      for (const d of missing) problems.push({ kind: 'missing-blob', object: d, message: `image "${r.name}" references ${d}, which is not in the content store` });
    }
    if (snapshotter.inconsistencies) {
      const { orphanDirs, missingDirs } = await snapshotter.inconsistencies();
      for (const d of orphanDirs) problems.push({ kind: 'dir-without-snapshot', object: d, message: `snapshot dir "${d}" has no metadata` });
      for (const k of missingDirs) problems.push({ kind: 'snapshot-without-dir', object: k, message: `snapshot "${k}" has metadata but no dir` });
    }
    if (content.orphanLabels) {
      for (const d of await content.orphanLabels()) problems.push({ kind: 'orphan-labels', object: d, message: `labels of ${d} remain without the blob` });
    }
    if (opts.verifyContent) {
      for (const b of await content.list()) {
        try {
          await content.read(b.digest, { verify: true });
        } catch (e) {
          problems.push({ kind: 'corrupt-blob', object: b.digest, message: (e as Error).message });
        }
      }
    }
    return { ok: problems.length === 0, problems };
  }
}
