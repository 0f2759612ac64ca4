// The engine's networking on the real kernel and CNI plugins: a sandbox a crash left unrecorded is undone at reopen; a stopped container gives back its lease and netns.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { openEngine } from '../../../src/engine/engine.js';
import { BUSYBOX, World, run, skip as engineSkip } from './helpers.js';

const skip = engineSkip ?? (existsSync('/usr/lib/cni/bridge') ? undefined : 'needs containernetworking-plugins');

const leases = (w: World) => {
  const d = join(w.dataRoot, 'network', 'ipam');
  return existsSync(d) ? readdirSync(d, { recursive: true }).map(String).filter((f) => /\d+\.\d+\.\d+\.\d+$/.test(f)) : [];
};
const vethsOnBridge = (bridge: string) => (existsSync(`/sys/class/net/${bridge}/brif`) ? readdirSync(`/sys/class/net/${bridge}/brif`) : []);

describe('engine: networks', { skip }, () => {
  const w = new World();
  before(async () => {
    await w.open();
    await w.loadBusybox();
  });
  after(() => w.cleanup());

  it('a stopped container gives back its address, veth and pinned netns', async () => {
    const e = w.engine;
    const id = await run(e, ['sleep', '30']);
    const ip = (await e.containers.inspect(id)).NetworkSettings.Networks.bridge!.IPAddress;
    assert.match(ip, /^10\.\d+\.\d+\.\d+$/);
    assert.deepEqual(leases(w).map((f) => f.split('/').pop()), [ip]);
    assert.equal(vethsOnBridge(w.bridge.name).length, 1);
    await e.containers.stop(id, { timeout: 0 });
    assert.deepEqual(leases(w), []);
    assert.deepEqual(vethsOnBridge(w.bridge.name), []);
    assert.equal(existsSync(e.networks.sandboxPath(id)), false);
    await e.containers.remove(id, {});
  });

  it('CNI CHECK with the cached result: passes on a running container, fails once its interface is gone', async () => {
    const e = w.engine;
    const id = await run(e, ['sleep', '30']);
    const key = (await e.containers.inspect(id)).NetworkSettings.SandboxKey;
    await e.containers.checkNetwork(id);
    assert.equal(spawnSync('nsenter', [`--net=${key}`, 'ip', 'link', 'delete', 'eth0']).status, 0);
    await assert.rejects(e.containers.checkNetwork(id), /CNI plugin bridge/);
    await e.containers.remove(id, { force: true });
    assert.equal(existsSync(key), false);
  });

  it('a sandbox made but not recorded (a crash inside start) is undone when the engine opens again', async () => {
    const e = w.engine;
    const { Id } = await e.containers.create({ Image: BUSYBOX, Cmd: ['true'] }, {});
    // What start does before it records the sandbox: pin the netns, CNI ADD.
    const c = await e.containers.inspect(Id);
    await e.networks.attach({ id: Id, name: c.Name.slice(1), hostname: c.Config.Hostname ?? '', networks: [{ name: 'bridge' }], ports: {}, publishAll: false, exposed: [] });
    assert.equal(leases(w).length, 1);
    assert.ok(existsSync(e.networks.sandboxPath(Id)));
    await e.close();
    w.engine = await openEngine(w.opts());
    assert.deepEqual(leases(w), []);
    assert.deepEqual(vethsOnBridge(w.bridge.name), []);
    assert.equal(existsSync(w.engine.networks.sandboxPath(Id)), false);
    // and it starts normally afterwards
    await w.engine.containers.start(Id);
    assert.equal((await w.engine.containers.wait(Id, 'not-running')).StatusCode, 0);
    await w.engine.containers.remove(Id, {});
  });
});
