// Volume names as Docker's local driver takes them, anonymous volume ids, and Docker's volume labels.
import { randomBytes } from 'node:crypto';
import { errInvalid } from '../common/errors.js';

/** moby `names.RestrictedNamePattern`: the name is also a directory under `<data-root>/volumes`. */
const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
const NAME_CHARS = '[a-zA-Z0-9][a-zA-Z0-9_.-]';

/** The label dockerd puts on a volume it created without a name (`docker volume prune` removes only these by default). */
export const ANONYMOUS_LABEL = 'com.docker.volume.anonymous';

/** The only driver Berth has. */
export const LOCAL_DRIVER = 'local';

/** Docker's local driver name check, with its texts (without the `create NAME:` prefix the store adds). */
export function checkVolumeName(name: string): void {
  if (name.length === 1) throw errInvalid('volume name is too short, names should be at least two alphanumeric characters');
  if (!NAME_RE.test(name)) {
    throw errInvalid(`"${name}" includes invalid characters for a local volume name, only "${NAME_CHARS}" are allowed. If you intended to pass a host directory, use absolute path`);
  }
}

/** A name for an anonymous volume: 64 hex characters, as dockerd's stringid.GenerateRandomID. */
export function anonymousVolumeName(): string {
  return randomBytes(32).toString('hex');
}
