// Content labels pull and push share: containerd's GC references and the distribution source of a blob.
import type { ContentStore } from '../types.js';

/** containerd's label naming where a blob came from; push uses it to mount instead of upload. */
export const sourceLabel = (registry: string) => `containerd.io/distribution.source.${registry}`;

/** Add `labels` to a committed blob, keeping the ones it has (setLabels replaces the set). */
export async function mergeLabels(content: ContentStore, digest: string, labels: Record<string, string>): Promise<void> {
  const info = await content.info(digest);
  const merged = { ...info.labels };
  let changed = false;
  for (const [k, v] of Object.entries(labels)) {
    if (merged[k] === v) continue;
    merged[k] = v;
    changed = true;
  }
  if (changed) await content.setLabels(digest, merged);
}

/** Add `repository` to the comma-separated source list of a blob for `registry` (containerd keeps a set). */
export function addSource(existing: string | undefined, repository: string): string {
  const set = new Set((existing ?? '').split(',').filter(Boolean));
  set.add(repository);
  return [...set].join(',');
}
