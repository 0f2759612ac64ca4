// A raw `net` peer for the API server tests: writes HTTP bytes by hand and parses what comes back.
import net from 'node:net';

/** A hand-driven connection to a unix socket. */
export class RawPeer {
  data = Buffer.alloc(0);
  closed = false;
  readEnded = false;
  private waiters: (() => void)[] = [];

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (c: Buffer) => {
      this.data = Buffer.concat([this.data, c]);
      this.wake();
    });
    socket.on('end', () => {
      this.readEnded = true;
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  static connect(path: string): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ path, allowHalfOpen: true });
      s.once('connect', () => resolve(new RawPeer(s)));
      s.once('error', reject);
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  write(b: string | Buffer): void {
    this.socket.write(b);
  }

  /** Half-close: our write side ends, we keep reading. */
  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** Wait until `pred(data)` holds, the peer closed, or timeout (rejects). */
  async until(pred: (data: Buffer) => boolean, timeoutMs = 5000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    while (!pred(this.data)) {
      if (this.readEnded || this.closed) {
        if (pred(this.data)) break;
        throw new Error(`peer closed before condition; got ${JSON.stringify(this.data.toString('latin1'))}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timeout; got ${JSON.stringify(this.data.toString('latin1'))}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    return this.data;
  }

  /** Wait for the server to end its side. */
  async untilEnd(timeoutMs = 5000): Promise<Buffer> {
    return this.until(() => this.readEnded || this.closed, timeoutMs).catch((e) => {
      if (this.readEnded || this.closed) return this.data;
      throw e;
    });
  }
}

export interface ParsedResponse {
  status: number;
  reason: string;
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * Parse as many complete HTTP/1.1 responses as `buf` holds (Content-Length, chunked, or
 * read-to-end when `toEnd`). HEAD responses need `bodiless` to skip their declared length.
 */
export function parseResponses(buf: Buffer, opts: { toEnd?: boolean; bodiless?: boolean } = {}): ParsedResponse[] {
  const out: ParsedResponse[] = [];
  let off = 0;
  while (off < buf.length) {
    const headEnd = buf.indexOf('\r\n\r\n', off);
    if (headEnd < 0) break;
    const lines = buf.subarray(off, headEnd).toString('latin1').split('\r\n');
    const m = /^HTTP\/1\.1 (\d{3}) ?(.*)$/.exec(lines[0]!);
    if (!m) throw new Error(`bad status line ${JSON.stringify(lines[0])}`);
    const headers: Record<string, string> = {};
    for (const l of lines.slice(1)) {
      const i = l.indexOf(':');
      headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
    }
    let p = headEnd + 4;
    const status = Number(m[1]);
    let body: Buffer;
    if (opts.bodiless || status === 204 || status === 304 || status === 101) {
      body = Buffer.alloc(0);
    } else if (headers['transfer-encoding'] === 'chunked') {
      const parts: Buffer[] = [];
      for (;;) {
        const le = buf.indexOf('\r\n', p);
        if (le < 0) return out;
        const size = parseInt(buf.subarray(p, le).toString(), 16);
        p = le + 2;
        if (size === 0) {
          p += 2;
          break;
        }
        if (p + size > buf.length) return out;
        parts.push(buf.subarray(p, p + size));
        p += size + 2;
      }
      body = Buffer.concat(parts);
    } else if (headers['content-length'] !== undefined) {
      const n = Number(headers['content-length']);
      if (p + n > buf.length) break;
      body = buf.subarray(p, p + n);
      p += n;
    } else if (opts.toEnd) {
      body = buf.subarray(p);
      p = buf.length;
    } else {
      break;
    }
    out.push({ status, reason: m[2]!, headers, body });
    off = p;
  }
  return out;
}

/** Send one request by hand on a fresh connection and return the first parsed response. */
export async function rawRequest(sock: string, bytes: string | Buffer, opts: { bodiless?: boolean } = {}): Promise<ParsedResponse> {
  const peer = await RawPeer.connect(sock);
  try {
    peer.write(bytes);
    await peer.until((d) => parseResponses(d, opts).length > 0);
    return parseResponses(peer.data, opts)[0]!;
  } finally {
    peer.destroy();
  }
}
