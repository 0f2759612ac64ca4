// Local terminal plumbing for attach/exec/run: copy a hijacked connection to stdout/stderr, stdin to it, raw mode, resize.
import type { Duplex } from 'node:stream';
import { demux } from '../common/stdcopy.js';
import type { Hijacked } from '../client/client.js';
import type { Io } from './command.js';
import { parseDetachKeys } from '../api/detach-keys.js';

/** Options for {@link pumpStreams}. */
export interface PumpOptions {
  /** Copy local stdin to the connection (and half-close it at stdin's end). */
  stdin: boolean;
  /** The container has a tty: output is raw, and the local terminal goes raw while attached. */
  tty: boolean;
  /** Called with [rows, cols] now and on every SIGWINCH while attached (tty only). */
  resize?: (rows: number, cols: number) => void;
  /** Called once, when the first output arrives (the trace's "first output"). */
  onFirstOutput?: () => void;
  /** The --detach-keys spec (default ctrl-p,ctrl-q), watched for on a local terminal as docker's CLI does. */
  detachKeys?: string;
}

/** The chunks of `src`, telling `fn` when the first one arrives. */
async function* observeFirst<T>(src: AsyncIterable<T>, fn: () => void): AsyncGenerator<T> {
  let first = true;
  for await (const c of src) {
    if (first) {
      first = false;
      fn();
    }
    yield c;
  }
}

/**
 * Pump a hijacked attach/exec connection until its output ends: stdcopy frames demultiplexed
 * to stdout/stderr (or raw bytes for a tty), stdin copied in. With a tty on a local terminal,
 * stdin is put in raw mode (restored on return) and window changes are forwarded.
 */
export async function pumpStreams(io: Io, h: Hijacked, opts: PumpOptions): Promise<{ detached: boolean }> {
  const conn: Duplex = h.stream;
  const stdin = io.stdin;
  const raw = opts.tty && opts.stdin && stdin.isTTY === true && typeof stdin.setRawMode === 'function';
  // The daemon detaches on the keys too, but only the client can tell a detach from an exit
  // (docker's escape proxy): run then returns without waiting, attach and exec say so.
  const keys = raw ? parseDetachKeys(opts.detachKeys) : undefined;
  let typed = Buffer.alloc(0);
  let detached = false;
  if (raw) stdin.setRawMode!(true);
  let onWinch: (() => void) | undefined;
  if (opts.tty && opts.resize && io.stdout.isTTY) {
    const send = () => {
      const { rows, columns } = io.stdout;
      if (rows && columns) opts.resize!(rows, columns);
    };
    onWinch = send;
    process.on('SIGWINCH', onWinch);
  }
  const onData = (c: Buffer) => {
    if (conn.destroyed || detached) return;
    if (keys) {
      typed = Buffer.concat([typed, c]);
      detached = typed.includes(keys);
      typed = typed.subarray(-(keys.length - 1) || typed.length);
    }
    // Sent on, so the daemon lets go of the stream; then gone, whatever the daemon does.
    if (detached) conn.write(c, () => conn.destroy());
    else conn.write(c);
  };
  const onEnd = () => {
    if (!conn.destroyed) conn.end();
  };
  if (opts.stdin) {
    stdin.on('data', onData);
    stdin.once('end', onEnd);
    stdin.resume();
  }
  const src: AsyncIterable<Buffer> = opts.onFirstOutput ? observeFirst(conn, opts.onFirstOutput) : conn;
  try {
    if (h.multiplexed && !opts.tty) {
      await demux(src, io.stdout, io.stderr);
    } else {
      for await (const c of src) {
        if (!io.stdout.write(c as Buffer)) await new Promise((r) => io.stdout.once('drain', r));
      }
    }
  } catch (e) {
    // A connection reset at the end of a container's life is the end of its output.
    if ((e as NodeJS.ErrnoException).code !== 'ECONNRESET' && !detached) throw e;
  } finally {
    if (opts.stdin) {
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      stdin.pause();
      // Let the process exit although stdin is still open.
      (stdin as unknown as { unref?: () => void }).unref?.();
    }
    if (onWinch) process.off('SIGWINCH', onWinch);
    if (raw) stdin.setRawMode!(false);
    if (!conn.destroyed) conn.destroy();
  }
  return { detached };
}

/** The local terminal's [rows, cols] when stdout is a tty (for ConsoleSize), else undefined. */
export function consoleSize(io: Io): [number, number] | undefined {
  if (!io.stdout.isTTY || !io.stdout.rows || !io.stdout.columns) return undefined;
  return [io.stdout.rows, io.stdout.columns];
}
