// The port forwarder's thread: runs a ForwarderCore and answers the PortForwarder's calls (see port-forwarder.ts).
import { parentPort, workerData } from 'node:worker_threads';
import { BerthError, errnoOf } from '../common/errors.js';
import { ForwarderCore, type PortBinding } from './port-forwarder-core.js';

/** A call from the PortForwarder. */
export interface CallMessage {
  id: number;
  op: 'add' | 'remove' | 'close';
  binding?: PortBinding;
}

/** What goes back: a call's result, or a log line. */
export type ReplyMessage =
  | { id: number; ok: true; binding?: PortBinding }
  | { id: number; ok: false; error: { code: string; message: string; errno?: string } }
  | { log: 'warn' | 'debug'; msg: string; fields?: object };

export interface WorkerSetup {
  udpIdleMs?: number;
  /** Whether debug lines are wanted at all (they cost a message each). */
  debug: boolean;
}

const port = parentPort!;
const setup = workerData as WorkerSetup;
const send = (m: ReplyMessage) => port.postMessage(m);
const core = new ForwarderCore({
  udpIdleMs: setup.udpIdleMs,
  log: {
    warn: (msg, fields) => send({ log: 'warn', msg, fields }),
    debug: setup.debug ? (msg, fields) => send({ log: 'debug', msg, fields }) : undefined,
  },
});

port.on('message', (m: CallMessage) => {
  const run: Promise<PortBinding | void> =
    m.op === 'add' ? core.add(m.binding!) : m.op === 'remove' ? core.remove(m.binding!) : core.close();
  run.then(
    (binding) => send({ id: m.id, ok: true, binding: binding ?? undefined }),
    (e: unknown) => send({
      id: m.id,
      ok: false,
      error: {
        code: e instanceof BerthError ? e.code : 'internal',
        message: e instanceof Error ? e.message : String(e),
        errno: errnoOf(e),
      },
    }),
  );
});
