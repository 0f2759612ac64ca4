// `-v`/Binds and `--mount`/HostConfig.Mounts parsed and validated as dockerd's linux parser does (moby
// volume/mounts/linux_parser.go), with its error texts; and the container's whole mount plan (Binds,
// Mounts, then the anonymous volumes of Config.Volumes) with dockerd's duplicate rules.
import { existsSync } from 'node:fs';
import { posix } from 'node:path';
import { BerthError, errInvalid } from '../common/errors.js';
import type { HostConfig, MountSpec } from '../engine/types.js';
import type { MountPointRecord } from './types.js';

/** One mount the container asks for, before any volume exists. */
export interface PlannedMount {
  type: 'bind' | 'volume' | 'tmpfs';
  /** Clean absolute path inside the container. */
  destination: string;
  /** Bind: the host path. */
  source: string;
  /** Volume: the name given; '' for an anonymous volume. */
  name: string;
  /** Volume: the driver asked for ('' = the default, local). */
  driver: string;
  mode: string;
  rw: boolean;
  propagation: string;
  copyData: boolean;
  /** `-v /host:/ctr`: dockerd creates a missing host directory (at start); `--mount` refuses it at create. */
  createSource: boolean;
  /** Bind: BindOptions.NonRecursive (a plain MS_BIND, no submounts). */
  nonRecursive?: boolean;
  /** Volume: driver options and labels for a volume this mount creates (`--mount volume-opt=`, `volume-label=`). */
  driverOpts?: Record<string, string>;
  labels?: Record<string, string>;
  /** From Config.Volumes (an image VOLUME or `-v /path`): refused over an existing file. */
  fromConfig?: boolean;
  /** From `--volumes-from`: shown without a mode, as dockerd does. */
  inherited?: boolean;
  /** An inherited anonymous volume: dockerd copies the mount's spec, so `rm -v` of either container may remove it once unused. */
  anonymous?: boolean;
}

const PROPAGATION = new Set(['private', 'rprivate', 'slave', 'rslave', 'shared', 'rshared']);
const RW_MODES = new Set(['rw', 'ro']);
const LABEL_MODES = new Set(['z', 'Z']);
const CONSISTENCY = new Set(['consistent', 'cached', 'delegated']);
const DEFAULT_PROPAGATION = 'rprivate';

/** dockerd's linuxValidMountMode: known words, at most one of each kind. */
export function validMountMode(mode: string): boolean {
  if (mode === '') return true;
  const counts = [0, 0, 0, 0, 0];
  for (const o of mode.split(',')) {
    const kind = RW_MODES.has(o) ? 0 : LABEL_MODES.has(o) ? 1 : PROPAGATION.has(o) ? 2 : o === 'nocopy' ? 3 : CONSISTENCY.has(o) ? 4 : -1;
    if (kind < 0) return false;
    counts[kind]!++;
  }
  return counts.every((n) => n <= 1);
}

const invalidSpec = (raw: string) => `invalid volume specification: '${raw}'`;

/** dockerd's errMountConfig wrapping. */
function mountConfigError(type: string, msg: string): BerthError {
  return errInvalid(`invalid mount config for type "${type}": ${msg}`);
}

function checkTarget(type: string, target: string | undefined): string {
  if (!target) throw mountConfigError(type, 'field Target must not be empty');
  const t = target.replaceAll('\\', '/');
  if (posix.normalize(t) === '/' || posix.normalize(t) === '//') throw mountConfigError(type, "invalid specification: destination can't be '/'");
  if (!t.startsWith('/')) throw mountConfigError(type, `invalid mount path: '${t}' mount path must be absolute`);
  return clean(t);
}

/** Go's path.Clean for an absolute path. */
function clean(p: string): string {
  const n = posix.normalize(p);
  return n.length > 1 ? n.replace(/\/+$/, '') : n;
}

/**
 * One `HostConfig.Mounts` entry (`--mount`), validated as dockerd's ParseMountSpec: exclusive
 * options, target, and for binds an absolute source that exists (unless CreateMountpoint).
 * `exists` is a seam for unit tests.
 */
export function parseMountSpec(m: MountSpec, exists: (p: string) => boolean = existsSync): PlannedMount {
  return parseSpec(m, true, exists);
}

