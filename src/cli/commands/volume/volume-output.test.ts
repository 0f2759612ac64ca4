// `volume create/ls/inspect/rm/prune` output and requests checked against the docker CLI on the same canned answers
// (docker 28.2 joins the labels of a row in Go's random map order, newer ones sorted as berth does: one label per row here.)
// (testing/fake-daemon.ts, a TEST FAKE serving fixed JSON; not an engine).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startFakeDaemon, type FakeDaemon } from '../../testing/fake-daemon.js';
import { dockerVersion, runBerth, runDocker } from '../../testing/run-cli.js';
import { naturalLess } from './ls.js';

const skip = dockerVersion() ? false : 'the docker CLI is not installed';

const VOLS = [
  { CreatedAt: '2025-01-01T00:00:00Z', Driver: 'local', Labels: { 'com.example.a': '1' }, Mountpoint: '/var/lib/berth/volumes/web10/_data', Name: 'web10', Options: null, Scope: 'local' },
  { CreatedAt: '2025-01-02T00:00:00Z', Driver: 'local', Labels: null, Mountpoint: '/var/lib/berth/volumes/web9/_data', Name: 'web9', Options: { type: 'tmpfs', device: 'tmpfs' }, Scope: 'local' },
  { CreatedAt: '2025-01-03T00:00:00Z', Driver: 'local', Labels: { 'com.docker.volume.anonymous': '' }, Mountpoint: '/var/lib/berth/volumes/0f00/_data', Name: '0f00ba' + 'a'.repeat(58), Options: null, Scope: 'local' },
  { CreatedAt: '2025-01-04T00:00:00Z', Driver: 'local', Labels: {}, Mountpoint: '/var/lib/berth/volumes/Data/_data', Name: 'Data', Options: {}, Scope: 'local' },
];

describe('volume commands match the docker CLI', { skip }, () => {
  let fake: FakeDaemon;
  before(async () => {
    fake = await startFakeDaemon((r) => {
      if (r.path === '/volumes' && r.method === 'GET') return { json: { Volumes: VOLS, Warnings: null } };
      if (r.path === '/volumes/create') {
        const b = JSON.parse(r.body || '{}') as { Name?: string };
        return { status: 201, json: { ...VOLS[0], Name: b.Name || 'f'.repeat(64) } };
      }
      if (r.path === '/volumes/prune') return { json: { VolumesDeleted: ['a1', 'b2'], SpaceReclaimed: 123456 } };
      const m = /^\/volumes\/([^/]+)$/.exec(r.path);
      if (m) {
        const v = VOLS.find((x) => x.Name === m[1]);
        if (r.method === 'DELETE') {
          if (m[1] === 'busy') return { status: 409, json: { message: 'remove busy: volume is in use - [abc]' } };
          return v || r.query.get('force') ? { status: 204 } : { status: 404, json: { message: `get ${m[1]}: no such volume` } };
        }
        if (!v) return { status: 404, json: { message: `get ${m[1]}: no such volume` } };
        return { text: JSON.stringify(v), headers: { 'Content-Type': 'application/json' } };
      }
      return undefined;
    });
  });
  after(() => fake?.close());

  const same = async (args: string[], opts: { stderr?: boolean; input?: string; requests?: boolean } = {}) => {
    const n0 = fake.requests.length;
    const d = await runDocker(['-H', fake.host, ...args], opts.input !== undefined ? { input: opts.input } : {});
    const dReq = fake.requests.slice(n0).filter((r) => r.path.startsWith('/volumes'));
    const n1 = fake.requests.length;
    const b = await runBerth(['-H', fake.host, ...args], opts.input !== undefined ? { input: opts.input } : {});
    const bReq = fake.requests.slice(n1).filter((r) => r.path.startsWith('/volumes'));
    assert.equal(b.stdout, d.stdout, `${args.join(' ')}\n--- berth stderr: ${b.stderr}\n--- docker stderr: ${d.stderr}`);
    if (opts.stderr) assert.equal(b.stderr, d.stderr);
    assert.equal(b.code, d.code, b.stderr);
    if (opts.requests !== false) {
      // filters compared as JSON values: Go writes map keys sorted, berth in insertion order.
      const query = (q: URLSearchParams) => Object.fromEntries([...q].map(([k, v]) => [k, k === 'filters' ? JSON.parse(v) as unknown : v]));
      const shape = (rs: typeof dReq) => rs.map((r) => ({ m: r.method, p: r.path, q: query(r.query), b: r.body ? JSON.parse(r.body) as unknown : undefined }));
      assert.deepEqual(shape(bReq), shape(dReq));
    }
  };

  for (const args of [
    ['volume', 'ls'], ['volume', 'ls', '-q'], ['volume', 'ls', '--format', 'json'], ['volume', 'ls', '--format', 'raw'],
    ['volume', 'ls', '--format', 'table {{.Name}}\t{{.Labels}}\t{{.Mountpoint}}\t{{.Scope}}\t{{.Links}}\t{{.Size}}'],
    ['volume', 'ls', '--format', '{{.Name}} {{.Label "com.example.a"}}'],
    ['volume', 'ls', '-f', 'dangling=true', '-f', 'label=a=b'],
  ]) it(args.join(' '), () => same(args));

  it('volume inspect (indented raw JSON) and a missing one', () => same(['volume', 'inspect', 'web10', 'nope'], { stderr: true }));
  it('volume inspect --format', () => same(['volume', 'inspect', '--format', '{{.Name}} {{json .Labels}} {{.Options}}', 'web9', 'Data']));
  it('volume create: name, driver, options and labels in the body', () => same(['volume', 'create', '-o', 'type=tmpfs', '--opt', 'device=tmpfs', '--label', 'x=y', '--label', 'z', 'vol1']));
  it('volume create without a name', () => same(['volume', 'create']));
  it('volume rm: removed names, errors on stderr, exit 1', () => same(['volume', 'rm', 'web10', 'nope', 'busy'], { stderr: true }));
  it('volume rm -f of a missing volume', () => same(['volume', 'rm', '-f', 'nope']));
  it('volume prune -f', () => same(['volume', 'prune', '-f']));
  it('volume prune -a -f --filter label=x', () => same(['volume', 'prune', '-a', '-f', '--filter', 'label=x']));
  it('volume prune: answered yes', () => same(['volume', 'prune'], { input: 'y\n' }));
  it('volume prune: answered no (nothing sent, status 0)', () => same(['volume', 'prune', '--all'], { input: 'n\n' }));
});

describe('natural order of volume names', () => {
  it('numbers by value, digits first, fewer leading zeros first', () => {
    const names = ['web10', 'web9', 'Data', 'a', '0f', 'web09', 'web'];
    assert.deepEqual([...names].sort((a, b) => (naturalLess(a, b) ? -1 : naturalLess(b, a) ? 1 : 0)), ['0f', 'Data', 'a', 'web', 'web9', 'web09', 'web10']);
  });
});
