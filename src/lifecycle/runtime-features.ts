// What a runc-compatible runtime supports (`<runtime> features`, OCI runtime-spec features.md), asked once per binary, and a spec trimmed to it.
import { execFile } from 'node:child_process';
import type { Spec } from '../runtime/spec/types.js';
import type { RuntimeConfig } from './lifecycle.js';

/** The parts of the features document the lifecycle uses. */
export interface RuntimeFeatures {
  /** Namespace types the runtime can create; undefined when it did not say. */
  namespaces?: string[];
}

const cache = new Map<string, Promise<RuntimeFeatures>>();

/**
 * The runtime's features, from `<path> [runtimeArgs] features` (runc 1.1+, crun 1.9+), cached
 * per binary and options for the life of the process. A runtime without the command (or that
 * fails it) is taken to know every namespace but `time`, which came after the command did.
 */
export function runtimeFeatures(rt: RuntimeConfig): Promise<RuntimeFeatures> {
  const key = JSON.stringify([rt.path, rt.runtimeArgs ?? []]);
  let p = cache.get(key);
  if (!p) {
    p = new Promise<RuntimeFeatures>((resolve) => {
      execFile(rt.path, [...(rt.runtimeArgs ?? []), 'features'], { timeout: 10_000, maxBuffer: 4 << 20, env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } }, (err, stdout) => {
        if (err) return resolve({ namespaces: ['cgroup', 'ipc', 'mount', 'network', 'pid', 'user', 'uts'] });
        try {
          const doc = JSON.parse(stdout) as { linux?: { namespaces?: unknown } };
          const ns = doc.linux?.namespaces;
          resolve(Array.isArray(ns) ? { namespaces: ns.map(String) } : {});
        } catch {
          resolve({});
        }
      });
    });
    cache.set(key, p);
  }
  return p;
}

/**
 * The spec without what the runtime cannot do and Berth adds on its own: the time namespace
 * Docker 29.5+ gives every container where the kernel has one. Anything else is the user's
 * request, left for the runtime to refuse with its own message.
 */
export function fitSpec(spec: Spec, f: RuntimeFeatures): Spec {
  const ns = spec.linux?.namespaces;
  if (!ns || !f.namespaces || f.namespaces.includes('time')) return spec;
  const t = ns.find((n) => n.type === 'time');
  if (!t || t.path || spec.linux?.timeOffsets) return spec;
  return { ...spec, linux: { ...spec.linux, namespaces: ns.filter((n) => n !== t) } };
}
