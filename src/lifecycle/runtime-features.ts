// What a runc-compatible runtime supports (`<runtime> features`, OCI runtime-spec features.md), asked once per binary, and a spec trimmed to it.
import { execFile } from 'node:child_process';
import type { Spec } from '../runtime/spec/types.js';
import type { RuntimeConfig } from './lifecycle.js';

/** The parts of the features document the lifecycle uses. */
export interface RuntimeFeatures {
  /** Namespace types the runtime can create; undefined when it did not say. */
  namespaces?: string[];
  /** The runtime has no `features` command: it predates runtime-spec 1.1. */
  old?: boolean;
}

/**
 * The version written for a runtime older than the `features` command: the last before it. Such
 * runtimes check ociVersion (crun 1.8 takes 1.0.x and 1.1.x, refuses 1.2.0: "unknown version
 * specified"), and the fields added since are ones they would not read under any version.
 */
const OLD_RUNTIME_OCI_VERSION = '1.0.2';

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
        if (err) return resolve({ namespaces: ['cgroup', 'ipc', 'mount', 'network', 'pid', 'user', 'uts'], old: true });
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
 * Docker 29.5+ gives every container where the kernel has one, and a spec version newer than an
 * old runtime takes. Anything else is the user's request, left for the runtime to refuse with its
 * own message.
 */
export function fitSpec(spec: Spec, f: RuntimeFeatures): Spec {
  const fit = f.old ? { ...spec, ociVersion: OLD_RUNTIME_OCI_VERSION } : spec;
  const ns = fit.linux?.namespaces;
  if (!ns || !f.namespaces || f.namespaces.includes('time')) return fit;
  const t = ns.find((n) => n.type === 'time');
  if (!t || t.path || fit.linux?.timeOffsets) return fit;
  return { ...fit, linux: { ...fit.linux, namespaces: ns.filter((n) => n !== t) } };
}
