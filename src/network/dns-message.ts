// The DNS wire format (RFC 1035 section 4): header, questions and resource records, name compression, TCP framing.

/** Record types we name (RFC 1035 3.2.2, RFC 3596 for AAAA, RFC 6891 for OPT). */
export const TYPE = { A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, MX: 15, TXT: 16, AAAA: 28, SRV: 33, OPT: 41, ANY: 255 } as const;
export const CLASS_IN = 1;
/** Header OPCODE values (RFC 1035 4.1.1). */
export const OPCODE_QUERY = 0;
/** Header RCODE values (RFC 1035 4.1.1). */
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

/** The largest DNS message a UDP client without EDNS accepts (RFC 1035 2.3.4). */
export const UDP_MAX = 512;
const HEADER_LEN = 12;
const MAX_NAME = 255;
const MAX_LABEL = 63;

export interface DnsHeader {
  id: number;
  qr: boolean;
  opcode: number;
  aa: boolean;
  tc: boolean;
  rd: boolean;
  ra: boolean;
  /** The Z, AD and CD bits (RFC 2535/4035), kept as they came. */
  z: number;
  rcode: number;
}

export interface DnsQuestion {
  /** Dotted, without the trailing dot, case as sent ("" is the root); a `.` or `\` inside a label is escaped with `\`. */
  name: string;
  type: number;
  class: number;
}

export interface DnsRecord {
  name: string;
  type: number;
  class: number;
  ttl: number;
  /** The raw RDATA. A name inside it may use compression pointers into the message it came from: see `target`. */
  data: Buffer;
  /** For A and AAAA: the address as text. */
  address?: string;
  /** For PTR, CNAME and NS: the name in RDATA, decompressed. */
  target?: string;
}

export interface DnsMessage {
  header: DnsHeader;
  questions: DnsQuestion[];
  answers: DnsRecord[];
  authorities: DnsRecord[];
  additionals: DnsRecord[];
}

/** What `encodeMessage` writes: a record's RDATA is given raw, or as an address, or as a name. */
export interface RecordInput {
  name: string;
  type: number;
  class?: number;
  ttl: number;
  data?: Buffer;
  address?: string;
  target?: string;
}

export interface MessageInput {
  header: Partial<DnsHeader> & { id: number };
  questions?: DnsQuestion[];
  answers?: RecordInput[];
  authorities?: RecordInput[];
  additionals?: RecordInput[];
}

/** A message that does not follow the wire format; the server answers FORMERR when it can read the id. */
export class DnsFormatError extends Error {
  override readonly name = 'DnsFormatError';
}

// ---------------------------------------------------------------------------------------------------------------
// Reading

/** The header alone, or undefined when fewer than 12 bytes came. */
export function parseHeader(buf: Buffer): DnsHeader | undefined {
  if (buf.length < HEADER_LEN) return undefined;
  const flags = buf.readUInt16BE(2);
  return {
    id: buf.readUInt16BE(0),
    qr: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0xf,
    aa: (flags & 0x0400) !== 0,
    tc: (flags & 0x0200) !== 0,
    rd: (flags & 0x0100) !== 0,
    ra: (flags & 0x0080) !== 0,
    z: (flags >> 4) & 0x7,
    rcode: flags & 0xf,
  };
}

/** Parse a whole message; throws DnsFormatError on anything that runs past the end or loops. */
export function parseMessage(buf: Buffer): DnsMessage {
  const header = parseHeader(buf);
  if (!header) throw new DnsFormatError(`message of ${buf.length} bytes is shorter than a header`);
  const counts = [4, 6, 8, 10].map((o) => buf.readUInt16BE(o)) as [number, number, number, number];
  let off = HEADER_LEN;
  const questions: DnsQuestion[] = [];
  for (let i = 0; i < counts[0]; i++) {
    const n = readName(buf, off);
    off = n.end;
    need(buf, off, 4);
    questions.push({ name: n.name, type: buf.readUInt16BE(off), class: buf.readUInt16BE(off + 2) });
    off += 4;
  }
  const sections: DnsRecord[][] = [[], [], []];
  for (let s = 0; s < 3; s++) {
    for (let i = 0; i < counts[s + 1]!; i++) {
      const r = readRecord(buf, off);
      sections[s]!.push(r.record);
      off = r.end;
    }
  }
  // Trailing bytes after the counted sections are tolerated, as most resolvers do.
  return { header, questions, answers: sections[0]!, authorities: sections[1]!, additionals: sections[2]! };
}

function need(buf: Buffer, off: number, n: number): void {
  if (off + n > buf.length) throw new DnsFormatError(`message truncated at byte ${off} (needs ${n} more)`);
}

