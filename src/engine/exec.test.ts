import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BerthError } from '../common/errors.js';
import { execStartFailure } from './exec.js';

// As the shim client rejects: our context in the message, the runtime's words as the cause.
const shimError = (words: string) => new BerthError('internal', `task "t": shim exec (exec "x"): ${words}`, { cause: new Error(words) });

test("a failed exec start: dockerd's exit codes and texts from the runtime's words", () => {
  const pre = 'OCI runtime exec failed: exec failed: unable to start container process: ';
  const cases: Array<[string, number, string, string]> = [
    ['exec: "/x": stat /x: no such file or directory', 127, 'invalid-argument', `${pre}exec: "/x": stat /x: no such file or directory: unknown`],
    ['exec: "x": executable file not found in $PATH', 127, 'invalid-argument', `${pre}exec: "x": executable file not found in $PATH: unknown`],
    ['exec: "/etc/passwd": permission denied', 126, 'invalid-argument', `${pre}exec: "/etc/passwd": permission denied: unknown`],
    ['exec: "/tmp": is a directory', 126, 'invalid-argument', `${pre}exec: "/tmp": is a directory: unknown: permission denied`],
    ['exec: "/etc/passwd/x": stat /etc/passwd/x: not a directory', 127, 'invalid-argument',
      `${pre}exec: "/etc/passwd/x": stat /etc/passwd/x: not a directory: unknown: Are you trying to mount a directory onto a file (or vice-versa)? Check if the specified host path exists and is the expected type`],
    ['setns: invalid argument', 128, 'internal', `${pre}setns: invalid argument: unknown`],
  ];
  for (const [words, code, kind, message] of cases) {
    const f = execStartFailure(shimError(words));
    assert.equal(f.exitCode, code, words);
    assert.equal(f.error.code, kind, words);
    assert.equal(f.error.message, message);
  }
});
