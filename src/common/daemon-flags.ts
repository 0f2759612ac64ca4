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

// glibc malloc: blocks of 16 KiB and more get their own mapping, given back when freed, and free
// memory at the top of the heap beyond 32 KiB is given back at once. With the defaults (an
// adaptive mmap threshold, a 128 KiB trim threshold) a burst's blocks (V8's compile zones, I/O
// buffers) came from the brk heap, and a small block allocated after them kept the freed space:
// berthd's idle RSS differed by up to 2.5 MiB of [heap] from one start or `docker load` to the
// next; now its heap is ~1.8 MiB every time. Other C libraries ignore these.
export const BERTHD_ENV: Readonly<Record<string, string>> = {
  MALLOC_MMAP_THRESHOLD_: '16384', MALLOC_TRIM_THRESHOLD_: '32768', MALLOC_TOP_PAD_: '16384',
};
