// `docker version`'s Components from a private berthd: what berth-shim, the default runtime (berth's, carried out by
// berth-init, or runc) and berth-init answer to --version, in dockerd's shape (Name, Version, Details.GitCommit).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { berthdSkipReason, startBerthd } from '../fixtures/berthd.js';
import { repoRoot } from '../fixtures/rootfs.js';

const RUNC = '/usr/sbin/runc';
const NATIVE = join(repoRoot, 'native', 'build');
const PACKAGE_VERSION = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;

interface Component { Name: string; Version: string; Details: Record<string, string> }

/** `bin --version`'s first line `<name> version <v>` and `commit: <c>`, read by the test itself. */
function asked(bin: string): { version: string; commit: string } {
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return { version: /version (\S+)/.exec(r.stdout)![1]!, commit: /^commit: (.*)$/m.exec(r.stdout)![1]! };
}

async function components(config: Record<string, unknown>): Promise<{ list: Component[]; text: string }> {
  const d = await startBerthd({ prefix: 'berth-version-', config });
  try {
    const r = d.docker(['version', '--format', '{{json .Server.Components}}']);
    assert.equal(r.status, 0, r.stderr);
    return { list: JSON.parse(r.stdout) as Component[], text: d.docker(['version']).stdout };
  } finally {
    await d.stop();
  }
}

describe('docker version Components', { skip: berthdSkipReason() }, () => {
  test('berth-shim, berth (the default runtime) and berth-init: their own version and commit', async () => {
    const shim = asked(join(NATIVE, 'berth-shim'));
    const init = asked(join(NATIVE, 'berth-init'));
    // Built from this checkout: the package's version, the commit `git describe` gave at build time.
    assert.equal(shim.version, PACKAGE_VERSION);
    assert.match(shim.commit, /^[0-9a-f]{7,}(-dirty)?$/);
    const { list, text } = await components({});
    assert.equal(list[0]?.Name, 'Engine');
    assert.deepEqual(list.slice(1), [
      { Name: 'berth-shim', Version: shim.version, Details: { GitCommit: shim.commit } },
      { Name: 'berth', Version: init.version, Details: { GitCommit: init.commit } },
      { Name: 'berth-init', Version: init.version, Details: { GitCommit: init.commit } },
    ]);
    // The docker CLI's table shows each under its name.
    assert.match(text, new RegExp(`^ berth-shim:\\n  Version:\\s+${PACKAGE_VERSION}\\n  GitCommit:\\s+${shim.commit}$`, 'm'));
  });

  test('runc as the default runtime: its --version, as dockerd reports it', { skip: existsSync(RUNC) ? undefined : `missing ${RUNC}` }, async () => {
    const runc = asked(RUNC);
    const { list } = await components({ 'default-runtime': 'runc', runtimes: { runc: { path: RUNC } } });
    assert.deepEqual(list.find((c) => c.Name === 'runc'), { Name: 'runc', Version: runc.version, Details: { GitCommit: runc.commit } });
    assert.deepEqual(list.map((c) => c.Name), ['Engine', 'berth-shim', 'runc', 'berth-init']);
  });
});
