// Where a task's unix sockets live: short names under `<stateDir>/s/`, as containerd keeps its shim sockets in /run/containerd/s.
import { createHash } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { errInvalid } from '../common/errors.js';

/** The longest path a unix socket address holds: `sun_path` is 108 bytes with its NUL. */
export const SUN_PATH_MAX = 107;

/** The dir under the state dir that holds every task's sockets. */
export const SOCKET_DIR = 's';

const TASK_HASH_LEN = 24;
const EXEC_TAG_LEN = 8;

/** The longest socket name: an exec's console socket `<24 hex>-x<8 hex>.sock`. */
const LONGEST_NAME = TASK_HASH_LEN + '-x'.length + EXEC_TAG_LEN + '.sock'.length;

/**
 * The longest state dir whose sockets still fit `sun_path`: `<stateDir>/s/<longest name>` is
 * 107 bytes at most, so 65. The task dir itself (namespace, 64-hex id) may be of any length.
 */
export const MAX_STATE_DIR = SUN_PATH_MAX - `/${SOCKET_DIR}/`.length - LONGEST_NAME;

/** The unix sockets of one task: where its shim serves, and where berth-init hands it a pty master. */
export interface TaskSockets {
  /** The shim's control socket (berth-shim `--socket`). */
  control: string;
  /** The container's console socket (the create plan's `console-socket`; transient). */
  console: string;
  /** The console socket of exec `execId` (its plan's `console-socket`; transient). */
  exec(execId: string): string;
  /** The prefix every one of these file names starts with, for cleaning up after a dead shim. */
  prefix: string;
}

/** A short, stable file-name part for an exec id (Docker's are 64 hex chars). */
export const execTag = (execId: string): string => createHash('sha256').update(execId).digest('hex').slice(0, EXEC_TAG_LEN);

/** `<stateDir>/s`, for the state dir a task dir `<stateDir>/<namespace>/<id>` is in. */
export const socketDirOf = (taskDir: string): string => join(dirname(dirname(taskDir)), SOCKET_DIR);

/**
 * The sockets of the task whose dir is `taskDir` (`<stateDir>/<namespace>/<id>`): named by the
 * first 24 hex of sha256(taskDir) in `<stateDir>/s/`. A function of the task dir alone, so a
 * new owner (after a restart) finds a running shim from the task row's dir.
 */
export function taskSockets(taskDir: string): TaskSockets {
  const dir = socketDirOf(taskDir);
  const prefix = createHash('sha256').update(taskDir).digest('hex').slice(0, TASK_HASH_LEN);
  return {
    control: join(dir, `${prefix}.sock`),
    console: join(dir, `${prefix}-c.sock`),
    exec: (execId) => join(dir, `${prefix}-x${execTag(execId)}.sock`),
    prefix,
  };
}

/** Refuse a state dir too long for its sockets, naming the limit (`invalid-argument`). */
export function checkStateDirLength(stateDir: string, what = 'state dir'): void {
  const n = Buffer.byteLength(resolve(stateDir));
  if (n > MAX_STATE_DIR) {
    throw errInvalid(
      `${what} "${stateDir}" is too long (${n} bytes; at most ${MAX_STATE_DIR}): its task sockets ` +
        `${join(stateDir, SOCKET_DIR, `<${LONGEST_NAME}-byte name>`)} must fit a unix socket path (${SUN_PATH_MAX} bytes)`,
    );
  }
}
