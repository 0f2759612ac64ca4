// The runtime's per-container state directory: <root>/<id>/{state.json, exec.fifo, plan}.
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { errAlreadyExists, errInvalid, errNotFound, errInternal } from '../../common/errors.js';
import type { Spec } from '../spec/types.js';

/** What the runtime remembers about a container between commands (runc's state.json role). */
export interface ContainerRecord {
  id: string;
  bundle: string;
  rootfs: string;
  /** The container process as the host sees it; 0 until created. */
  pid: number;
  /** Field 22 of /proc/PID/stat at creation, to tell our process from a recycled pid. */
  pidStartTime?: number;
  /** ISO 8601 creation time. */
  created: string;
  owner: string;
  /** The cgroups path the manager resolved (see cgroups/open.ts). */
  cgroupsPath: string;
  /** The validated spec as it was at create (update changes resources here too). */
  spec: Spec;
  /** The namespaces the container created or joined, as type -> /proc/PID/ns path of its init, for exec. */
  namespaces: string[];
  /** Set by `start` after the exec fifo is consumed. */
  started?: boolean;
  /** Timings reported by berth-init, phase -> monotonic ns. */
  phases?: Record<string, number>;
}

const ID_RE = /^[\w+\-.]+$/;

/** Check a container id as runc does (letters, digits, `_ + - .`, not `.`/`..`). */
export function checkId(id: string): void {
  if (!id) throw errInvalid('container id cannot be empty');
  if (!ID_RE.test(id) || id === '.' || id === '..') throw errInvalid(`invalid id format: ${id}`);
}

/** The state directory of one runtime root (runc's `--root`). */
export class StateDir {
  constructor(readonly root: string) {}

  dir(id: string): string {
    return join(this.root, id);
  }

  /** Reserve a new container's directory; fails if the id is taken. */
  reserve(id: string): string {
    checkId(id);
    mkdirSync(this.root, { recursive: true, mode: 0o700 });
    const dir = this.dir(id);
    try {
      mkdirSync(dir, { mode: 0o711 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw errAlreadyExists('container with given ID already exists', e);
      throw e;
    }
    return dir;
  }

  /**
   * Write state.json atomically (temp file, rename), so a killed runtime never leaves half a
   * file. No fsync: the state dir lives on tmpfs and is meant to be lost on reboot (as runc's).
   */
  save(rec: ContainerRecord): void {
    const dir = this.dir(rec.id);
    const tmp = join(dir, `.state.json.${process.pid}`);
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, JSON.stringify(rec));
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, join(dir, 'state.json'));
  }

  load(id: string): ContainerRecord {
    checkId(id);
    let text: string;
    try {
      text = readFileSync(join(this.dir(id), 'state.json'), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw errNotFound('container does not exist', e);
      throw e;
    }
    try {
      return JSON.parse(text) as ContainerRecord;
    } catch (e) {
      throw errInternal(`container ${id}: corrupt state.json`, e);
    }
  }

  /** Ids of every container with a state.json. */
  list(): string[] {
    let names: string[];
    try {
      names = readdirSync(this.root);
    } catch {
      return [];
    }
    return names.filter((n) => ID_RE.test(n)).sort();
  }

  remove(id: string): void {
    rmSync(this.dir(id), { recursive: true, force: true });
  }
}
