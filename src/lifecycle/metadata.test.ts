// Unit tests for the metadata store: schema version, not-found / already-exists / conflict, transactions, reopen.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { errorCode } from '../common/errors.js';
import type { Spec } from '../runtime/spec/types.js';
import { DEFAULT_NAMESPACE, MetadataStore, SCHEMA_VERSION } from './metadata.js';

const spec: Spec = { ociVersion: '1.0.2', root: { path: '/r' }, process: { user: { uid: 0, gid: 0 }, cwd: '/', args: ['true'] } };
const ctr = (id: string) => ({ namespace: DEFAULT_NAMESPACE, id, imageRef: 'busybox:latest', spec, rootfs: '/r', snapshotKey: `snap-${id}`, labels: { a: 'b' }, runtime: 'io.berth.shim.v1' });

function withStore(f: (md: MetadataStore, file: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'berth-md-'));
  const file = join(dir, 'metadata.db');
  const md = MetadataStore.open(file);
  try {
    f(md, file);
  } finally {
    md.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('schema: user_version is set, WAL is on, reopening keeps data', () => {
  withStore((md, file) => {
    assert.equal(md.schemaVersion, SCHEMA_VERSION);
    assert.equal(md.db.pragma('journal_mode', { simple: true }), 'wal');
    md.createContainer(ctr('a'));
    md.close();
    const again = MetadataStore.open(file);
    try {
      assert.equal(again.getContainer(DEFAULT_NAMESPACE, 'a').imageRef, 'busybox:latest');
      assert.deepEqual(again.listNamespaces(), [DEFAULT_NAMESPACE]);
    } finally {
      again.close();
    }
  });
});

test('schema: a newer file than this code understands is refused', () => {
  withStore((md, file) => {
    md.db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    md.close();
    assert.throws(() => MetadataStore.open(file), (e) => errorCode(e) === 'invalid-argument');
  });
});

test('containers: create, get, list, update, delete; not-found and already-exists', () => {
  withStore((md) => {
    const c = md.createContainer(ctr('a'));
    assert.ok(c.createdAt);
    assert.deepEqual(md.getContainer(DEFAULT_NAMESPACE, 'a').spec, spec);
    assert.throws(() => md.createContainer(ctr('a')), (e) => errorCode(e) === 'already-exists' && /container "a"/.test((e as Error).message));
    assert.throws(() => md.getContainer(DEFAULT_NAMESPACE, 'zz'), (e) => errorCode(e) === 'not-found');
    assert.throws(() => md.getContainer('other', 'a'), (e) => errorCode(e) === 'not-found');
    md.createContainer(ctr('b'));
    assert.deepEqual(md.listContainers(DEFAULT_NAMESPACE).map((x) => x.id), ['a', 'b']);
    const u = md.updateContainer(DEFAULT_NAMESPACE, 'a', { labels: { x: 'y' } });
    assert.deepEqual(u.labels, { x: 'y' });
    assert.equal(md.deleteContainer(DEFAULT_NAMESPACE, 'a').snapshotKey, 'snap-a');
    assert.throws(() => md.deleteContainer(DEFAULT_NAMESPACE, 'a'), (e) => errorCode(e) === 'not-found');
  });
});

test('tasks: need their container, one per container, patch and conditional patch', () => {
  withStore((md) => {
    const t0 = { namespace: DEFAULT_NAMESPACE, containerId: 'a', status: 'creating' as const, dir: '/s/a', cgroupPath: 'berth/a' };
    assert.throws(() => md.createTask(t0), (e) => errorCode(e) === 'not-found');
    md.createContainer(ctr('a'));
    const t = md.createTask({ ...t0, terminal: true, logPath: '/l' });
    assert.equal(t.status, 'creating');
    assert.equal(t.terminal, true);
    assert.equal(t.exitCode, null);
    assert.throws(() => md.createTask(t0), (e) => errorCode(e) === 'already-exists');
    assert.throws(() => md.deleteContainer(DEFAULT_NAMESPACE, 'a'), (e) => errorCode(e) === 'conflict');
    const u = md.updateTask(DEFAULT_NAMESPACE, 'a', { status: 'running', pid: 42, shimPid: 41 });
    assert.deepEqual([u.status, u.pid, u.shimPid], ['running', 42, 41]);
    const stopped = md.updateTaskIf(DEFAULT_NAMESPACE, 'a', (r) => r.status !== 'stopped', { status: 'stopped', exitCode: 3, oomKilled: true });
    assert.equal(stopped?.exitCode, 3);
    assert.equal(stopped?.oomKilled, true);
    // The first exit wins.
    assert.equal(md.updateTaskIf(DEFAULT_NAMESPACE, 'a', (r) => r.status !== 'stopped', { exitCode: 9 }), undefined);
    assert.equal(md.getTask(DEFAULT_NAMESPACE, 'a').exitCode, 3);
    assert.throws(() => md.updateTask(DEFAULT_NAMESPACE, 'zz', { pid: 1 }), (e) => errorCode(e) === 'not-found');
    md.deleteTask(DEFAULT_NAMESPACE, 'a');
    assert.throws(() => md.deleteTask(DEFAULT_NAMESPACE, 'a'), (e) => errorCode(e) === 'not-found');
    assert.equal(md.findTask(DEFAULT_NAMESPACE, 'a'), undefined);
    md.deleteContainer(DEFAULT_NAMESPACE, 'a');
  });
});

test('transactions: a failure rolls every change of the transaction back', () => {
  withStore((md) => {
    assert.throws(() => md.transaction(() => {
      md.createContainer(ctr('a'));
      md.createTask({ namespace: DEFAULT_NAMESPACE, containerId: 'a', status: 'created', dir: '/s', cgroupPath: 'c' });
      md.createContainer(ctr('a')); // already-exists: the whole transaction goes
    }), (e) => errorCode(e) === 'already-exists');
    assert.deepEqual(md.listContainers(DEFAULT_NAMESPACE), []);
    assert.deepEqual(md.listTasks(), []);
  });
});

test('namespaces: created on demand, deleted only when empty', () => {
  withStore((md) => {
    md.createContainer({ ...ctr('a'), namespace: 'k8s.io' });
    assert.deepEqual(md.listNamespaces(), ['k8s.io']);
    assert.throws(() => md.deleteNamespace('k8s.io'), (e) => errorCode(e) === 'conflict');
    md.deleteContainer('k8s.io', 'a');
    md.deleteNamespace('k8s.io');
    assert.throws(() => md.deleteNamespace('k8s.io'), (e) => errorCode(e) === 'not-found');
    assert.throws(() => md.ensureNamespace('../x'), (e) => errorCode(e) === 'invalid-argument');
  });
});
