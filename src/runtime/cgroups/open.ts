// Picks the cgroup manager for this host: reads the mount table once, finds v1 hierarchies or the v2 unified mount, resolves the container's path in each.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { errUnavailable } from '../../common/errors.js';
import type { CgroupManager, CgroupOptions } from './cgroups.js';
import { parseCgroupMounts, parseSelfCgroup, type CgroupMount } from './mountinfo.js';
import { normalizeCgroupsPath, resolveInHierarchy, type HierarchyMount } from './path.js';
import { V1CgroupManager } from './v1/manager.js';
import { V2CgroupManager } from './v2/manager.js';

/** Where cgroup filesystems are mounted on a normal host. */
export const DEFAULT_CGROUP_ROOT = '/sys/fs/cgroup';

/** A v1 hierarchy: its controllers (`['cpu','cpuacct']`, `['name=systemd']`) and where it is. */
export interface V1Hierarchy extends HierarchyMount {
  controllers: string[];
}

/** The host's cgroup layout, as openCgroups sees it. */
export type CgroupLayout =
  | {
      version: 1;
      hierarchies: V1Hierarchy[];
      /** A hybrid host's cgroup2 mount (systemd puts it at /sys/fs/cgroup/unified). Not used for
       *  limits: v1 controllers live in their own hierarchies, and on such hosts it usually holds
       *  no controllers (or only ones, like hugetlb here, that v1 does not have). */
      hybridUnified?: HierarchyMount;
    }
  | { version: 2; unified: HierarchyMount };

let cachedLayout: CgroupLayout | undefined;

/** Move a mount point under a test root: `/sys/fs/cgroup/memory` -> `<root>/memory`. */
function relocate(mountpoint: string, root: string): string {
  if (root === DEFAULT_CGROUP_ROOT) return mountpoint;
  if (mountpoint === DEFAULT_CGROUP_ROOT) return root;
  if (mountpoint.startsWith(DEFAULT_CGROUP_ROOT + '/')) return join(root, mountpoint.slice(DEFAULT_CGROUP_ROOT.length + 1));
  return mountpoint;
}

/** Mounts under the usual place first: a hierarchy may also be mounted elsewhere (bind mounts). */
function preferDefault(mounts: CgroupMount[]): CgroupMount[] {
  const under = (m: CgroupMount) => m.mountpoint === DEFAULT_CGROUP_ROOT || m.mountpoint.startsWith(DEFAULT_CGROUP_ROOT + '/');
  return [...mounts.filter(under), ...mounts.filter((m) => !under(m))];
}

/**
 * Work out the cgroup layout from the mount table and the caller's /proc/self/cgroup.
 * v1 is chosen when any v1 hierarchy with a real controller is mounted (a hybrid host's
 * cgroup2 mount is recorded but ignored); otherwise the cgroup2 mount makes it v2.
 * Without the seams in `opts`, the result for this process is computed once and cached.
 */
export function detectCgroupLayout(opts: Pick<CgroupOptions, 'root' | 'selfCgroup' | 'mountinfo'> = {}): CgroupLayout {
  const seams = opts.root !== undefined || opts.selfCgroup !== undefined || opts.mountinfo !== undefined;
  if (!seams && cachedLayout) return cachedLayout;
  const root = opts.root ?? DEFAULT_CGROUP_ROOT;
  const mounts = preferDefault(parseCgroupMounts(opts.mountinfo ?? readFileSync('/proc/self/mountinfo', 'utf8')));
  const self = parseSelfCgroup(opts.selfCgroup ?? readFileSync('/proc/self/cgroup', 'utf8'));

  const hierarchies: V1Hierarchy[] = [];
  for (const entry of self) {
    if (entry.hierarchyId === 0 || entry.controllers.length === 0) continue;
    const m = mounts.find((mt) => mt.fsType === 'cgroup' && entry.controllers.every((c) => mt.superOptions.includes(c)));
    // A hierarchy the process is in but that is mounted nowhere cannot be used; skip it.
    if (!m) continue;
    hierarchies.push({ controllers: entry.controllers, mountpoint: relocate(m.mountpoint, root), mountRoot: m.root, selfPath: entry.path });
  }
  const v2Self = self.find((e) => e.hierarchyId === 0)?.path ?? '/';
  const v2Mount = mounts.find((m) => m.fsType === 'cgroup2');
  const unified: HierarchyMount | undefined = v2Mount
    ? { mountpoint: relocate(v2Mount.mountpoint, root), mountRoot: v2Mount.root, selfPath: v2Self }
    : undefined;

  let layout: CgroupLayout;
  if (hierarchies.some((h) => h.controllers.some((c) => !c.startsWith('name=')))) {
    layout = { version: 1, hierarchies, ...(unified ? { hybridUnified: unified } : {}) };
  } else if (unified) {
    layout = { version: 2, unified };
  } else if (existsSync(join(root, 'cgroup.controllers'))) {
    // No cgroup mount listed but a cgroup2 root at hand (a test tree given only `root`).
    layout = { version: 2, unified: { mountpoint: root, mountRoot: '/', selfPath: v2Self } };
  } else {
    throw errUnavailable(`cgroups: no usable cgroup v1 hierarchy or cgroup2 mount found (root ${root})`);
  }
  if (!seams) cachedLayout = layout;
  return layout;
}

/** Options beyond CgroupOptions. */
export interface OpenExtraOptions {
  /** v2: controllers to enable in parents' cgroup.subtree_control (default: every available one). */
  enableControllers?: string[];
}

/**
 * Open the cgroup manager for a container: detects v1 or v2, validates and resolves the path
 * (absent = `berth/<id>` under the caller's cgroup; systemd `slice:prefix:name` converted).
 * Nothing is created until `create()`.
 */
export function openCgroups(opts: CgroupOptions, extra: OpenExtraOptions = {}): CgroupManager {
  const layout = detectCgroupLayout(opts);
  const cg = normalizeCgroupsPath(opts.path, opts.id);
  if (layout.version === 2) {
    const r = resolveInHierarchy(cg, layout.unified);
    return new V2CgroupManager({
      // Resolved to absolute, so reopening with `path` from another cgroup finds the same dir.
      path: r.cgPath,
      mountpoint: layout.unified.mountpoint,
      ...r,
      ...(extra.enableControllers ? { enableControllers: extra.enableControllers } : {}),
    });
  }
  const targets = layout.hierarchies.map((h) => ({ controllers: h.controllers, mountpoint: h.mountpoint, ...resolveInHierarchy(cg, h) }));
  // A relative path becomes absolute when it lands at the same cgroup path in every hierarchy,
  // so a later command run from another cgroup reopens the same dirs. When the caller sits at
  // different places per hierarchy no single path says it, and it stays relative.
  const cgPaths = new Set(targets.map((t) => t.cgPath));
  const [only] = cgPaths;
  return new V1CgroupManager({
    path: cgPaths.size === 1 && only !== undefined ? only : cg.path,
    targets,
  });
}
