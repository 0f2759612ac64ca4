// bench/images: pull + unpack of a multi-layer image from a local registry, side by side: Berth, `ctr pull`
// (a private containerd) and `docker pull` (a private dockerd). Medians and ratios.
//
// Run as root: `node dist/bench/images.js [--runs N]`. The image (4 gzip layers of Debian files, tens of MB) is
// built here, pushed with Berth's own push into a docker-registry started here on 127.0.0.1; all traffic stays local.
// Without root, or without containerd/dockerd, those columns are skipped and say why.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { LocalContentStore } from '../src/images/content/local-store.js';
import { parseConfig, parseManifest } from '../src/images/manifest.js';
import { createSnapshotTables } from '../src/images/snapshots/metadata.js';
import { NativeSnapshotter } from '../src/images/snapshots/native.js';
import { OverlaySnapshotter } from '../src/images/snapshots/overlay.js';
import { unpackImage } from '../src/images/unpack.js';
import { pull } from '../src/images/distribution/pull.js';
import { push } from '../src/images/distribution/push.js';
import type { Descriptor } from '../src/images/types.js';
import { containerdSkipReason, dockerdSkipReason, makeTestCgroup, startContainerd, startDockerd, unmountUnder,
  type Containerd, type Dockerd } from '../test/fixtures/daemons.js';
import { registrySkipReason, startRegistry, type Registry } from '../test/fixtures/registry.js';
import { tempDir } from '../test/fixtures/rootfs.js';

const args = process.argv.slice(2);
const runs = Number(args[args.indexOf('--runs') + 1] ?? 0) || 5;
const isRoot = process.getuid?.() === 0;

/** Debian dirs that make the layers: a few tens of MB, many small files (what unpack really pays for). */
const LAYERS: string[][] = [
  ['usr/share/perl'],
  ['usr/share/i18n', 'usr/share/zoneinfo'],
  ['usr/lib/python3.11'],
  ['etc'],
];
const DETERMINISTIC = ['--numeric-owner', '--owner=0', '--group=0', '--sort=name', '--mtime=@0', '--format=gnu'];
const sha256 = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function goArch(): string {
  const map: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x' };
  return map[process.arch] ?? process.arch;
}

/** Build the image into `content`: gzip layers of host dirs, an OCI config and manifest. */
async function buildImage(content: LocalContentStore, work: string): Promise<{ target: Descriptor; bytes: number }> {
  const layers: Descriptor[] = [];
  const diffIds: string[] = [];
  let bytes = 0;
  for (const [i, dirs] of LAYERS.entries()) {
    const present = dirs.filter((d) => existsSync(join('/', d)));
    if (present.length === 0) continue;
    const out = join(work, `layer-${i}.tar`);
    // Unreadable files and sockets are skipped, not fatal: the layer only needs to be big and real.
    const r = spawnSync('tar', [...DETERMINISTIC, '--ignore-failed-read', '-C', '/', '-cf', out, '--', ...present], { encoding: 'utf8' });
    if (r.status !== 0 && r.status !== 1) throw new Error(`tar ${present.join(' ')}: ${r.stderr}`);
    const tar = readFileSync(out);
    rmSync(out);
    const gz = gzipSync(tar, { level: 6 });
    diffIds.push(sha256(tar));
    layers.push(await content.writeBlob(gz, { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' }));
    bytes += gz.length;
  }
  const config = await content.writeBlob(Buffer.from(JSON.stringify({
    architecture: goArch(), os: 'linux', created: '1970-01-01T00:00:00Z',
    config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['/bin/sh'] },
    rootfs: { type: 'layers', diff_ids: diffIds },
  })), { mediaType: 'application/vnd.oci.image.config.v1+json' });
  const target = await content.writeBlob(Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config, layers,
  })), { mediaType: 'application/vnd.oci.image.manifest.v1+json' });
  return { target, bytes };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

interface Candidate { name: string; skip?: string; run?: (i: number) => Promise<void>; reset?: (i: number) => Promise<void> }

