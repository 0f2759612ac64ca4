// Test helper: fake cgroup v1 and v2 trees in a temp dir, with just enough kernel behaviour (new-dir files, memsw rule, freeze, subtree_control) for the manager unit tests.
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { setCgroupFsHooks } from './fs.js';

/** A fake tree: where it is, the texts to pass as seams, and every write the managers made. */
export interface FakeTree {
  root: string;
  mountinfo: string;
  selfCgroup: string;
  /** Writes in order, as [path relative to root, value]. */
  writes: Array<[string, string]>;
  /** Read a file, path relative to root. */
  read(rel: string): string;
  /** Write a file as the kernel would have it, path relative to root. */
  put(rel: string, text: string): void;
  /** Remove the tree and the hooks. */
  cleanup(): void;
}

const errno = (code: string) => Object.assign(new Error(code), { code });
const NO_LIMIT = '9223372036854771712';

function fill(dir: string, files: Record<string, string>): void {
  mkdirSync(dir, { recursive: true });
  for (const [f, v] of Object.entries(files)) writeFileSync(join(dir, f), v);
}

/** Removing a cgroup dir: the kernel refuses while it has child cgroups; its files go with it. */
async function fakeRmdir(dir: string): Promise<void> {
  if (!existsSync(dir)) throw errno('ENOENT');
  if (readdirSync(dir, { withFileTypes: true }).some((e) => e.isDirectory())) throw errno('EBUSY');
  rmSync(dir, { recursive: true });
}

/** The files a new v1 cgroup dir gets, per hierarchy mount name. */
function v1Files(hier: string, memsw: boolean): Record<string, string> {
  const base = { 'cgroup.procs': '', tasks: '' };
  switch (hier) {
    case 'cpu':
      return { ...base, 'cpu.shares': '1024', 'cpu.cfs_period_us': '100000', 'cpu.cfs_quota_us': '-1', 'cpu.cfs_burst_us': '0',
        'cpu.rt_period_us': '1000000', 'cpu.rt_runtime_us': '0', 'cpu.idle': '0', 'cpu.stat': 'nr_periods 0\nnr_throttled 0\nthrottled_time 0\n' };
    case 'cpuacct':
      return { ...base, 'cpuacct.usage': '0', 'cpuacct.usage_percpu': '0 0 ', 'cpuacct.stat': 'user 0\nsystem 0\n' };
    case 'cpuset':
      return { ...base, 'cpuset.cpus': '\n', 'cpuset.mems': '\n' };
    case 'memory': {
      const f: Record<string, string> = { ...base, 'memory.limit_in_bytes': NO_LIMIT, 'memory.soft_limit_in_bytes': NO_LIMIT,
        'memory.usage_in_bytes': '0', 'memory.max_usage_in_bytes': '0', 'memory.failcnt': '0', 'memory.swappiness': '60',
        'memory.oom_control': 'oom_kill_disable 0\nunder_oom 0\noom_kill 0\n', 'memory.stat': 'cache 0\nrss 0\n',
        'memory.kmem.tcp.limit_in_bytes': NO_LIMIT };
      if (memsw) Object.assign(f, { 'memory.memsw.limit_in_bytes': NO_LIMIT, 'memory.memsw.usage_in_bytes': '0', 'memory.memsw.max_usage_in_bytes': '0', 'memory.memsw.failcnt': '0' });
      return f;
    }
    case 'devices':
      return { ...base, 'devices.allow': '', 'devices.deny': '', 'devices.list': 'a *:* rwm\n' };
    case 'freezer':
      return { ...base, 'freezer.state': 'THAWED\n' };
    case 'blkio':
      return { ...base, 'blkio.bfq.weight': '100', 'blkio.bfq.weight_device': '', 'blkio.throttle.read_bps_device': '', 'blkio.throttle.write_bps_device': '',
        'blkio.throttle.read_iops_device': '', 'blkio.throttle.write_iops_device': '', 'blkio.throttle.io_service_bytes_recursive': 'Total 0\n',
        'blkio.throttle.io_serviced_recursive': 'Total 0\n' };
    case 'pids':
      return { ...base, 'pids.max': 'max', 'pids.current': '0' };
    default:
      return base;
  }
}

