// Image manifests, indexes and configs: media types, parsing with validation, platform selection, chain ids.
//
// Covers the OCI image spec (manifest.md, image-index.md, config.md) and Docker's image manifest
// v2 schema 2 / manifest list, which share one JSON shape and differ in media types.
import { createHash } from 'node:crypto';
import { errInvalid, errNotFound } from '../common/errors.js';
import type { Descriptor, Platform } from './types.js';

/** Media types Berth knows. */
export const MediaType = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  ociLayerNondist: 'application/vnd.oci.image.layer.nondistributable.v1.tar',
  ociLayerNondistGzip: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  ociLayerNondistZstd: 'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerLayerZstd: 'application/vnd.docker.image.rootfs.diff.tar.zstd',
  dockerForeignLayerGzip: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
} as const;

export type Compression = 'none' | 'gzip' | 'zstd';

const LAYER_TYPES: Record<string, Compression> = {
  [MediaType.ociLayer]: 'none',
  [MediaType.ociLayerGzip]: 'gzip',
  [MediaType.ociLayerZstd]: 'zstd',
  [MediaType.ociLayerNondist]: 'none',
  [MediaType.ociLayerNondistGzip]: 'gzip',
  [MediaType.ociLayerNondistZstd]: 'zstd',
  [MediaType.dockerLayer]: 'none',
  [MediaType.dockerLayerGzip]: 'gzip',
  [MediaType.dockerLayerZstd]: 'zstd',
  [MediaType.dockerForeignLayerGzip]: 'gzip',
};

export const isManifestType = (t: string) => t === MediaType.ociManifest || t === MediaType.dockerManifest;
export const isIndexType = (t: string) => t === MediaType.ociIndex || t === MediaType.dockerManifestList;
export const isConfigType = (t: string) => t === MediaType.ociConfig || t === MediaType.dockerConfig;
export const isLayerType = (t: string) => t in LAYER_TYPES;

/** The compression of a layer media type; invalid-argument for one that is not a layer. */
export function layerCompression(mediaType: string): Compression {
  const c = LAYER_TYPES[mediaType];
  if (!c) throw errInvalid(`layer media type "${mediaType}": not supported`);
  return c;
}

/** The compression a blob starts with (magic bytes), for archives that do not say. */
export function sniffCompression(head: Uint8Array): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  return 'none';
}

/** The OCI layer media type for a compression. */
export function ociLayerType(c: Compression): string {
  return c === 'gzip' ? MediaType.ociLayerGzip : c === 'zstd' ? MediaType.ociLayerZstd : MediaType.ociLayer;
}