function readRecord(buf: Buffer, off: number): { record: DnsRecord; end: number } {
  const n = readName(buf, off);
  off = n.end;
  need(buf, off, 10);
  const type = buf.readUInt16BE(off);
  const cls = buf.readUInt16BE(off + 2);
  const ttl = buf.readUInt32BE(off + 4);
  const len = buf.readUInt16BE(off + 8);
  off += 10;
  need(buf, off, len);
  const data = buf.subarray(off, off + len);
  const record: DnsRecord = { name: n.name, type, class: cls, ttl, data };
  if (type === TYPE.A && len === 4) record.address = [...data].join('.');
  else if (type === TYPE.AAAA && len === 16) record.address = ipv6Text(data);
  else if (type === TYPE.PTR || type === TYPE.CNAME || type === TYPE.NS) {
    const t = readName(buf, off);
    if (t.end !== off + len) throw new DnsFormatError(`record "${n.name}": name in RDATA does not fill its ${len} bytes`);
    record.target = t.name;
  }
  return { record, end: off + len };
}

/**
 * Read a possibly compressed name at `off` (RFC 1035 4.1.4). `end` is where the name ends in place (after the first
 * pointer, if any). Pointers must go strictly backwards, which rules out loops.
 */
export function readName(buf: Buffer, off: number): { name: string; end: number } {
  const labels: string[] = [];
  let end = -1;
  let wire = 1; // the root's zero byte
  let pos = off;
  let limit = off; // a pointer must point before the name it came from
  for (;;) {
    need(buf, pos, 1);
    const len = buf[pos]!;
    if (len === 0) {
      if (end < 0) end = pos + 1;
      break;
    }
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      need(buf, pos, 2);
      const ptr = ((len & 0x3f) << 8) | buf[pos + 1]!;
      if (end < 0) end = pos + 2;
      if (ptr >= limit) throw new DnsFormatError(`compression pointer at byte ${pos} does not point backwards`);
      limit = ptr;
      pos = ptr;
      continue;
    }
    if (kind !== 0) throw new DnsFormatError(`unsupported label type 0x${kind.toString(16)} at byte ${pos}`);
    need(buf, pos + 1, len);
    wire += len + 1;
    if (wire > MAX_NAME) throw new DnsFormatError(`name at byte ${off} is longer than ${MAX_NAME} bytes`);
    labels.push(escapeLabel(buf.toString('latin1', pos + 1, pos + 1 + len)));
    pos += len + 1;
  }
  return { name: labels.join('.'), end };
}

const escapeLabel = (l: string) => (/[.\\]/.test(l) ? l.replace(/[.\\]/g, (c) => `\\${c}`) : l);

function ipv6Text(b: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
  // The longest run of zero groups (two or more) becomes "::" (RFC 5952 4.2).
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Writing

/** Split a dotted name into raw labels, honouring `\.` and `\\`; throws on an empty or too long label. */
export function splitName(name: string): string[] {
  const n = name.endsWith('.') && !name.endsWith('\\.') ? name.slice(0, -1) : name;
  if (n === '') return [];
  const labels: string[] = [];
  let cur = '';
  for (let i = 0; i < n.length; i++) {
    const c = n[i]!;
    if (c === '\\' && i + 1 < n.length) cur += n[++i];
    else if (c === '.') { labels.push(cur); cur = ''; }
    else cur += c;
  }
  labels.push(cur);
  for (const l of labels) {
    if (l.length === 0 || Buffer.byteLength(l, 'latin1') > MAX_LABEL) throw new DnsFormatError(`name "${name}": bad label length`);
  }
  return labels;
}

/** Appends to a growing message, compressing names against the ones already written. */
class Writer {
  private buf = Buffer.alloc(512);
  len = 0;
  /** Lower-cased name suffix -> offset where it was written (compression targets must be below 0x4000). */
  private names = new Map<string, number>();

  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  u8(v: number): void { this.room(1); this.buf[this.len++] = v; }
  u16(v: number): void { this.room(2); this.buf.writeUInt16BE(v, this.len); this.len += 2; }
  u32(v: number): void { this.room(4); this.buf.writeUInt32BE(v >>> 0, this.len); this.len += 4; }
  bytes(b: Buffer): void { this.room(b.length); b.copy(this.buf, this.len); this.len += b.length; }
  setU16(at: number, v: number): void { this.buf.writeUInt16BE(v, at); }

  name(name: string): void {
    const labels = splitName(name);
    if (labels.reduce((n, l) => n + l.length + 1, 1) > MAX_NAME) throw new DnsFormatError(`name "${name}" is too long`);
    for (let i = 0; i < labels.length; i++) {
      const key = labels.slice(i).join('.').toLowerCase();
      const at = this.names.get(key);
      if (at !== undefined) { this.u16(0xc000 | at); return; }
      if (this.len < 0x4000) this.names.set(key, this.len);
      const l = Buffer.from(labels[i]!, 'latin1');
      this.u8(l.length);
      this.bytes(l);
    }
    this.u8(0);
  }

  done(): Buffer { return this.buf.subarray(0, this.len); }
}

function flagsOf(h: Partial<DnsHeader>): number {
  return (h.qr ? 0x8000 : 0) | ((h.opcode ?? 0) & 0xf) << 11 | (h.aa ? 0x0400 : 0) | (h.tc ? 0x0200 : 0) |
    (h.rd ? 0x0100 : 0) | (h.ra ? 0x0080 : 0) | ((h.z ?? 0) & 0x7) << 4 | ((h.rcode ?? 0) & 0xf);
}

function addressBytes(type: number, address: string): Buffer {
  if (type === TYPE.A) {
    const p = address.split('.').map(Number);
    if (p.length !== 4 || p.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) throw new DnsFormatError(`bad IPv4 address "${address}"`);
    return Buffer.from(p);
  }
  const halves = address.split('::');
  if (halves.length > 2) throw new DnsFormatError(`bad IPv6 address "${address}"`);
  const part = (s: string | undefined) => (s ? s.split(':') : []);
  const head = part(halves[0]);
  const tail = part(halves[1]);
  const fill = halves.length === 2 ? 8 - head.length - tail.length : 0;
  const groups = [...head, ...Array<string>(Math.max(fill, 0)).fill('0'), ...tail];
  if (groups.length !== 8 || groups.some((g) => !/^[0-9a-f]{1,4}$/i.test(g))) throw new DnsFormatError(`bad IPv6 address "${address}"`);
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => b.writeUInt16BE(parseInt(g, 16), i * 2));
  return b;
}