function parseSpec(m: MountSpec, checkBindSource: boolean, exists: (p: string) => boolean): PlannedMount {
  const type = m.Type as string;
  if (type !== 'bind' && m.BindOptions) throw mountConfigError(type, 'field BindOptions must not be specified');
  if (type !== 'volume' && m.VolumeOptions) throw mountConfigError(type, 'field VolumeOptions must not be specified');
  if (type !== 'tmpfs' && m.TmpfsOptions) throw mountConfigError(type, 'field TmpfsOptions must not be specified');
  const destination = checkTarget(type, m.Target);
  const base = { destination, source: '', name: '', driver: '', mode: '', rw: !m.ReadOnly, propagation: '', copyData: false, createSource: false };
  switch (type) {
    case 'bind': {
      const src = m.Source ?? '';
      if (!src) throw mountConfigError(type, 'field Source must not be empty');
      const prop = m.BindOptions?.Propagation;
      if (prop && !PROPAGATION.has(prop)) throw mountConfigError(type, `invalid propagation mode: ${prop}`);
      if (!src.startsWith('/')) throw mountConfigError(type, `invalid mount path: '${src}' mount path must be absolute`);
      if (checkBindSource && !exists(src) && !m.BindOptions?.CreateMountpoint) {
        throw mountConfigError(type, `bind source path does not exist: ${src}`);
      }
      return {
        ...base, type: 'bind', source: clean(src), propagation: prop || DEFAULT_PROPAGATION, createSource: !checkBindSource || !!m.BindOptions?.CreateMountpoint,
        ...(m.BindOptions?.NonRecursive ? { nonRecursive: true } : {}),
      };
    }
    case 'volume': {
      const vo = m.VolumeOptions;
      if ((vo as { Subpath?: string } | undefined)?.Subpath) throw new BerthError('not-implemented', `invalid mount config for type "volume": volume subpaths are not supported by Berth`);
      const opts = vo?.DriverConfig?.Options;
      return {
        ...base, type: 'volume', name: m.Source ?? '', driver: vo?.DriverConfig?.Name ?? '', copyData: !vo?.NoCopy,
        ...(opts && Object.keys(opts).length ? { driverOpts: { ...opts } } : {}),
        ...(vo?.Labels && Object.keys(vo.Labels).length ? { labels: { ...vo.Labels } } : {}),
      };
    }
    case 'tmpfs':
      if (m.Source) throw mountConfigError(type, 'field Source must not be specified');
      return { ...base, type: 'tmpfs' };
    default:
      throw mountConfigError(type, 'mount type unknown');
  }
}

/**
 * One `-v`/Binds entry (`[SRC:]DST[:MODE]`), as dockerd's ParseMountRaw: an absolute SRC is a bind,
 * any other a volume name, none an anonymous volume. A missing bind source is not an error here
 * (dockerd creates the directory at start).
 */
export function parseBind(raw: string, volumeDriver = ''): PlannedMount {
  // Go's strings.SplitN(raw, ":", 4)
  const parts = raw.split(':');
  const arr = parts.length > 4 ? [...parts.slice(0, 3), parts.slice(3).join(':')] : parts;
  if (arr[0] === '') throw errInvalid(invalidSpec(raw));
  let source = '';
  let target: string;
  let mode = '';
  switch (arr.length) {
    case 1:
      target = arr[0]!;
      break;
    case 2:
      // A destination and a mode (`/foo:rw`) is not a volume.
      if (validMountMode(arr[1]!)) throw errInvalid(invalidSpec(raw));
      [source, target] = arr as [string, string];
      break;
    case 3:
      [source, target, mode] = arr as [string, string, string];
      break;
    default:
      throw errInvalid(invalidSpec(raw));
  }
  if (!validMountMode(mode)) throw errInvalid(`invalid mode: ${mode}`);
  const words = mode.split(',');
  const isBind = source.startsWith('/');
  const spec: MountSpec = { Type: isBind ? 'bind' : 'volume', Target: target, ...(source ? { Source: source } : {}), ReadOnly: words.includes('ro') };
  if (volumeDriver && !isBind) spec.VolumeOptions = { DriverConfig: { Name: volumeDriver } };
  if (words.includes('nocopy')) spec.VolumeOptions = { ...(spec.VolumeOptions ?? {}), NoCopy: true };
  const prop = words.find((w) => PROPAGATION.has(w));
  if (prop) spec.BindOptions = { Propagation: prop };
  let out: PlannedMount;
  try {
    out = parseSpec(spec, false, existsSync);
  } catch (e) {
    if (e instanceof BerthError && e.code === 'invalid-argument') throw errInvalid(`${invalidSpec(raw)}: ${e.message}`, e);
    throw e;
  }
  return { ...out, mode, createSource: isBind };
}

