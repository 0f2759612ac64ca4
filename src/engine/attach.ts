// Bridging a hijacked client connection and a shim stream (attach or exec): output out, stdin in, detach keys, ends.
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';

/**
 * Finds Docker's detach sequence in stdin: bytes that could start it are held back until the
 * next byte decides; on a match the held bytes are dropped and `detached` is set. Matching is
 * overlap-aware: `ctrl-p,ctrl-p,ctrl-q` typed after an extra `ctrl-p` still detaches.
 */
export class DetachScanner {
  private held: number[] = [];
  detached = false;
  constructor(private readonly keys: Buffer) {}

  /** The bytes to forward from `chunk` (none after the sequence). */
  feed(chunk: Buffer): Buffer {
    if (this.detached) return Buffer.alloc(0);
    if (this.keys.length === 0) return chunk;
    const out: number[] = [];
    for (const b of chunk) {
      this.held.push(b);
      // Keep the longest suffix of the held bytes that is still a prefix of the sequence.
      while (this.held.length && !this.isPrefix(this.held)) out.push(this.held.shift()!);
      if (this.held.length === this.keys.length) {
        this.detached = true;
        this.held = [];
        break;
      }
    }
    return Buffer.from(out);
  }

  /** Bytes still held when stdin ends (a partial sequence is passed on). */
  flush(): Buffer {
    const b = Buffer.from(this.held);
    this.held = [];
    return b;
  }

  private isPrefix(bytes: number[]): boolean {
    return bytes.length <= this.keys.length && bytes.every((x, i) => x === this.keys[i]);
  }
}

export type BridgeEnd = 'ended' | 'detached' | 'client-gone';

/**
 * Pipe `source` (the shim's stream) to `conn`, and with `stdin` the client's bytes to `source`.
 * Resolves when the output ends (the process exited and its output is drained: `conn` is then
 * ended), when the client typed the detach keys (the stream to the shim is closed and `conn`
 * ended), or when the client went away. `onStdinEnd` runs when the client half-closes its side.
 */
export function bridge(o: { conn: Duplex; source: Socket; stdin: boolean; detachKeys?: Buffer; onStdinEnd?: () => void; keepOpenOnEnd?: boolean }): Promise<BridgeEnd> {
  const { conn, source } = o;
  return new Promise<BridgeEnd>((resolve) => {
    let settled = false;
    const finish = (how: BridgeEnd) => {
      if (settled) return;
      settled = true;
      conn.off('data', onClientData);
      conn.off('end', onClientEnd);
      conn.off('close', onClientClose);
      conn.off('error', onClientClose);
      source.unpipe(conn);
      if (how !== 'ended') source.destroy();
      // keepOpenOnEnd: the caller ends `conn` itself once the exit is recorded (exec: a client that
      // inspects right after the stream ends must see the exit code).
      if (how !== 'client-gone' && !(how === 'ended' && o.keepOpenOnEnd) && !conn.writableEnded && !conn.destroyed) conn.end();
      resolve(how);
    };
    const scanner = o.detachKeys && o.detachKeys.length ? new DetachScanner(o.detachKeys) : undefined;
    const onClientData = (chunk: Buffer) => {
      if (!o.stdin) return;
      const out = scanner ? scanner.feed(chunk) : chunk;
      if (out.length && !source.destroyed) source.write(out);
      if (scanner?.detached) finish('detached');
    };
    const onClientEnd = () => {
      if (o.stdin && scanner) {
        const rest = scanner.flush();
        if (rest.length && !source.destroyed) source.write(rest);
      }
      if (o.stdin) o.onStdinEnd?.();
    };
    const onClientClose = () => {
      // Output may still be flowing to a half-closed client: only a destroyed conn ends the bridge.
      if (conn.destroyed || !conn.writable) finish('client-gone');
    };
    source.pipe(conn, { end: false });
    source.on('end', () => finish('ended'));
    source.on('close', () => finish('ended'));
    source.on('error', () => finish('ended'));
    conn.on('close', onClientClose);
    conn.on('error', onClientClose);
    if (o.stdin) {
      conn.on('data', onClientData);
      conn.on('end', onClientEnd);
    }
    source.resume();
  });
}