async function main(): Promise<void> {
  const regSkip = registrySkipReason();
  if (regSkip) {
    console.error(`bench/images: ${regSkip}`);
    process.exit(2);
  }
  const tmp = tempDir('berth-bench-images-');
  let registry: Registry | undefined;
  let containerd: Containerd | undefined;
  let dockerd: Dockerd | undefined;
  const cgroup = isRoot ? makeTestCgroup('bench-images') : 'not root';
  try {
    const src = await new LocalContentStore(join(tmp.path, 'src-content')).init();
    const built = await buildImage(src, tmp.path);
    registry = await startRegistry();
    const ref = `${registry.host}/bench/debian-files:1`;
    await push(ref, { content: src, target: built.target, registry: { dockerConfigDir: join(tmp.path, 'no-docker-config') } });
    const manifest = parseManifest(await src.read(built.target.digest));
    console.log(`image ${ref}: ${manifest.layers.length} gzip layers, ${(built.bytes / 1e6).toFixed(1)} MB compressed; ${runs} runs each`);

    // Berth keeps one data root across runs, as containerd and dockerd keep theirs, and between
    // runs removes the image's snapshots (top first) and blobs, as `ctr images rm --sync` does.
    // A fresh root per run would be slower for a reason that is not Berth's: on this machine's
    // ext4 without a journal, files created where many were just deleted cost ~1 ms each.
    let store: { content: LocalContentStore; db: InstanceType<typeof Database>; snap: OverlaySnapshotter | NativeSnapshotter } | undefined;
    const berth: Candidate = {
      name: 'berth pull+unpack',
      run: async () => {
        if (!store) {
          const root = join(tmp.path, 'berth');
          const content = await new LocalContentStore(join(root, 'content')).init();
          const db = new Database(join(root, 'meta.db'));
          createSnapshotTables(db);
          const snap = isRoot
            ? await new OverlaySnapshotter(db, join(root, 'snapshots')).init()
            : await new NativeSnapshotter(db, join(root, 'snapshots')).init();
          store = { content, db, snap };
        }
        const { content, snap } = store;
        await pull(ref, {
          content, registry: { dockerConfigDir: join(tmp.path, 'no-docker-config') },
          unpack: async (r) => {
            const m = parseManifest(await content.read(r.manifest.digest), r.manifest.mediaType);
            const c = parseConfig(await content.read(r.config.digest));
            await unpackImage(content, snap, m, c, { whiteouts: isRoot ? 'overlay' : 'native' });
          },
        });
      },
      reset: async () => {
        if (!store) return;
        const { content, snap } = store;
        const all = await snap.list();
        const byParent = new Map(all.map((x) => [x.parent, x]));
        const chain: string[] = [];
        for (let cur = byParent.get(undefined); cur; cur = byParent.get(cur.name)) chain.push(cur.name);
        for (const name of chain.reverse()) await snap.remove(name);
        for (const b of await content.list()) await content.delete(b.digest);
      },
    };

    const ctrSkip = containerdSkipReason();
    const ctrd: Candidate = ctrSkip ? { name: 'ctr pull (containerd)', skip: ctrSkip } : {
      name: 'ctr pull (containerd)',
      run: async () => {
        containerd ??= await startContainerd(join(tmp.path, 'containerd'));
        // --plain-http: containerd has no insecure-registry list of its own; this is the ctr way to say it.
        const r = containerd.ctr('bench', ['images', 'pull', '--plain-http', ref], { timeout: 300000 });
        if (r.status !== 0) throw new Error(`ctr pull: ${r.stderr}`);
      },
      reset: async () => {
        const rm = containerd!.ctr('bench', ['images', 'rm', '--sync', ref]);
        if (rm.status !== 0) throw new Error(`ctr images rm: ${rm.stderr}`);
        const left = containerd!.ctr('bench', ['content', 'ls', '-q']).stdout.trim();
        if (left) throw new Error(`containerd kept content after rm --sync: ${left}`);
      },
    };

    const dSkip = dockerdSkipReason() ?? (typeof cgroup === 'string' ? cgroup : undefined);
    const docker: Candidate = dSkip ? { name: 'docker pull (dockerd)', skip: dSkip } : {
      name: 'docker pull (dockerd)',
      run: async () => {
        // dockerd treats 127.0.0.0/8 as insecure by default: the registry needs no daemon.json entry.
        dockerd ??= await startDockerd(join(tmp.path, 'dockerd'), { cgroupParent: (cgroup as { path: string }).path });
        const r = dockerd.docker(['pull', '-q', ref], { timeout: 300000 });
        if (r.status !== 0) throw new Error(`docker pull: ${r.stderr}`);
      },
      reset: async () => {
        const r = dockerd!.docker(['rmi', ref]);
        if (r.status !== 0) throw new Error(`docker rmi: ${r.stderr}`);
      },
    };

    const candidates = [berth, ctrd, docker];
    const times = new Map<string, number[]>(candidates.map((c) => [c.name, []]));
    // Warm-up (daemon start, page cache), not timed; then interleaved runs so drift hits everyone alike.
    for (const c of candidates) {
      if (c.skip) continue;
      try {
        await c.run!(-1);
        await c.reset!(-1);
      } catch (e) {
        c.skip = `failed: ${(e as Error).message.split('\n')[0]}`;
      }
    }
    for (let i = 0; i < runs; i++) {
      for (const c of candidates) {
        if (c.skip) continue;
        const t0 = process.hrtime.bigint();
        await c.run!(i);
        times.get(c.name)!.push(Number(process.hrtime.bigint() - t0) / 1e6);
        await c.reset!(i);
      }
    }
    store?.db.close();
    const base = median(times.get(berth.name)!);
    console.log('');
    console.log(`${'candidate'.padEnd(26)} ${'median ms'.padStart(10)} ${'min ms'.padStart(9)} ${'max ms'.padStart(9)} ${'vs berth'.padStart(9)}`);
    for (const c of candidates) {
      if (c.skip) {
        console.log(`${c.name.padEnd(26)} skipped: ${c.skip}`);
        continue;
      }
      const t = times.get(c.name)!;
      const m = median(t);
      console.log(`${c.name.padEnd(26)} ${m.toFixed(0).padStart(10)} ${Math.min(...t).toFixed(0).padStart(9)} ${Math.max(...t).toFixed(0).padStart(9)} ${(m / base).toFixed(2).padStart(8)}x`);
    }
  } finally {
    await dockerd?.stop().catch((e: Error) => console.error(`dockerd stop: ${e.message}`));
    await containerd?.stop().catch((e: Error) => console.error(`containerd stop: ${e.message}`));
    await registry?.stop();
    if (typeof cgroup !== 'string') await cgroup.cleanup();
    unmountUnder(tmp.path);
    mkdirSync(tmp.path, { recursive: true });
    tmp.cleanup();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