/** One `--volumes-from CONTAINER[:ro|rw]` (dockerd's ParseVolumesFrom): no propagation, no copy mode. */
export function parseVolumesFrom(spec: string): { container: string; mode: string } {
  if (spec === '') throw errInvalid('volumes-from specification cannot be an empty string');
  const i = spec.indexOf(':');
  const container = i < 0 ? spec : spec.slice(0, i);
  const mode = i < 0 ? '' : spec.slice(i + 1);
  if (mode === '') return { container, mode: 'rw' };
  const words = mode.split(',');
  if (!validMountMode(mode) || words.some((w) => PROPAGATION.has(w) || w === 'nocopy')) throw errInvalid(`invalid mode: ${mode}`);
  return { container, mode };
}

/** The mounts of other containers (`--volumes-from`), with the mode applied as dockerd copies them (no copy-up, no mode string). */
export interface InheritedMounts { mode: string; mounts: readonly MountPointRecord[] }

/**
 * Every mount of a new container, in dockerd's order (registerMountPoints, then the anonymous
 * volumes of createContainerVolumesOS): `--volumes-from` mounts, Binds and Mounts (which replace
 * those at the same destination), then Config.Volumes destinations that nothing else covers.
 * Throws dockerd's `Duplicate mount point` for a destination given twice.
 */
export function planContainerMounts(
  h: HostConfig, configVolumes: Record<string, object> | null | undefined, exists: (p: string) => boolean = existsSync, inherited: readonly InheritedMounts[] = [],
): PlannedMount[] {
  const byDest = new Map<string, PlannedMount>();
  for (const { mode, mounts } of inherited) {
    const rw = !mode.split(',').includes('ro');
    for (const m of mounts) {
      if (m.type === 'tmpfs') continue; // Berth gives a container only its own tmpfs mounts
      byDest.set(m.destination, {
        type: m.type, destination: m.destination, source: m.type === 'bind' ? m.source : '', name: m.name ?? '', driver: m.driver ?? '',
        mode: '', rw: m.rw && rw, propagation: m.propagation, copyData: false, createSource: !!m.createSource, inherited: true,
        ...(m.anonymous ? { anonymous: true } : {}),
      });
    }
  }
  const tmpfsDests = new Set(Object.keys(h.Tmpfs ?? {}).map(clean));
  const explicit = new Set<string>();
  for (const b of h.Binds ?? []) {
    const m = parseBind(b, h.VolumeDriver ?? '');
    if (explicit.has(m.destination) || tmpfsDests.has(m.destination)) throw errInvalid(`Duplicate mount point: ${m.destination}`);
    explicit.add(m.destination);
    byDest.set(m.destination, m);
  }
  for (const spec of h.Mounts ?? []) {
    const m = parseMountSpec(spec, exists);
    if (explicit.has(m.destination)) throw errInvalid(`Duplicate mount point: ${spec.Target}`);
    explicit.add(m.destination);
    byDest.set(m.destination, m);
  }
  for (const dest of Object.keys(configVolumes ?? {})) {
    const d = dest.replaceAll('\\', '/');
    if (!d.startsWith('/')) throw errInvalid(`invalid mount path: '${d}' mount path must be absolute`);
    const destination = clean(d);
    if (destination === '/') throw errInvalid("invalid specification: destination can't be '/'");
    if (byDest.has(destination) || tmpfsDests.has(destination)) continue;
    byDest.set(destination, {
      type: 'volume', destination, source: '', name: '', driver: h.VolumeDriver ?? '', mode: '', rw: true, propagation: '', copyData: true, createSource: false, fromConfig: true,
    });
  }
  return [...byDest.values()];
}
