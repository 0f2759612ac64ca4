// Newline-delimited JSON responses (pull progress, events, stats): flushed per message, stopped cleanly on client close.
import type { ServerResponse } from 'node:http';
import { messageOf } from './errors.js';

/**
 * A streaming JSON response. Headers go out on `start()` (or the first write) so clients such
 * as `docker events` return from their request at once. Every `write` is one line, sent
 * immediately. Once the client is gone (`signal` fired), writes resolve false and do nothing,
 * so producers loop on `while (await s.write(x))` and never see an exception.
 */
export class JsonStream {
  private started = false;
  private ended = false;

  constructor(
    private readonly res: ServerResponse,
    /** Fires when the client disconnects (the request context's signal). */
    readonly signal: AbortSignal,
    private readonly opts: { status?: number; contentType?: string; headers?: Record<string, string> } = {},
  ) {}

  /** True while writes still reach the client. */
  get open(): boolean {
    return !this.ended && !this.signal.aborted && !this.res.destroyed && !this.res.writableEnded;
  }

  /** Send the status and headers now. */
  start(): void {
    if (this.started || this.res.headersSent) {
      this.started = true;
      return;
    }
    this.started = true;
    this.res.writeHead(this.opts.status ?? 200, {
      ...this.opts.headers,
      'Content-Type': this.opts.contentType ?? 'application/json',
    });
    this.res.flushHeaders();
  }

  /** Write one message as a line. Resolves false when the client is gone; waits on back-pressure. */
  async write(message: unknown): Promise<boolean> {
    if (!this.open) return false;
    this.start();
    const ok = this.res.write(JSON.stringify(message) + '\n');
    if (ok) return this.open;
    return new Promise<boolean>((resolve) => {
      const done = () => {
        this.res.off('drain', done);
        this.res.off('close', done);
        this.signal.removeEventListener('abort', done);
        resolve(this.open);
      };
      this.res.once('drain', done);
      this.res.once('close', done);
      this.signal.addEventListener('abort', done, { once: true });
    });
  }

  /**
   * Report an error inside the stream, as dockerd does once a 200 is out: a JSONMessage with
   * `errorDetail` and `error`, which docker's jsonmessage printer shows and exits non-zero on.
   */
  async writeError(err: unknown): Promise<boolean> {
    const message = messageOf(err);
    return this.write({ errorDetail: { message }, error: message });
  }

  /** Write every item of `source` until it ends or the client leaves; then end the response. */
  async pipeFrom(source: AsyncIterable<unknown>): Promise<void> {
    try {
      for await (const item of source) {
        if (!(await this.write(item))) break;
      }
    } finally {
      this.end();
    }
  }

  /** End the response (a no-op when already ended or the client is gone). */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.res.destroyed || this.res.writableEnded) return;
    this.start();
    this.res.end();
  }
}

/**
 * Split an NDJSON byte stream into parsed values (the client side of JsonStream). Blank lines are
 * skipped; a trailing line without a newline is parsed at end of input.
 */
export async function* parseNdjson(src: AsyncIterable<Buffer | string>): AsyncGenerator<unknown> {
  let rest = '';
  const decoder = new TextDecoder();
  for await (const chunk of src) {
    rest += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = rest.indexOf('\n')) >= 0) {
      const line = rest.slice(0, nl).trim();
      rest = rest.slice(nl + 1);
      if (line) yield JSON.parse(line);
    }
  }
  rest += decoder.decode();
  if (rest.trim()) yield JSON.parse(rest);
}
