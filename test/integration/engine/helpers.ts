// Shared set-up for the engine integration tests: a temp data root and exec root, the busybox image, cleanup of everything made.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Duplex } from 'node:stream';
import { openEngine, type Engine, type EngineOptions } from '../../../src/engine/engine.js';
import { loadArchive } from '../../../src/images/archive/load.js';
import { demux as demuxFrames } from '../../../src/common/stdcopy.js';
import { buildDockerSaveTar } from '../../fixtures/image.js';
import { removeCgroupTree } from '../../fixtures/cgroup.js';
import { removeBridge, testBridge } from '../../fixtures/network.js';
import { nativeBuild, rootSkipReason } from '../../fixtures/rootfs.js';

export const BUSYBOX = 'busybox:berth-test';
export const skip = rootSkipReason() ?? (existsSync(join(nativeBuild, 'berth-shim')) ? undefined : 'needs native/build/berth-shim (make -C native)');
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function until(what: string, f: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** Mount points under `dir` (to prove cleanup). */
export function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4] ?? '').filter((m) => m.startsWith(dir + '/'));
}

/** One engine world: temp roots (kept short: shim sockets live under the exec root, at most 65 bytes), a private cgroup parent. */
export class World {
  readonly root: string;
  readonly dataRoot: string;
  readonly execRoot: string;
  readonly cgroupParent = `berth-eng-${randomBytes(4).toString('hex')}`;
  engine!: Engine;

  constructor() {
    this.root = mkdtempSync('/tmp/be-');
    this.dataRoot = join(this.root, 'd');
    this.execRoot = join(this.root, 'x');
  }

  /** A default bridge of this world's own (removed at cleanup), no masquerade, no DNS forwarding. */
  readonly bridge = testBridge('bw');

  opts(): EngineOptions {
    return {
      dataRoot: this.dataRoot, execRoot: this.execRoot, cgroupParent: this.cgroupParent,
      network: { defaultBridge: this.bridge.name, bip: this.bridge.bip, ipMasq: false, dnsUpstreams: [] },
    };
  }

  async open(): Promise<Engine> {
    this.engine = await openEngine(this.opts());
    return this.engine;
  }

  async loadBusybox(): Promise<void> {
    const tar = buildDockerSaveTar(this.root, `docker.io/library/${BUSYBOX}`);
    await loadArchive(this.engine.images, tar);
    rmSync(tar, { force: true });
  }

  /** Remove every container (force), close, remove cgroups and the temp dir; asserts nothing stays mounted. */
  async cleanup(): Promise<void> {
    try {
      if (this.engine) {
        for (const c of await this.engine.containers.list({ all: true })) {
          await this.engine.containers.remove(c.Id, { force: true }).catch((e) => console.error('cleanup remove', c.Id, e));
        }
        await this.engine.close();
      }
    } finally {
      const left = mountsUnder(this.root);
      removeCgroupTree(this.cgroupParent);
      removeBridge(this.bridge.name);
      if (left.length === 0) rmSync(this.root, { recursive: true, force: true });
      assert.deepEqual(left, [], 'mounts left behind');
    }
  }
}

/** Create and start a container; returns its id. */
export async function run(e: Engine, cmd: string[], extra: Record<string, unknown> = {}, name?: string): Promise<string> {
  const { Id } = await e.containers.create({ Image: BUSYBOX, Cmd: cmd, ...extra } as never, name ? { name } : {});
  await e.containers.start(Id);
  return Id;
}

/** All log lines of a container as one string per stream. */
export async function logText(e: Engine, id: string, opts: Record<string, unknown> = {}): Promise<{ out: string; err: string; lines: Array<{ stream: string; text: string; time: string }> }> {
  const lines: Array<{ stream: string; text: string; time: string }> = [];
  for await (const l of e.containers.logs(id, { stdout: true, stderr: true, ...opts }, new AbortController().signal)) {
    lines.push({ stream: l.stream, text: l.text.toString(), time: l.time });
  }
  return {
    out: lines.filter((l) => l.stream === 'stdout').map((l) => l.text).join(''),
    err: lines.filter((l) => l.stream === 'stderr').map((l) => l.text).join(''),
    lines,
  };
}

/**
 * A fake hijacked connection: `client` is what the test writes (stdin) and `received` what the
 * engine wrote back. `conn` is the Duplex given to the engine.
 */
export function fakeConn(): { conn: Duplex; stdin: PassThrough; output: PassThrough; received: () => Buffer; closed: Promise<void> } {
  const stdin = new PassThrough();
  const output = new PassThrough();
  const chunks: Buffer[] = [];
  output.on('data', (b: Buffer) => chunks.push(b));
  const conn = Duplex.from({ readable: stdin, writable: output });
  const closed = new Promise<void>((r) => output.on('finish', () => r()));
  return { conn, stdin, output, received: () => Buffer.concat(chunks), closed };
}

/** Split stdcopy-framed bytes into stdout and stderr text. */
export async function demux(buf: Buffer): Promise<{ out: string; err: string }> {
  const o: Buffer[] = [];
  const e: Buffer[] = [];
  const po = new PassThrough().on('data', (b: Buffer) => o.push(b));
  const pe = new PassThrough().on('data', (b: Buffer) => e.push(b));
  const src = new PassThrough();
  const done = demuxFrames(src, po, pe).then(() => {});
  src.end(buf);
  await done;
  return { out: Buffer.concat(o).toString(), err: Buffer.concat(e).toString() };
}
