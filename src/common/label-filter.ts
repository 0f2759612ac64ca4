// dockerd's label filter (filters.Args.MatchKVList), shared by the container, image, network and volume filters.

/** Every `k` or `k=v` matches the labels (no filter matches all; no labels match none). */
export function matchLabels(values: string[] | undefined, labels: Record<string, string> | null | undefined): boolean {
  if (!values?.length) return true;
  if (!labels || !Object.keys(labels).length) return false;
  return values.every((v) => {
    const i = v.indexOf('=');
    const k = i < 0 ? v : v.slice(0, i);
    if (!(k in labels)) return false;
    return i < 0 || labels[k] === v.slice(i + 1);
  });
}
