// Progress events in the shape of Docker's pull/push JSON stream (`docker pull` prints these).

/** One progress message: `id` is the short layer id (12 hex) or the tag; `status` is Docker's wording. */
export interface ProgressEvent {
  id?: string;
  status: string;
  progressDetail?: { current?: number; total?: number };
}

export type ProgressFn = (e: ProgressEvent) => void;

/** Docker's short id of a digest: the first 12 hex digits. */
export function shortId(digest: string): string {
  return digest.slice(digest.indexOf(':') + 1, digest.indexOf(':') + 13);
}

/** Call `fn` for `Downloading`/`Pushing` updates at most every `ms`, and always for the last one. */
export function throttled(fn: ProgressFn | undefined, ms = 100): (e: ProgressEvent, last?: boolean) => void {
  let at = 0;
  return (e, last = false) => {
    if (!fn) return;
    const now = Date.now();
    if (!last && now - at < ms) return;
    at = now;
    fn(e);
  };
}
