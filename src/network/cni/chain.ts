// A CNI network configuration list run as libcni does: ADD through the chain with prevResult, CHECK and DEL with the cached ADD result, DEL in reverse.
import { invokePlugin, type CniResult, type CniRuntimeConf } from './invoke.js';

/** A network configuration list (CNI 1.0 §"Network configuration lists"). */
export interface CniConfList {
  cniVersion: string;
  name: string;
  plugins: Array<{ type: string; [k: string]: unknown }>;
}

function pluginConf(list: CniConfList, p: CniConfList['plugins'][number], prev: CniResult | undefined): object {
  return { ...p, cniVersion: list.cniVersion, name: list.name, ...(prev ? { prevResult: prev } : {}) };
}

/** ADD: each plugin in order, each given the previous result; the last result is the network's. */
export async function cniAdd(list: CniConfList, rt: CniRuntimeConf, path: string[]): Promise<CniResult> {
  let prev: CniResult | undefined;
  for (const p of list.plugins) prev = (await invokePlugin(p.type, 'ADD', pluginConf(list, p, prev), rt, path)) ?? prev;
  return prev ?? { cniVersion: list.cniVersion };
}

/** CHECK with the cached result of the ADD. */
export async function cniCheck(list: CniConfList, rt: CniRuntimeConf, cached: CniResult, path: string[]): Promise<void> {
  for (const p of list.plugins) await invokePlugin(p.type, 'CHECK', pluginConf(list, p, cached), rt, path);
}

/** DEL in reverse order with the cached result; plugins must tolerate what is already gone (CNI 1.0 §"DEL"). */
export async function cniDel(list: CniConfList, rt: CniRuntimeConf, cached: CniResult | undefined, path: string[]): Promise<void> {
  let first: unknown;
  for (const p of [...list.plugins].reverse()) {
    try {
      await invokePlugin(p.type, 'DEL', pluginConf(list, p, cached), rt, path);
    } catch (e) {
      first ??= e;
    }
  }
  if (first) throw first;
}
