// The daemon's berth-helper (native/helper): mount(2), umount2(2), cgroup.procs writes and process starts without a fork of Node per call.
//
// Forking this process costs milliseconds that grow with its heap (the page tables are copied),
// and util-linux mount(8) adds as much again to start, so a container start and exit that each ran
// one paid both on the hot path. The helper is started once, on first use, as our child in our
// mount namespace; requests are lines on its stdin, answered by id. It holds no reference on our
// event loop while idle and exits when we do (its stdin closes).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { errInternal } from './errors.js';

/** An error the helper reported: `errno` as the kernel gave it, `code` its name (EBUSY, ...). */
export class HostHelperError extends Error {
  constructor(readonly errno: number, readonly code: string, message: string) {
    super(message);
    this.name = 'HostHelperError';
  }
}

/** errno number -> name (EBUSY, ...), from Node's table. */
const ERRNO_NAMES = new Map(Object.entries(constants.errno).map(([k, v]) => [v, k]));

/** Percent-encoding of one token, as the init plan's (docs/plan.md). */
function enc(s: string): string {
  if (s === '') return '%';
  if (/^[\x21-\x24\x26-\x7e]+$/.test(s)) return s;
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) out += b <= 0x20 || b >= 0x7f || b === 0x25 ? `%${b.toString(16).toUpperCase().padStart(2, '0')}` : String.fromCharCode(b);
  return out;
}

function dec(t: string): string {
  return t === '%' ? '' : Buffer.from(t.replace(/%([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8');
}

/** Where berth-helper lives: BERTH_HELPER, else native/build next to this package; undefined if not built. */
export function helperBinaryPath(): string | undefined {
  if (process.env.BERTH_HELPER) return process.env.BERTH_HELPER;
  let d = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++, d = dirname(d)) {
    const p = join(d, 'native', 'build', 'berth-helper');
    if (existsSync(p)) return p;
  }
  return undefined;
}

interface Pending { resolve: (result: string) => void; reject: (e: Error) => void }

/** How a process started with {@link HostHelper.spawn} ended, and what it wrote. */
export interface SpawnResult {
  /** Its exit code, or null when a signal ended it. */
  code: number | null;
  signal: number | null;
  /** stdout and stderr, interleaved as written (at most 64 KiB). */
  output: string;
}

/** One berth-helper child and its outstanding requests. */
export class HostHelper {
  private child: ChildProcess | undefined;
  private readonly pending = new Map<number, Pending>();
  private next = 1;
  private buf = '';

  constructor(private readonly binary: string) {}

  /** The helper's pid while it runs. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** mount(2). `cwd`: the directory the call runs from (relative overlay layer paths). */
  async mount(source: string, target: string, fstype: string, flags: number, data: string, cwd = ''): Promise<void> {
    await this.call(['mount', source, target, fstype, `0x${(flags >>> 0).toString(16)}`, data, cwd]);
  }

  /** umount2(2). */
  async umount(target: string, flags = 0): Promise<void> {
    await this.call(['umount', target, `0x${flags.toString(16)}`]);
  }

  /** Write the helper's own pid to `procsFile` (a cgroup.procs the helper is already in). */
  async prime(procsFile: string): Promise<void> {
    await this.call(['prime', procsFile]);
  }

  /**
   * Run `path` with `args` in a new session (stdin /dev/null, stdout and stderr one pipe, the
   * environment only PATH) and resolve once it has exited and the pipe has closed: for a process
   * that daemonizes, once every process holding the pipe has let go of it. `sealedFd3`: a file
   * the program gets at fd 3 as a sealed memfd copy, which the helper makes once and keeps while
   * the file is unchanged (berth-init, which would otherwise copy itself at every start).
   */
  async spawn(path: string, args: string[], opts: { sealedFd3?: string } = {}): Promise<SpawnResult> {
    const r = await this.call(opts.sealedFd3 ? ['spawn-sealed', opts.sealedFd3, path, ...args] : ['spawn', path, ...args]);
    const sp = r.indexOf(' ');
    const status = Number(r.slice(0, sp));
    const output = dec(r.slice(sp + 1));
    // The raw waitpid status: exited when the low 7 bits are 0.
    return (status & 0x7f) === 0 ? { code: (status >> 8) & 0xff, signal: null, output } : { code: null, signal: status & 0x7f, output };
  }

  private call(args: string[]): Promise<string> {
    const child = this.start();
    const id = this.next++;
    return new Promise<string>((resolve, reject) => {
      if (this.pending.size === 0) this.hold(child, true);
      this.pending.set(id, { resolve, reject });
      child.stdin!.write(`${id} ${args.map(enc).join(' ')}\n`);
    });
  }

  /** Keep our event loop alive only while an answer is awaited. */
  private hold(child: ChildProcess, on: boolean): void {
    const streams = [child.stdin, child.stdout] as unknown as Array<{ ref?: () => void; unref?: () => void } | null>;
    if (on) {
      child.ref();
      for (const s of streams) s?.ref?.();
    } else {
      child.unref();
      for (const s of streams) s?.unref?.();
    }
  }

  private start(): ChildProcess {
    if (this.child) return this.child;
    // Its own process group: a ^C meant for the daemon's terminal must not take it down mid-unmount.
    const child = spawn(this.binary, [], { stdio: ['pipe', 'pipe', 'ignore'], detached: true, env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } });
    this.child = child;
    child.stdout!.setEncoding('utf8').on('data', (s: string) => this.onData(s));
    child.stdin!.on('error', () => { /* a dead helper: 'exit' rejects what is pending */ });
    const gone = (why: string) => {
      if (this.child !== child) return;
      this.child = undefined;
      this.buf = '';
      const err = errInternal(`berth-helper ${why}`);
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    child.on('exit', (code, sig) => gone(`exited (${sig ?? code})`));
    child.on('error', (e) => gone(`failed: ${e.message}`));
    this.hold(child, false);
    return child;
  }

  private onData(s: string): void {
    this.buf += s;
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 1);
      const [id = '', errno = '', msg = ''] = line.split(' ', 3);
      const p = this.pending.get(Number(id));
      if (!p) continue;
      this.pending.delete(Number(id));
      if (this.pending.size === 0 && this.child) this.hold(this.child, false);
      const n = Number(errno);
      if (n === 0) p.resolve(line.slice(id.length + errno.length + 2));
      else p.reject(new HostHelperError(n, ERRNO_NAMES.get(n) ?? `errno ${n}`, dec(msg)));
    }
  }
}

let shared: HostHelper | null | undefined;

/** This process's helper, or undefined when berth-helper is not built (callers then fall back to util-linux). */
export function hostHelper(): HostHelper | undefined {
  if (shared === undefined) {
    const bin = helperBinaryPath();
    shared = bin ? new HostHelper(bin) : null;
  }
  return shared ?? undefined;
}
