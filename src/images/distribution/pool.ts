// Bounded parallelism for blob transfers (dockerd's max-concurrent-downloads/uploads).

/**
 * Run `fn` over `items` with at most `limit` in flight; results keep the input order. The first failure rejects
 * once every started call has settled, so no transfer is left running behind the caller's back.
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  let failed: { error: unknown } | undefined;
  const worker = async () => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        out[i] = await fn(items[i]!, i);
      } catch (error) {
        failed ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker));
  if (failed) throw failed.error;
  return out;
}
