// Docker's local driver options (`type`, `device`, `o`): checked at create, mounted on the volume's `_data` at first use, unmounted after the last.
import { errInvalid, errPrecondition } from '../common/errors.js';
import { mountAll, unmount } from '../images/snapshots/mount.js';
import { isMountPoint } from '../images/snapshots/mount.js';

const VALID = new Set(['type', 'o', 'device', 'size']);
/** Which options need which others (moby volume/local/local_unix.go mandatoryOpts). */
const MANDATORY: Array<[string, string[]]> = [['device', ['type']], ['type', ['device']], ['o', ['device', 'type']]];

/** dockerd's validateOpts, with its texts. `size` needs a quota the data root's filesystem may not give: refused, as dockerd does without one. */
export function checkLocalOptions(opts: Record<string, string> | null | undefined): void {
  if (!opts) return;
  for (const k of Object.keys(opts)) if (!VALID.has(k)) throw errInvalid(`invalid option: ${JSON.stringify(k)}`);
  if (opts.type === 'cifs' && opts.device) {
    // url.Parse(...).Port(): a port in a CIFS device URL is refused.
    if (/^[a-z][a-z0-9+.-]*:\/\/[^/]*:\d+(\/|$)/i.test(opts.device)) throw errInvalid("port not allowed in CIFS device URL, include 'port' in 'o='");
  }
  if ('size' in opts) throw errInvalid('quota size requested but no quota support');
  for (const [opt, needs] of MANDATORY) {
    if (!(opt in opts)) continue;
    for (const n of needs) if (!(n in opts)) throw errInvalid(`missing required option: ${JSON.stringify(n)}`);
  }
}

/** A volume whose data is a mount of its own (a device or a filesystem type given), not a plain directory. */
export function needsMount(opts: Record<string, string> | null | undefined): boolean {
  return !!opts && (!!opts.device || !!opts.type);
}

/** Mount the volume's device on `target` (its `_data`) unless already mounted there; dockerd's error text, password hidden. */
export async function mountLocal(opts: Record<string, string>, target: string): Promise<void> {
  if (isMountPoint(target)) return;
  if (!opts.device) throw errPrecondition('failed to mount local volume: missing device in volume options');
  const options = opts.o ? opts.o.split(',') : [];
  try {
    await mountAll([{ type: opts.type ?? '', source: opts.device, options }], target);
  } catch (e) {
    let msg = (e as Error).message;
    const pw = /(?:^|,)password=([^,]*)/.exec(opts.o ?? '')?.[1];
    if (pw) msg = msg.replaceAll(`password=${pw}`, 'password=********');
    throw errPrecondition(`failed to mount local volume: ${msg}`);
  }
}

/** Unmount the volume's `_data` if something is mounted there. */
export async function unmountLocal(target: string): Promise<void> {
  if (isMountPoint(target)) await unmount(target);
}
