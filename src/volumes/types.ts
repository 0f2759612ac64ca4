// Volume wire types (Docker's exact JSON names, Engine API 1.41-1.50) and the mount points a container record keeps.

/** Docker's `Volume` (GET /volumes/{name}, POST /volumes/create, items of GET /volumes and /system/df). */
export interface Volume {
  Name: string;
  Driver: string;
  Mountpoint: string;
  CreatedAt: string;
  Labels: Record<string, string> | null;
  Scope: 'local';
  Options: Record<string, string> | null;
  /** Only in /system/df. */
  UsageData?: { Size: number; RefCount: number } | null;
}

/** Docker's `VolumeCreateOptions` (the body of POST /volumes/create). */
export interface VolumeCreateRequest {
  Name?: string;
  Driver?: string;
  DriverOpts?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
}

export interface VolumeListResponse {
  Volumes: Volume[];
  Warnings: string[] | null;
}

export interface VolumePruneReport {
  VolumesDeleted: string[] | null;
  SpaceReclaimed: number;
}

/**
 * One resolved mount of a container, kept in its record (dockerd's `container.MountPoints`): what
 * the spec binds, what inspect shows as `Mounts`, and which volumes the container references.
 */
export interface MountPointRecord {
  type: 'bind' | 'volume' | 'tmpfs';
  /** Clean absolute path inside the container. */
  destination: string;
  /** Host path: the bind source, a volume's `_data`; '' for tmpfs. */
  source: string;
  /** The volume's name (type volume). */
  name?: string;
  driver?: string;
  /** The mode string the user gave (`ro,z`); `z` for a local volume given without one, as dockerd shows. */
  mode: string;
  rw: boolean;
  propagation: string;
  /** A volume made for this container without a name from the user: `rm -v` and `--rm` remove it. */
  anonymous?: boolean;
  /** Copy the image's content at the destination into the volume when the volume is empty (not `nocopy`). */
  copyData?: boolean;
  /** A `-v /host:/ctr` bind: the host directory is created at start when missing, as dockerd does. */
  createSource?: boolean;
  /** Bind: `bind-recursive=disabled` (BindOptions.NonRecursive): the source without the mounts under it. */
  nonRecursive?: boolean;
}
