// Terminals through a real berthd: /containers/{id}/resize and /exec/{id}/resize seen by `stty size` inside, and an
// interactive exec's detach keys (the client leaves, the exec's process stays), over the API and from both CLIs.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '../../src/client/client.js';
import { berthdSkipReason, DOCKER, startBerthd, type Berthd } from '../fixtures/berthd.js';
import { buildDockerSaveTar } from '../fixtures/image.js';
import { haveCommand, repoRoot } from '../fixtures/rootfs.js';

const skip = berthdSkipReason();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let d: Berthd;
let tmp: string;
let client: Client;

/** All of a hijacked stream's bytes until the daemon ends it. */
async function readAll(stream: AsyncIterable<Buffer>): Promise<string> {
  let s = '';
  for await (const c of stream) s += c.toString();
  return s;
}

/** Output of `cmd` run in a pty (script(1)) with `keys` typed into it after `delay` ms, and its stderr. */
function inPty(cmd: string, keys: string, delay: number): { out: string; err: string } {
  const typed = `sleep ${delay / 1000}; printf '${keys}'; sleep 3`;
  const errFile = join(tmp, 'pty-stderr');
  const r = spawnSync('sh', ['-c', `(${typed}) | script -qfec "${cmd} 2>${errFile}; echo exit=\\$?" /dev/null`], { encoding: 'utf8', timeout: 30000, env: { ...d.env, BERTH_NO_AUTOSTART: '1' } });
  return { out: r.stdout, err: readFileSync(errFile, 'utf8') };
}

/** The command lines of the processes running in container `name`. */
async function processes(name: string): Promise<string[]> {
  const top = await client.json<{ Processes: string[][]; Titles: string[] }>('GET', `/containers/${name}/top`);
  const cmd = top.Titles.indexOf('CMD');
  return top.Processes.map((p) => p[cmd]!);
}

describe('terminals', { skip }, () => {
  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'berth-tty-'));
    d = await startBerthd({ prefix: 'berth-tty-' });
    const load = d.docker(['load', '-i', buildDockerSaveTar(tmp, 'busybox:latest')]);
    assert.equal(load.status, 0, load.stderr);
    client = new Client({ host: d.host });
  });
  after(async () => {
    await client?.close();
    await d?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test('POST /containers/{id}/resize: the container\'s terminal takes the size', async () => {
    const { Id } = await client.json<{ Id: string }>('POST', '/containers/create', {
      query: { name: 'rsz' },
      body: { Image: 'busybox', Tty: true, Cmd: ['sh', '-c', 'sleep 1; stty size'], HostConfig: { NetworkMode: 'none' } },
    });
    const h = await client.hijack('POST', `/containers/${Id}/attach`, undefined, { query: { stream: true, stdout: true, stderr: true } });
    const out = readAll(h.stream);
    await client.request('POST', `/containers/${Id}/start`);
    await client.request('POST', `/containers/${Id}/resize`, { query: { h: 33, w: 101 } });
    assert.equal(await out, '33 101\r\n');
    // A container that is not running has no terminal to size: docker's 409.
    await client.json('POST', `/containers/${Id}/wait`);
    await assert.rejects(client.request('POST', `/containers/${Id}/resize`, { query: { h: 10, w: 10 } }), (e: Error & { status?: number }) => e.status === 409 && /is not running/.test(e.message));
  });

  test('POST /exec/{id}/resize: the exec\'s terminal takes the size', async () => {
    await client.json('POST', '/containers/create', { query: { name: 'ersz' }, body: { Image: 'busybox', Cmd: ['sleep', '300'], HostConfig: { NetworkMode: 'none' } } });
    await client.request('POST', '/containers/ersz/start');
    const { Id } = await client.json<{ Id: string }>('POST', '/containers/ersz/exec', { body: { Cmd: ['sh', '-c', 'sleep 1; stty size'], Tty: true, AttachStdout: true, AttachStderr: true } });
    const h = await client.hijack('POST', `/exec/${Id}/start`, { Detach: false, Tty: true });
    const out = readAll(h.stream);
    await client.request('POST', `/exec/${Id}/resize`, { query: { h: 33, w: 101 } });
    assert.equal(await out, '33 101\r\n');
    await client.request('DELETE', '/containers/ersz', { query: { force: true } });
  });

  test('exec DetachKeys over the API: the client is let go, the process runs on', async () => {
    await client.json('POST', '/containers/create', { query: { name: 'edk' }, body: { Image: 'busybox', Cmd: ['sleep', '300'], HostConfig: { NetworkMode: 'none' } } });
    await client.request('POST', '/containers/edk/start');
    const { Id } = await client.json<{ Id: string }>('POST', '/containers/edk/exec', {
      body: { Cmd: ['sh', '-c', 'exec sleep 4321'], Tty: true, AttachStdin: true, AttachStdout: true, AttachStderr: true, DetachKeys: 'ctrl-x,z' },
    });
    const h = await client.hijack('POST', `/exec/${Id}/start`, { Detach: false, Tty: true });
    const ended = readAll(h.stream);
    await sleep(300);
    // The default ctrl-p ctrl-q is only input now; the custom keys detach.
    h.stream.write(Buffer.from([0x10, 0x11]));
    assert.equal(await Promise.race([ended.then(() => 'ended'), sleep(500).then(() => 'attached')]), 'attached');
    h.stream.write(Buffer.from([0x18, 0x7a]));
    assert.equal(await Promise.race([ended.then(() => 'ended'), sleep(10000).then(() => 'attached')]), 'ended');
    const info = await client.json<{ Running: boolean; Pid: number }>('GET', `/exec/${Id}/json`);
    assert.equal(info.Running, true);
    assert.ok((await processes('edk')).includes('sleep 4321'));
  });

  for (const cli of ['berth', 'docker'] as const) {
    test(`${cli} exec -it --detach-keys: the keys detach, the exec's process is still in top`, { skip: haveCommand('script') ? undefined : 'needs script(1) for a pty' }, async () => {
      const name = `${cli}-edk`;
      await client.json('POST', '/containers/create', { query: { name }, body: { Image: 'busybox', Cmd: ['sleep', '300'], HostConfig: { NetworkMode: 'none' } } });
      await client.request('POST', `/containers/${name}/start`);
      const bin = cli === 'berth' ? `${process.execPath} ${join(repoRoot, 'bin', 'berth.cjs')}` : DOCKER;
      // ctrl-a then b (\001 b) is the custom sequence; sleep 5678 must outlive the client.
      const { out, err } = inPty(`${bin} -H ${d.host} exec -it --detach-keys ctrl-a,b ${name} sh -c 'exec sleep 5678'`, '\\001b', 2000);
      // docker exec reports the detach as its error.
      assert.match(out, /exit=1/, out);
      assert.equal(err, 'read escape sequence\n');
      assert.ok((await processes(name)).includes('sleep 5678'), out);
    });
  }
});
