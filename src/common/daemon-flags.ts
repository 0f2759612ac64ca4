import { existsSync } from 'node:fs';
import { join } from 'node:path';

// The node flags berthd runs with: its memory is mostly V8's, and a daemon that waits on sockets needs no optimizing compiler.
//
// Measured (berthd right after `docker load`, as bench/engine reads its RSS): 72 MiB without them,
// 54 MiB with them, for the same daemon CPU per container start (the start path is syscalls,
// SQLite and small JSON, not hot JS loops). What each one saves:
//   --no-opt --no-sparkplug   no TurboFan or baseline code: neither the machine code nor the
//                             compiler's pages of the node binary and its zone memory
//   --max-semi-space-size=1   a young generation of 2 MiB, not up to 32 MiB after a burst (a load)
//   --single-threaded-gc      no GC helper threads, each with its own malloc arena
//   --optimize-for-size       V8's smaller heap growth and caches
//   --expose-gc               for the collection once idle after work (common/idle-gc.ts)
// Not --lite-mode or --jitless: they turn WebAssembly off, and undici (image pulls) parses HTTP with it.
// bin/berthd.js's first line carries the same list and environment (daemon-flags.test.ts checks
// it), for a direct `berthd`; whoever starts it with `node` (the CLI's autostart, the test
// fixture) passes these.
export const BERTHD_NODE_FLAGS: readonly string[] = [
  '--no-opt', '--no-sparkplug', '--max-semi-space-size=1', '--single-threaded-gc', '--optimize-for-size', '--expose-gc',
];

// The daemon's allocator. Its JS heap is V8's; what is malloc'd (Buffers' memory, V8's compile
// zones, SQLite, the HTTP parser) comes in bursts: a `docker load` or a pull streams megabytes
// through 16-64 KiB blocks. glibc kept what a burst left in its brk heap whenever one small block
// was allocated after it: berthd's idle RSS 3 s after `docker load` was 53.1 to 56.2 MiB from one
// start to the next. jemalloc (Debian's libjemalloc2; scripts/setup.sh installs it), one arena,
// giving freed pages back a second after they were freed from its own thread: 53.2-53.3 every
// time, for the same published-port throughput (~1.2 GiB/s). glibc's own knobs (an mmap
// threshold of 16 KiB, trimming the heap's top) held it at 52 MiB but cost the port forwarder's
// worker 40% of its throughput (a fresh mapping for each 64 KiB socket read): they are only the
// fallback when jemalloc is not installed.
//
// bin/berthd.js's shebang names the library by its soname (ld.so finds it; when it cannot, it
// says so once and the process runs on glibc). berthd takes these variables out of its own
// environment at start (takeAllocatorEnv), so the processes it starts (berth-helper, shims,
// CNI plugins, iptables) run on their usual allocator.
export const JEMALLOC = 'libjemalloc.so.2';
export const JEMALLOC_CONF = 'narenas:1,background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0';
const JEMALLOC_DIRS = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib'];
const GLIBC_ENV: Readonly<Record<string, string>> = {
  MALLOC_MMAP_THRESHOLD_: '16384', MALLOC_TRIM_THRESHOLD_: '32768', MALLOC_TOP_PAD_: '16384',
};

/** The environment berthd is started with: jemalloc preloaded when installed, else glibc's settings. */
export function berthdEnv(dirs: readonly string[] = JEMALLOC_DIRS): Record<string, string> {
  const lib = dirs.map((d) => join(d, JEMALLOC)).find((p) => existsSync(p));
  return lib ? { LD_PRELOAD: lib, MALLOC_CONF: JEMALLOC_CONF } : { ...GLIBC_ENV };
}

/** In berthd, first thing: drop the allocator variables it was started with, so its children do not inherit them. */
export function takeAllocatorEnv(env: NodeJS.ProcessEnv = process.env): void {
  if (env.LD_PRELOAD && env.LD_PRELOAD.split(/[: ]/).every((p) => p.endsWith(JEMALLOC))) delete env.LD_PRELOAD;
  if (env.MALLOC_CONF === JEMALLOC_CONF) delete env.MALLOC_CONF;
  for (const [k, v] of Object.entries(GLIBC_ENV)) if (env[k] === v) delete env[k];
}
