// Disk usage of a volume's data, counted as dockerd's directory.Size: regular sizes, hard links once, directories not at all.
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** Bytes under `dir`; -1 when `dir` cannot be read (dockerd's "not available"). Entries that vanish meanwhile are skipped. */
export async function dirSize(dir: string): Promise<number> {
  const seen = new Set<number>();
  let total = 0;
  const walk = async (d: string, top: boolean): Promise<void> => {
    let names: string[];
    try {
      names = await readdir(d);
    } catch (e) {
      if (top) throw e;
      return;
    }
    for (const n of names) {
      const p = join(d, n);
      let st;
      try {
        st = await lstat(p, { bigint: false });
      } catch {
        continue;
      }
      if (st.isDirectory()) {
        await walk(p, false);
        continue;
      }
      if (st.size === 0 || seen.has(st.ino)) continue;
      seen.add(st.ino);
      total += st.size;
    }
  };
  try {
    await walk(dir, true);
  } catch {
    return -1;
  }
  return total;
}
