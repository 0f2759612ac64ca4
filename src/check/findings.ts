// What `berthd check` reports: one finding per inconsistent object, with a kind a script can match and a message that names it.
import type { Problem } from '../images/gc.js';

export type FindingKind =
  // processes and the exec root
  | 'orphan-shim' | 'orphan-task-dir' | 'orphan-socket' | 'interrupted-task' | 'unapplied-exit'
  // containers
  | 'orphan-container-dir' | 'orphan-lifecycle-container' | 'interrupted-removal' | 'container-without-snapshot' | 'trash'
  // images
  | 'orphan-snapshot' | 'orphan-blob' | 'partial-blob' | Problem['kind']
  // host
  | 'orphan-mount' | 'orphan-cgroup'
  // network
  | 'orphan-netns' | 'orphan-lease' | 'orphan-ipam-dir' | 'orphan-veth' | 'orphan-firewall-rule' | 'broken-endpoint' | 'interrupted-network-removal'
  // the check itself could not read something
  | 'unreadable';

export interface Finding {
  kind: FindingKind;
  /** The object: a path, a pid, an id or digest. Together with `kind`, the finding's identity. */
  object: string;
  message: string;
}

export const findingKey = (f: Finding) => `${f.kind}\0${f.object}`;