export interface Manifest {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export interface Index {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

/** What a container runs with (config.md "config"); Docker's names. */
export interface ContainerConfig {
  User?: string;
  ExposedPorts?: Record<string, object>;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, object>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  ArgsEscaped?: boolean;
  Healthcheck?: { Test?: string[]; Interval?: number; Timeout?: number; StartPeriod?: number; StartInterval?: number; Retries?: number };
  OnBuild?: string[] | null;
  Shell?: string[];
  [k: string]: unknown;
}

export interface HistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

export interface ImageConfig {
  created?: string;
  author?: string;
  architecture: string;
  os: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
  config?: ContainerConfig;
  rootfs: { type: 'layers'; diff_ids: string[] };
  history?: HistoryEntry[];
  [k: string]: unknown;
}

const DIGEST_RE = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const SHA256_RE = /^sha256:[a-f0-9]{64}$/;

function parseJson(data: Uint8Array | string, what: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(typeof data === 'string' ? data : Buffer.from(data).toString('utf8'));
  } catch (e) {
    throw errInvalid(`${what}: not JSON: ${(e as Error).message}`, e);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw errInvalid(`${what}: not a JSON object`);
  return v as Record<string, unknown>;
}

const isStringMap = (v: unknown) =>
  v !== null && typeof v === 'object' && !Array.isArray(v) && Object.values(v as object).every((x) => typeof x === 'string');

/** Check a descriptor (descriptor.md): media type, digest, size; `where` names it in errors. */
export function validateDescriptor(d: unknown, where: string): Descriptor {
  if (!d || typeof d !== 'object' || Array.isArray(d)) throw errInvalid(`${where}: not a descriptor object`);
  const o = d as Record<string, unknown>;
  if (typeof o.mediaType !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/.test(o.mediaType)) {
    throw errInvalid(`${where}: invalid mediaType ${JSON.stringify(o.mediaType)}`);
  }
  if (typeof o.digest !== 'string' || !DIGEST_RE.test(o.digest)) throw errInvalid(`${where}: invalid digest ${JSON.stringify(o.digest)}`);
  if (o.digest.startsWith('sha256:') && !SHA256_RE.test(o.digest)) throw errInvalid(`${where}: invalid sha256 digest "${o.digest}"`);
  if (!o.digest.startsWith('sha256:')) throw errInvalid(`${where}: digest algorithm of "${o.digest}" not supported (only sha256)`);
  if (typeof o.size !== 'number' || !Number.isSafeInteger(o.size) || o.size < 0) throw errInvalid(`${where}: invalid size ${JSON.stringify(o.size)}`);
  if (o.urls !== undefined && (!Array.isArray(o.urls) || o.urls.some((u) => typeof u !== 'string'))) throw errInvalid(`${where}: urls must be strings`);
  if (o.annotations !== undefined && !isStringMap(o.annotations)) throw errInvalid(`${where}: annotations must map strings to strings`);
  if (o.platform !== undefined) {
    const p = o.platform as Record<string, unknown>;
    if (!p || typeof p !== 'object' || typeof p.architecture !== 'string' || typeof p.os !== 'string') {
      throw errInvalid(`${where}: platform needs architecture and os strings`);
    }
  }
  return o as unknown as Descriptor;
}

/**
 * Parse an image manifest (OCI or Docker v2s2). `mediaType` is what the container said (registry
 * header, descriptor); a manifest's own mediaType field, when present, must agree with it.
 */
export function parseManifest(data: Uint8Array | string, mediaType?: string): Manifest {
  const o = parseJson(data, 'image manifest');
  if (o.schemaVersion !== 2) throw errInvalid(`image manifest: schemaVersion must be 2, got ${JSON.stringify(o.schemaVersion)}`);
  const own = o.mediaType;
  if (own !== undefined && (typeof own !== 'string' || !isManifestType(own))) {
    throw errInvalid(`image manifest: unsupported mediaType ${JSON.stringify(own)}`);
  }
  if (mediaType !== undefined && !isManifestType(mediaType)) throw errInvalid(`image manifest: unsupported media type "${mediaType}"`);
  if (mediaType !== undefined && own !== undefined && own !== mediaType) {
    throw errInvalid(`image manifest: mediaType "${own}" does not match the descriptor's "${mediaType}"`);
  }
  if (o.manifests !== undefined) throw errInvalid('image manifest: has "manifests" (an index, not a manifest)');
  validateDescriptor(o.config, 'image manifest: config');
  if (!Array.isArray(o.layers)) throw errInvalid('image manifest: layers must be an array');
  o.layers.forEach((l, i) => validateDescriptor(l, `image manifest: layers[${i}]`));
  if (o.annotations !== undefined && !isStringMap(o.annotations)) throw errInvalid('image manifest: annotations must map strings to strings');
  if (o.subject !== undefined) validateDescriptor(o.subject, 'image manifest: subject');
  return o as unknown as Manifest;
}

/** Like parseManifest, and also requires a runnable image: a known config type and known layer types. */
export function parseImageManifest(data: Uint8Array | string, mediaType?: string): Manifest {
  const m = parseManifest(data, mediaType);
  if (!isConfigType(m.config.mediaType)) throw errInvalid(`image manifest: config media type "${m.config.mediaType}" is not an image config`);
  m.layers.forEach((l, i) => {
    if (!isLayerType(l.mediaType)) throw errInvalid(`image manifest: layers[${i}]: unknown layer media type "${l.mediaType}"`);
  });
  return m;
}

/** Parse an image index (OCI) or manifest list (Docker). */
export function parseIndex(data: Uint8Array | string, mediaType?: string): Index {
  const o = parseJson(data, 'image index');
  if (o.schemaVersion !== 2) throw errInvalid(`image index: schemaVersion must be 2, got ${JSON.stringify(o.schemaVersion)}`);
  const own = o.mediaType;
  if (own !== undefined && (typeof own !== 'string' || !isIndexType(own))) throw errInvalid(`image index: unsupported mediaType ${JSON.stringify(own)}`);
  if (mediaType !== undefined && !isIndexType(mediaType)) throw errInvalid(`image index: unsupported media type "${mediaType}"`);
  if (mediaType !== undefined && own !== undefined && own !== mediaType) {
    throw errInvalid(`image index: mediaType "${own}" does not match the descriptor's "${mediaType}"`);
  }
  if (!Array.isArray(o.manifests)) throw errInvalid('image index: manifests must be an array');
  o.manifests.forEach((m, i) => validateDescriptor(m, `image index: manifests[${i}]`));
  if (o.annotations !== undefined && !isStringMap(o.annotations)) throw errInvalid('image index: annotations must map strings to strings');
  return o as unknown as Index;
}

const isStrArray = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === 'string');

/** Parse an image config (config.md) and check what Berth relies on: os, architecture, rootfs.diff_ids. */
export function parseConfig(data: Uint8Array | string): ImageConfig {
  const o = parseJson(data, 'image config');
  if (typeof o.architecture !== 'string' || !o.architecture) throw errInvalid('image config: architecture must be a non-empty string');
  if (typeof o.os !== 'string' || !o.os) throw errInvalid('image config: os must be a non-empty string');
  const rootfs = o.rootfs as Record<string, unknown> | undefined;
  if (!rootfs || typeof rootfs !== 'object') throw errInvalid('image config: rootfs is missing');
  if (rootfs.type !== 'layers') throw errInvalid(`image config: rootfs.type must be "layers", got ${JSON.stringify(rootfs.type)}`);
  if (!Array.isArray(rootfs.diff_ids)) throw errInvalid('image config: rootfs.diff_ids must be an array');
  rootfs.diff_ids.forEach((d, i) => {
    if (typeof d !== 'string' || !SHA256_RE.test(d)) throw errInvalid(`image config: rootfs.diff_ids[${i}]: invalid digest ${JSON.stringify(d)}`);
  });
  if (o.created !== undefined && (typeof o.created !== 'string' || Number.isNaN(Date.parse(o.created)))) {
    throw errInvalid(`image config: created is not an RFC 3339 time: ${JSON.stringify(o.created)}`);
  }
  const c = o.config as Record<string, unknown> | undefined | null;
  if (c !== undefined && c !== null) {
    if (typeof c !== 'object') throw errInvalid('image config: config must be an object');
    for (const k of ['Env', 'Entrypoint', 'Cmd'] as const) {
      if (c[k] !== undefined && c[k] !== null && !isStrArray(c[k])) throw errInvalid(`image config: config.${k} must be an array of strings`);
    }
    if (c.Labels !== undefined && c.Labels !== null && !isStringMap(c.Labels)) throw errInvalid('image config: config.Labels must map strings to strings');
  }
  if (o.history !== undefined && !Array.isArray(o.history)) throw errInvalid('image config: history must be an array');
  return o as unknown as ImageConfig;
}

/** The platform Node runs on, in Go's (GOARCH) names. */
export function hostPlatform(): Platform {
  const map: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
  const p: Platform = { os: 'linux', architecture: map[process.arch] ?? process.arch };
  if (p.architecture === 'arm64') p.variant = 'v8';
  return p;
}

/** Normalize the variant so arm64 "" and "v8" match, as containerd's platforms package does. */
function variantOf(p: Platform): string {
  if (p.architecture === 'arm64') return p.variant && p.variant !== 'v8' ? p.variant : 'v8';
  if (p.architecture === 'arm') return p.variant ?? 'v7';
  return p.variant ?? '';
}

/** True if an image for `candidate` runs on `want`. */
export function platformMatches(candidate: Platform, want: Platform): boolean {
  if (candidate.os !== want.os || candidate.architecture !== want.architecture) return false;
  return !want.variant || variantOf(candidate) === variantOf(want);
}

/**
 * Pick the manifest for `platform` (default: the host) from an index. Entries without a platform
 * (attestations, artifacts) are skipped; among matches the first in index order wins, as the spec says
 * the list is in preference order. not-found names what the index offers.
 */
export function selectPlatform(index: Index, platform: Platform = hostPlatform()): Descriptor {
  const candidates = index.manifests.filter((m) => isManifestType(m.mediaType) || isIndexType(m.mediaType));
  for (const m of candidates) {
    if (m.platform && platformMatches(m.platform, platform)) return m;
  }
  const offered = candidates.map((m) => (m.platform ? fmtPlatform(m.platform) : 'unknown')).join(', ');
  throw errNotFound(`no manifest for platform ${fmtPlatform(platform)} in the index (it has: ${offered || 'none'})`);
}

/** `linux/arm64/v8`. */
export const fmtPlatform = (p: Platform) => [p.os, p.architecture, p.variant].filter(Boolean).join('/');

/** Parse `linux/amd64` or `linux/arm/v7` (the `--platform` flag). */
export function parsePlatform(s: string): Platform {
  const parts = s.split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((x) => !x)) throw errInvalid(`platform "${s}": want os/arch[/variant]`);
  return { os: parts[0], architecture: parts[1], ...(parts[2] ? { variant: parts[2] } : {}) };
}

/**
 * Chain ids of a layer stack (image-spec config.md "ChainID"): chainID(L0) = diffID(L0),
 * chainID(L0..n) = sha256(chainID(L0..n-1) + " " + diffID(Ln)). Snapshots are named by these.
 */
export function chainIds(diffIds: readonly string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) {
    const prev = out[out.length - 1];
    out.push(prev === undefined ? d : `sha256:${createHash('sha256').update(`${prev} ${d}`).digest('hex')}`);
  }
  return out;
}

/** The chain id of the whole stack (undefined for an image with no layers). */
export const chainId = (diffIds: readonly string[]): string | undefined => chainIds(diffIds).at(-1);

/** Docker's image id: the digest of the config blob. */
export const imageId = (manifest: Manifest): string => manifest.config.digest;
