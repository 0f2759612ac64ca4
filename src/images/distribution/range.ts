// Byte ranges on the wire: the `Range` a registry reports for an upload, `Content-Range` on 206s and on PATCH.

/** An inclusive byte range. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * Parse an upload-status `Range` header. The distribution spec writes it as `0-<end>` (no unit); some servers
 * add the `bytes=` unit of RFC 9110. `0--1` is what distribution answers for an empty upload.
 */
export function parseRange(v: string | undefined): ByteRange | undefined {
  if (!v) return undefined;
  const m = /^\s*(?:bytes=)?(\d+)-(-?\d+)\s*$/.exec(v);
  if (!m) return undefined;
  return { start: Number(m[1]), end: Number(m[2]) };
}

/** Parse a response `Content-Range: bytes <start>-<end>/<total|*>` (RFC 9110 §14.4). */
export function parseContentRange(v: string | undefined): (ByteRange & { total?: number }) | undefined {
  if (!v) return undefined;
  const m = /^\s*bytes\s+(\d+)-(\d+)\/(\d+|\*)\s*$/.exec(v);
  if (!m) return undefined;
  const r: ByteRange & { total?: number } = { start: Number(m[1]), end: Number(m[2]) };
  if (m[3] !== '*') r.total = Number(m[3]);
  return r.end < r.start ? undefined : r;
}

/** The `Content-Range` of a chunked-upload PATCH: the distribution spec's `<start>-<end>`, inclusive, no unit. */
export function uploadContentRange(start: number, length: number): string {
  return `${start}-${start + length - 1}`;
}
