// docker's natural sort order (fvbommel/sortorder NaturalLess): `net2` before `net10`, for `network ls` and `port`.

const isDigit = (b: number) => b >= 0x30 && b <= 0x39;

/**
 * Compare as the Go library does, byte by byte over UTF-8: runs of digits compare by value
 * (fewer leading zeros first when equal), digits sort before other bytes, and a string that
 * is a prefix of the other comes first.
 */
export function naturalLess(a: string, b: string): boolean {
  const s1 = Buffer.from(a);
  const s2 = Buffer.from(b);
  let i = 0;
  let j = 0;
  while (i < s1.length && j < s2.length) {
    const c1 = s1[i]!;
    const c2 = s2[j]!;
    const d1 = isDigit(c1);
    const d2 = isDigit(c2);
    if (d1 !== d2) return d1;
    if (!d1) {
      if (c1 !== c2) return c1 < c2;
      i++;
      j++;
      continue;
    }
    while (i < s1.length && s1[i] === 0x30) i++;
    while (j < s2.length && s2[j] === 0x30) j++;
    const nz1 = i;
    const nz2 = j;
    while (i < s1.length && isDigit(s1[i]!)) i++;
    while (j < s2.length && isDigit(s2[j]!)) j++;
    if (i - nz1 !== j - nz2) return i - nz1 < j - nz2;
    const n1 = s1.subarray(nz1, i).toString('latin1');
    const n2 = s2.subarray(nz2, j).toString('latin1');
    if (n1 !== n2) return n1 < n2;
    if (nz1 !== nz2) return nz1 < nz2;
  }
  // Equal so far; Go compares whole lengths here, not the remainders.
  return s1.length < s2.length;
}

/** A comparator for Array.prototype.sort in natural order. */
export function naturalCompare(a: string, b: string): number {
  return naturalLess(a, b) ? -1 : naturalLess(b, a) ? 1 : 0;
}