/**
 * A v1 tree laid out like this machine's (separate cpu and cpuacct mounts, a name=systemd
 * hierarchy, a cgroup2 mount holding hugetlb only) with the caller's memory cgroup at
 * `/process_api/abc`. `mountRoots` sets a hierarchy's mountinfo root field (default `/`).
 */
export function makeFakeV1(opts: { memsw?: boolean; mountRoots?: Record<string, string>; selfPaths?: Record<string, string> } = {}): FakeTree {
  const memsw = opts.memsw ?? true;
  const root = mkdtempSync(join(tmpdir(), 'berth-fake-v1-'));
  const hiers: Array<[string, string]> = [
    ['cpu', 'cpu'], ['cpuacct', 'cpuacct'], ['cpuset', 'cpuset'], ['memory', 'memory'], ['devices', 'devices'],
    ['freezer', 'freezer'], ['blkio', 'blkio'], ['pids', 'pids'], ['systemd', 'name=systemd'],
  ];
  const selfPaths: Record<string, string> = { memory: '/process_api/abc', ...opts.selfPaths };
  let id = 32;
  const mi: string[] = ['31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755'];
  const self: string[] = [];
  hiers.forEach(([mount, ctl], i) => {
    const mroot = opts.mountRoots?.[mount] ?? '/';
    mi.push(`${id} 31 0:${id - 3} ${mroot} /sys/fs/cgroup/${mount} rw,nosuid,nodev,noexec,relatime shared:${i + 10} - cgroup cgroup rw,${ctl}`);
    id++;
    self.unshift(`${i + 1}:${ctl}:${selfPaths[mount] ?? '/'}`);
    const files = v1Files(mount, memsw);
    if (mount === 'cpuset') Object.assign(files, { 'cpuset.cpus': '0-1\n', 'cpuset.mems': '0\n' });
    fill(join(root, mount), files);
    const sp = selfPaths[mount];
    if (sp && sp !== '/') {
      // The caller's own cgroup: below the mount at its path minus the mount root.
      const rel = mroot !== '/' && sp.startsWith(mroot) ? sp.slice(mroot.length) : sp;
      fill(join(root, mount, rel), mount === 'cpuset' ? { ...v1Files(mount, memsw), 'cpuset.cpus': '0-1\n', 'cpuset.mems': '0\n' } : v1Files(mount, memsw));
    }
  });
  mi.push(`${id} 31 0:${id - 3} / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate`);
  self.push('0::/');
  fill(join(root, 'unified'), { 'cgroup.controllers': 'hugetlb\n', 'cgroup.subtree_control': '' });
  return finish(root, mi.join('\n') + '\n', self.join('\n') + '\n', (dir) => {
    const mount = relative(root, dir).split('/')[0] ?? '';
    fill(dir, v1Files(mount, memsw));
  }, (path, value) => {
    // The kernel keeps memory.limit_in_bytes <= memory.memsw.limit_in_bytes at every write.
    const d = dirname(path);
    const asNum = (s: string) => (s.trim() === '-1' ? Number(NO_LIMIT) : Number(s.trim()));
    if (path.endsWith('/memory.limit_in_bytes') && existsSync(join(d, 'memory.memsw.limit_in_bytes'))) {
      if (asNum(value) > asNum(readFileSync(join(d, 'memory.memsw.limit_in_bytes'), 'utf8'))) throw errno('EINVAL');
    }
    if (path.endsWith('/memory.memsw.limit_in_bytes')) {
      if (asNum(value) < asNum(readFileSync(join(d, 'memory.limit_in_bytes'), 'utf8'))) throw errno('EINVAL');
    }
    if (/limit_in_bytes$/.test(path) && value.trim() === '-1') return NO_LIMIT;
    return undefined;
  });
}

