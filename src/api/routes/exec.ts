// Exec routes: create (201 {Id}), start (detached 200, or attached over the hijacked connection), resize, inspect.
import { errInvalid } from '../../common/errors.js';
import { encodeFrame, STDOUT } from '../../common/stdcopy.js';
import type { ContainerService, ExecConfig } from '../../engine/types.js';
import { parseDetachKeys } from '../detach-keys.js';
import type { Router } from '../router.js';

interface ExecStartBody {
  Detach?: boolean;
  Tty?: boolean;
  ConsoleSize?: [number, number] | null;
}

/** Register the exec routes. */
export function registerExecRoutes(router: Router, containers: ContainerService): void {
  router.post('/containers/{id}/exec', async (ctx) => {
    const body = await ctx.readJson<ExecConfig>();
    if (!body || typeof body !== 'object') throw errInvalid('config cannot be empty in order to create an exec');
    if (!Array.isArray(body.Cmd) || body.Cmd.length === 0) throw errInvalid('No exec command specified');
    if (body.DetachKeys) parseDetachKeys(body.DetachKeys);
    const r = await containers.execCreate(ctx.params['id']!, body);
    ctx.sendJson({ Id: r.Id }, 201);
  });

  router.post('/exec/{id}/start', async (ctx) => {
    const id = ctx.params['id']!;
    const body = (await ctx.readJson<ExecStartBody>()) ?? {};
    const info = await containers.execInspect(id);
    const consoleSize = body.ConsoleSize ?? undefined;
    if (body.Detach) {
      await containers.execStart(id, { detach: true, tty: info.ProcessConfig.tty, ...(consoleSize ? { consoleSize } : {}) });
      ctx.sendStatus(200);
      return;
    }
    const detachKeys = parseDetachKeys(info.DetachKeys || undefined);
    const tty = info.ProcessConfig.tty;
    const conn = ctx.hijack({ multiplexed: !tty });
    try {
      await containers.execStart(id, { detach: false, tty, ...(consoleSize ? { consoleSize } : {}) }, {
        conn,
        stdin: info.OpenStdin,
        stdout: info.OpenStdout,
        stderr: info.OpenStderr,
        detachKeys,
      });
    } catch (e) {
      // The status line went out with the hijack: dockerd writes the failure to the stream's stdout
      // (docker exec prints it, then reads the exit code from inspect).
      const line = `${(e as Error).message}\r\n`;
      if (!conn.destroyed) conn.write(tty ? line : encodeFrame(STDOUT, line));
    } finally {
      if (!conn.destroyed) conn.end();
    }
  });

  router.post('/exec/{id}/resize', async (ctx) => {
    const h = ctx.query.int('h');
    const w = ctx.query.int('w');
    if (h === undefined || w === undefined) throw errInvalid('resize: h and w are required');
    await containers.execResize(ctx.params['id']!, h, w);
    ctx.sendStatus(200);
  });

  router.get('/exec/{id}/json', (ctx) => containers.execInspect(ctx.params['id']!));
}
