// The sparse time index the shim writes beside each json-file log (docs/shim.md "Log index"): binary search without reading the log.
//
// A 16-byte header (`BERTHIDX`, u32 version, u32 interval), then 16-byte records, little-endian:
// u64 time (ns since the epoch) of the entry that starts at u64 offset. The shim writes one
// record for the first entry of a file and then one every 64 KiB of log, so entries before a
// record's offset are no newer than its time, and entries after it no older.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

export const INDEX_MAGIC = 'BERTHIDX';
export const INDEX_VERSION = 1;
export const INDEX_RECORD = 16;

/** One record: the entry at `offset` was written at `time` (Unix seconds with fraction). */
export interface IndexRecord {
  time: number;
  offset: number;
}

/** Counts the bytes a read takes from disk (logs and indexes), so tests and benches can see what was avoided. */
export interface ReadCounter {
  bytesRead: number;
}

/**
 * An open index. Records whose offset lies beyond `limit` (the log's size when the reader
 * looked at it) are ignored: the shim writes the record just before its entry.
 */
export class LogIndex {
  private constructor(private readonly fd: number, readonly count: number, private readonly counter?: ReadCounter) {}

  /** Open `path`; undefined when it is missing, not an index, or of another version. */
  static open(path: string, counter?: ReadCounter): LogIndex | undefined {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch {
      return undefined;
    }
    try {
      const head = Buffer.alloc(INDEX_RECORD);
      if (readSync(fd, head, 0, INDEX_RECORD, 0) !== INDEX_RECORD) throw new Error('short');
      if (counter) counter.bytesRead += INDEX_RECORD;
      if (head.toString('latin1', 0, 8) !== INDEX_MAGIC || head.readUInt32LE(8) !== INDEX_VERSION) throw new Error('not ours');
      // A record cut short by a crash is not a record.
      const count = Math.floor((fstatSync(fd).size - INDEX_RECORD) / INDEX_RECORD);
      return new LogIndex(fd, count, counter);
    } catch {
      closeSync(fd);
      return undefined;
    }
  }

  record(i: number): IndexRecord {
    const b = Buffer.alloc(INDEX_RECORD);
    readSync(this.fd, b, 0, INDEX_RECORD, INDEX_RECORD * (i + 1));
    if (this.counter) this.counter.bytesRead += INDEX_RECORD;
    const ns = b.readBigUInt64LE(0);
    return { time: Number(ns / 1000n) / 1e6, offset: Number(b.readBigUInt64LE(8)) };
  }

  /** The time of the file's first entry, when the index holds it (a record at offset 0). */
  firstTime(): number | undefined {
    if (this.count === 0) return undefined;
    const r = this.record(0);
    return r.offset === 0 ? r.time : undefined;
  }

  /**
   * Where to start reading for entries at or after `since`: the offset of the last record older
   * than it (everything before that offset is older still), else 0.
   */
  seekSince(since: number, limit: number): number {
    let lo = 0;
    let hi = this.count - 1;
    let best = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const r = this.record(mid);
      if (r.time < since && r.offset <= limit) {
        best = r.offset;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return best;
  }

  /** Where to stop reading for entries before `until`: the offset of the first record at or after it (undefined: read to the end). */
  seekUntil(until: number, limit: number): number | undefined {
    let lo = 0;
    let hi = this.count - 1;
    let found: number | undefined;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const r = this.record(mid);
      if (r.time >= until) {
        found = r.offset;
        hi = mid - 1;
      } else {
        lo = mid + 1;
      }
    }
    return found !== undefined && found <= limit ? found : undefined;
  }

  close(): void {
    try { closeSync(this.fd); } catch { /* closed */ }
  }
}