/** The files a new v2 cgroup dir gets (every controller's, whatever is enabled: enough for tests). */
function v2Files(controllers: string): Record<string, string> {
  return {
    'cgroup.controllers': controllers, 'cgroup.subtree_control': '', 'cgroup.procs': '', 'cgroup.events': 'populated 0\nfrozen 0\n',
    'cgroup.freeze': '0', 'cgroup.kill': '', 'cpu.stat': 'usage_usec 0\nuser_usec 0\nsystem_usec 0\n',
    'cpu.weight': '100', 'cpu.max': 'max 100000', 'cpu.max.burst': '0', 'cpuset.cpus': '', 'cpuset.mems': '',
    'memory.max': 'max', 'memory.low': '0', 'memory.high': 'max', 'memory.swap.max': 'max', 'memory.current': '0',
    'memory.events': 'low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n', 'memory.stat': 'anon 0\nfile 0\n', 'memory.swap.current': '0',
    'pids.max': 'max', 'pids.current': '0', 'io.weight': 'default 100', 'io.max': '', 'io.stat': '',
    'hugetlb.2MB.max': 'max', 'hugetlb.2MB.current': '0', 'hugetlb.2MB.events': 'max 0\n', 'rdma.max': '',
  };
}

/** A pure v2 tree: root offers `controllers`; the caller sits at `selfPath` (its dir exists). */
export function makeFakeV2(opts: { controllers?: string; selfPath?: string; mountRoot?: string } = {}): FakeTree {
  const controllers = opts.controllers ?? 'cpuset cpu io memory hugetlb pids rdma';
  const selfPath = opts.selfPath ?? '/user.slice/me';
  const mountRoot = opts.mountRoot ?? '/';
  const root = mkdtempSync(join(tmpdir(), 'berth-fake-v2-'));
  fill(root, { 'cgroup.controllers': controllers, 'cgroup.subtree_control': '', 'cgroup.procs': '', 'cpu.stat': 'usage_usec 0\n' });
  // Ancestors of the caller come delegated with every controller, as systemd does for a user slice.
  const rel = mountRoot !== '/' && selfPath.startsWith(mountRoot) ? selfPath.slice(mountRoot.length) : selfPath;
  let cur = root;
  for (const part of rel.split('/').filter(Boolean)) {
    writeFileSync(join(cur, 'cgroup.subtree_control'), controllers);
    cur = join(cur, part);
    fill(cur, v2Files(controllers));
  }
  const mountinfo = `25 1 0:23 ${mountRoot} /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n`;
  return finish(root, mountinfo, `0::${selfPath}\n`, (dir) => {
    const parentEnabled = readFileSync(join(dirname(dir), 'cgroup.subtree_control'), 'utf8');
    fill(dir, v2Files(parentEnabled.split(/\s+/).filter(Boolean).join(' ')));
  }, (path, value) => {
    const d = dirname(path);
    if (path.endsWith('/cgroup.subtree_control')) {
      // The kernel applies +x/-x to the set and reads back the names.
      const set = new Set(readFileSync(path, 'utf8').split(/\s+/).filter(Boolean));
      const avail = readFileSync(join(d, 'cgroup.controllers'), 'utf8').split(/\s+/);
      for (const tok of value.split(/\s+/).filter(Boolean)) {
        const name = tok.slice(1);
        if (!avail.includes(name)) throw errno('ENOENT');
        if (tok.startsWith('+')) set.add(name); else set.delete(name);
      }
      // Children's cgroup.controllers follow the parent's subtree_control.
      for (const e of readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) writeFileSync(join(d, e.name, 'cgroup.controllers'), [...set].join(' '));
      }
      return [...set].join(' ');
    }
    if (path.endsWith('/cgroup.freeze')) writeFileSync(join(d, 'cgroup.events'), `populated 0\nfrozen ${value.trim()}\n`);
    return undefined;
  });
}

function finish(root: string, mountinfo: string, selfCgroup: string, onMkdir: (dir: string) => void, onWrite: (path: string, value: string) => string | undefined): FakeTree {
  const writes: Array<[string, string]> = [];
  setCgroupFsHooks({
    onMkdir,
    onWrite: (path, value) => {
      const stored = onWrite(path, value);
      writes.push([relative(root, path), value]);
      return stored;
    },
    rmdir: fakeRmdir,
  });
  return {
    root, mountinfo, selfCgroup, writes,
    read: (rel) => readFileSync(join(root, rel), 'utf8'),
    put: (rel, text) => writeFileSync(join(root, rel), text),
    cleanup: () => {
      setCgroupFsHooks({});
      rmSync(root, { recursive: true, force: true });
    },
  };
}
