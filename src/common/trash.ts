// Deleting directory trees off the request path: a rename into `<data-root>/trash` now, the
// deletion in the background.
//
// Removing a container deletes its log files and its snapshot's tree. On this machine's ext4
// (mounted with `discard`) each unlink of a file with blocks costs ~0.1 ms, and `docker run --rm`
// waits for the removal. A rename is one syscall; whoever asks next finds the path free (a new
// snapshot may reuse the id), and the tree goes on the thread pool meanwhile. What a crash or a
// stop leaves in the trash is deleted at the next start (`init`). Where the rename cannot be made
// (the path is on another filesystem) the tree is deleted before `discard` returns.
import { mkdirSync, readdirSync, renameSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { removeTree } from './remove-tree.js';

export class Trash {
  private readonly pending = new Set<Promise<void>>();
  private seq = 0;

  constructor(readonly dir: string, private readonly onError?: (path: string, err: Error) => void) {}

  /** Make the trash dir and start deleting what a previous run left in it. */
  init(): this {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    for (const name of readdirSync(this.dir)) this.delete(join(this.dir, name));
    return this;
  }

  /** Take `path` (a file or a tree) away now and delete it in the background. A missing path is fine. */
  async discard(path: string): Promise<void> {
    const to = join(this.dir, `${basename(path)}.${process.pid}.${++this.seq}`);
    try {
      renameSync(path, to);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      await removeTree(path); // EXDEV (another filesystem) and the like: the slow way, here
      return;
    }
    this.delete(to);
  }

  /** Deletions still under way. */
  get size(): number {
    return this.pending.size;
  }

  /** Wait for the deletions under way (at stop, and in tests). */
  async drain(): Promise<void> {
    while (this.pending.size) await Promise.all([...this.pending]);
  }

  private delete(path: string): void {
    // A late writer (a save under way when the tree was discarded) may add a file while the tree
    // goes: rm then finds a dir not empty, and retries.
    const job: Promise<void> = rm(path, { recursive: true, force: true, maxRetries: 5, retryDelay: 20 })
      .catch((e: Error) => this.onError?.(path, e))
      .finally(() => this.pending.delete(job));
    this.pending.add(job);
  }
}