function writeRecord(w: Writer, r: RecordInput): void {
  w.name(r.name);
  w.u16(r.type);
  w.u16(r.class ?? CLASS_IN);
  w.u32(r.ttl);
  const lenAt = w.len;
  w.u16(0);
  if (r.data) w.bytes(r.data);
  else if (r.address !== undefined) w.bytes(addressBytes(r.type, r.address));
  else if (r.target !== undefined) w.name(r.target);
  w.setU16(lenAt, w.len - lenAt - 2);
}

/**
 * Encode a message. With `maxSize`, answers that do not fit are left out and TC is set (RFC 2181 9: a client then
 * asks again over TCP); the question always stays.
 */
export function encodeMessage(m: MessageInput, maxSize = 65535): Buffer {
  const w = new Writer();
  w.u16(m.header.id);
  w.u16(flagsOf(m.header));
  const qs = m.questions ?? [];
  const sections = [m.answers ?? [], m.authorities ?? [], m.additionals ?? []];
  w.u16(qs.length);
  const countAt = w.len;
  for (const s of sections) w.u16(s.length);
  for (const q of qs) {
    w.name(q.name);
    w.u16(q.type);
    w.u16(q.class);
  }
  for (let s = 0; s < 3; s++) {
    const recs = sections[s]!;
    for (let i = 0; i < recs.length; i++) {
      const before = w.len;
      writeRecord(w, recs[i]!);
      if (w.len > maxSize) {
        w.len = before;
        // Set TC and cut every count from here on.
        w.setU16(2, flagsOf({ ...m.header, tc: true }));
        w.setU16(countAt + s * 2, i);
        for (let t = s + 1; t < 3; t++) w.setU16(countAt + t * 2, 0);
        return w.done();
      }
    }
  }
  return w.done();
}

// ---------------------------------------------------------------------------------------------------------------
// TCP framing (RFC 1035 4.2.2): each message is preceded by its length as two bytes.

/** Prefix a message with its 2-byte length. */
export function frame(msg: Buffer): Buffer {
  const out = Buffer.allocUnsafe(msg.length + 2);
  out.writeUInt16BE(msg.length, 0);
  msg.copy(out, 2);
  return out;
}

/** Collects TCP bytes and yields whole messages, however the stream splits them. */
export class FrameReader {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const out: Buffer[] = [];
    while (this.pending.length >= 2) {
      const len = this.pending.readUInt16BE(0);
      if (this.pending.length < 2 + len) break;
      out.push(this.pending.subarray(2, 2 + len));
      this.pending = this.pending.subarray(2 + len);
    }
    return out;
  }

  /** Bytes of a message not yet complete. */
  get buffered(): number { return this.pending.length; }
}
