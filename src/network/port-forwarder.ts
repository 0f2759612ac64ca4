// Published ports: one forwarder in berthd for every binding, TCP and UDP, in place of a docker-proxy per port.
//
// The sockets live in a worker thread of berthd (port-forwarder-worker.ts running a ForwarderCore), started at the
// first binding. Why: every 64 KiB read makes a new Buffer, and in berthd's large heap the garbage of a bulk
// transfer set off full collections that cost as much as the forwarding itself (bench/network measured 1.3 s of CPU
// per GiB in berthd's thread against 0.6 in a thread of its own); traffic also never delays an API request.
// TCP: each accepted connection gets its own connection to the container, piped both ways with half-close; UDP: a
// socket toward the container per client address, dropped after `udpIdleMs` without traffic (docker-proxy keeps 90 s).
import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { BerthError, errConflict, errUnavailable, type ErrorCode } from '../common/errors.js';
import { ForwarderCore, allocated, keyOf, normalise, type ForwarderLog, type PortBinding } from './port-forwarder-core.js';
import type { CallMessage, ReplyMessage, WorkerSetup } from './port-forwarder-worker.js';

export type { PortBinding } from './port-forwarder-core.js';

export interface PortForwarderOptions {
  log?: ForwarderLog;
  /** How long a UDP flow lives without traffic, in ms (default 90000). */
  udpIdleMs?: number;
  /** Run the sockets in a worker thread (default) or in the calling thread. */
  thread?: boolean;
}

interface Pending {
  resolve(b: PortBinding | undefined): void;
  reject(e: Error): void;
}

/**
 * The forwarder for all published ports of a daemon.
 *
 * ```ts
 * const pf = new PortForwarder({ log });
 * const b = await pf.add({ proto: 'tcp', hostIp: '', hostPort: 0, containerIp: '10.88.0.2', containerPort: 80 });
 * // b.hostPort is the port picked; b.hostIp is '0.0.0.0'
 * await pf.remove(b);   // closes the listener and its live connections
 * await pf.close();     // at daemon shutdown
 * ```
 */
export class PortForwarder {
  /** What is bound, as bound: list() answers from here, and a restarted worker binds it all again. */
  private readonly bound = new Map<string, PortBinding>();
  private readonly calls = new Map<number, Pending>();
  private nextId = 1;
  private worker?: Worker;
  private inline?: ForwarderCore;
  private closed = false;

  constructor(private readonly o: PortForwarderOptions = {}) {}

  /**
   * Bind the host side of `b`; resolves with the binding as bound (hostIp normalised, the port picked for 0).
   * A host port already held (by this forwarder or anyone else) is a `conflict` with dockerd's message.
   */
  async add(b: PortBinding): Promise<PortBinding> {
    const binding = normalise(b);
    if (this.closed) throw errUnavailable('port forwarder: closed');
    if (binding.hostPort !== 0 && this.bound.has(keyOf(binding))) throw errConflict(allocated(binding));
    const got = (await this.call('add', binding))!;
    this.bound.set(keyOf(got), got);
    return { ...got };
  }

  /** Close the listener of `b` and every live connection or flow through it. Unknown bindings are ignored. */
  async remove(b: PortBinding): Promise<void> {
    const key = keyOf(b);
    const had = this.bound.get(key);
    if (!had) return;
    this.bound.delete(key);
    await this.call('remove', had);
  }

  list(): PortBinding[] {
    return [...this.bound.values()].map((b) => ({ ...b }));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.bound.clear();
    if (this.inline) await this.inline.close();
    const w = this.worker;
    if (!w) return;
    await this.call('close').catch(() => undefined);
    this.worker = undefined;
    await w.terminate();
  }

  private call(op: CallMessage['op'], binding?: PortBinding): Promise<PortBinding | undefined> {
    if (this.o.thread === false) {
      this.inline ??= new ForwarderCore({ log: this.o.log, udpIdleMs: this.o.udpIdleMs });
      if (op === 'add') return this.inline.add(binding!);
      return (op === 'remove' ? this.inline.remove(binding!) : this.inline.close()).then(() => undefined);
    }
    const w = (this.worker ??= this.spawn());
    const id = this.nextId++;
    // Referenced only while a call waits, so an idle forwarder never keeps a process alive on its own.
    if (this.calls.size === 0) w.ref();
    return new Promise((resolve, reject) => {
      this.calls.set(id, { resolve, reject });
      w.postMessage({ id, op, binding } satisfies CallMessage);
    });
  }

  private spawn(): Worker {
    const setup: WorkerSetup = { udpIdleMs: this.o.udpIdleMs, debug: !!this.o.log?.debug };
    const w = new Worker(workerScript(), { workerData: setup });
    w.unref();
    w.on('message', (m: ReplyMessage) => {
      if ('log' in m) {
        if (m.log === 'warn') this.o.log?.warn(m.msg, m.fields);
        else this.o.log?.debug?.(m.msg, m.fields);
        return;
      }
      const p = this.calls.get(m.id);
      if (!p) return;
      this.calls.delete(m.id);
      if (this.calls.size === 0) w.unref();
      if (m.ok) p.resolve(m.binding);
      else p.reject(rebuild(m.error));
    });
    w.on('error', (e) => this.o.log?.warn('port forwarder: thread failed', { error: e.message }));
    w.on('exit', (code) => {
      if (this.worker !== w) return; // terminated by close()
      this.worker = undefined;
      for (const p of this.calls.values()) p.reject(errUnavailable(`port forwarder: thread exited (${code})`));
      this.calls.clear();
      if (!this.closed) void this.rebind();
    });
    return w;
  }

  /** After the thread died: a new one binds every port again (their connections are gone; the ports come back). */
  private async rebind(): Promise<void> {
    const all = [...this.bound.values()];
    this.o.log?.warn('port forwarder: thread exited, binding the published ports again', { ports: all.length });
    for (const b of all) {
      try {
        await this.call('add', b);
      } catch (e) {
        this.bound.delete(keyOf(b));
        this.o.log?.warn('port forwarder: cannot bind again', { ...b, error: (e as Error).message });
      }
    }
  }
}

/** The worker's error as a BerthError again, with the errno kept in the cause chain (errnoOf finds it). */
function rebuild(e: { code: string; message: string; errno?: string }): BerthError {
  const cause = e.errno ? Object.assign(new Error(e.errno), { code: e.errno }) : undefined;
  return new BerthError(e.code as ErrorCode, e.message, { cause });
}

/** The worker's module: beside this one, or under src/network/ when this runs from the berthd bundle (dist/berthd.cjs). */
function workerScript(): URL {
  const beside = new URL('./port-forwarder-worker.js', import.meta.url);
  return existsSync(beside) ? beside : new URL('./src/network/port-forwarder-worker.js', import.meta.url);
}
