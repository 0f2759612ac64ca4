// Parsers for the two kernel tables that describe where cgroups are: mountinfo and /proc/<pid>/cgroup.

/** One cgroup filesystem mount, from /proc/self/mountinfo (proc(5)). */
export interface CgroupMount {
  /** `cgroup` (v1) or `cgroup2`. */
  fsType: 'cgroup' | 'cgroup2';
  /** The cgroup inside the hierarchy that is mounted here (field 4, `root`); `/` on a host. */
  root: string;
  /** Where it is mounted (field 5). */
  mountpoint: string;
  /** Super options (`rw,cpu,cpuacct`, `rw,xattr,name=systemd`), split on commas. */
  superOptions: string[];
}

/** One line of /proc/<pid>/cgroup: `hierarchy-id:controller-list:path` (cgroups(7)). */
export interface SelfCgroupEntry {
  /** 0 for the v2 unified hierarchy. */
  hierarchyId: number;
  /** `['cpu', 'cpuacct']`, `['name=systemd']`; empty for v2. */
  controllers: string[];
  /** The process's cgroup, relative to the hierarchy root (or to its cgroup namespace root). */
  path: string;
}

/** Undo mountinfo's octal escapes (`\040` for a space) in paths. */
function unescapeMountPath(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** The cgroup and cgroup2 mounts in a mountinfo text, in table order. Malformed lines are skipped. */
export function parseCgroupMounts(mountinfo: string): CgroupMount[] {
  const out: CgroupMount[] = [];
  for (const line of mountinfo.split('\n')) {
    const fields = line.trim().split(' ');
    // Optional fields (shared:N, master:N) come between field 6 and the lone `-` separator.
    const sep = fields.indexOf('-', 6);
    if (sep < 0 || fields.length < sep + 4) continue;
    const fsType = fields[sep + 1];
    if (fsType !== 'cgroup' && fsType !== 'cgroup2') continue;
    out.push({
      fsType,
      root: unescapeMountPath(fields[3] ?? '/'),
      mountpoint: unescapeMountPath(fields[4] ?? ''),
      superOptions: (fields[sep + 3] ?? '').split(','),
    });
  }
  return out;
}

/** Parse /proc/<pid>/cgroup text. The path keeps any `:` it contains. */
export function parseSelfCgroup(text: string): SelfCgroupEntry[] {
  const out: SelfCgroupEntry[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (!m) continue;
    out.push({
      hierarchyId: Number(m[1]),
      controllers: m[2] ? m[2].split(',') : [],
      path: m[3] || '/',
    });
  }
  return out;
}
