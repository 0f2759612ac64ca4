// `docker top`: the host's ps(1) output, limited to the container's processes, in Docker's Titles/Processes shape.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { errInvalid, errPrecondition } from '../common/errors.js';

const run = promisify(execFile);

/** Split ps output into titles and rows; the last column keeps its spaces (the command line). */
export function parsePs(output: string, pids: ReadonlySet<number>): { Titles: string[]; Processes: string[][] } {
  const lines = output.split('\n').filter((l) => l.trim() !== '');
  if (lines.length === 0) return { Titles: [], Processes: [] };
  const titles = lines[0]!.trim().split(/\s+/);
  const pidIndex = titles.indexOf('PID');
  if (pidIndex < 0) throw errInvalid('Couldn\'t find PID field in ps output');
  const procs: string[][] = [];
  for (const line of lines.slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < titles.length) continue;
    const row = fields.slice(0, titles.length - 1);
    row.push(fields.slice(titles.length - 1).join(' '));
    const pid = Number(row[pidIndex]);
    if (Number.isInteger(pid) && pids.has(pid)) procs.push(row);
  }
  return { Titles: titles, Processes: procs };
}

/** Run `ps <psArgs>` (default `-ef`, as dockerd) and keep the rows of `pids`. */
export async function top(pids: number[], psArgs = '-ef'): Promise<{ Titles: string[]; Processes: string[][] }> {
  const args = psArgs.trim() ? psArgs.trim().split(/\s+/) : ['-ef'];
  let stdout: string;
  try {
    ({ stdout } = await run('ps', args, { maxBuffer: 64 * 1024 * 1024 }));
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw errPrecondition(`ps: ${(err.stderr || err.message).trim()}`, e);
  }
  return parsePs(stdout, new Set(pids));
}
