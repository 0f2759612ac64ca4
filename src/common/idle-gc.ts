// A full garbage collection once the daemon has gone idle after some work.
//
// V8 collects when its young generation fills up, and an idle daemon allocates nothing: what a
// burst of requests left behind (an image load's buffers, whose memory is malloc'd outside the
// JS heap and freed only when their objects are collected) stayed in berthd's RSS until V8's
// memory reducer got round to it, 8 s or more later. One collection a second after the last
// request gives it back then (measured 3 s after a `docker load`: up to 4 MiB less RSS). It
// never runs while requests keep coming, so it costs the start path nothing; it needs node's
// --expose-gc (BERTHD_NODE_FLAGS), and without it does nothing.

export class IdleGc {
  private timer: NodeJS.Timeout | undefined;
  /** Collections run so far (for tests). */
  runs = 0;

  constructor(
    private readonly gc: (() => void) | undefined,
    private readonly delayMs = 1000,
    private readonly onRun?: (r: { ms: number; rssBefore: number; rssAfter: number }) => void,
  ) {}

  /** Work ended: collect once nothing else has happened for `delayMs`. */
  poke(): void {
    if (!this.gc) return;
    if (this.timer) {
      this.timer.refresh();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.runs++;
      const rssBefore = process.memoryUsage.rss();
      const t0 = performance.now();
      this.gc!();
      this.onRun?.({ ms: performance.now() - t0, rssBefore, rssAfter: process.memoryUsage.rss() });
    }, this.delayMs);
    this.timer.unref();
  }

  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** node's `gc()` when it was started with --expose-gc. */
export function exposedGc(): (() => void) | undefined {
  const gc = (globalThis as { gc?: () => void }).gc;
  return typeof gc === 'function' ? () => gc() : undefined;
}
