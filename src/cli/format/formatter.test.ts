// Tests for docker's --format conventions: table headers, json lines, plain templates.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatRows, headerLabel, isJSONFormat, isTableFormat, parseFormat, templateString } from './formatter.js';
import { isInvalid } from '../../common/errors.js';

class ContainerRow {
  constructor(private readonly c: { id: string; image: string; name: string; status: string }) {}
  get ID() { return this.c.id.slice(0, 12); }
  get Image() { return this.c.image; }
  get Command() { return '"sh"'; }
  get Names() { return this.c.name; }
  get Status() { return this.c.status; }
  get Ports() { return ''; }
  Label(name: string) { return name === 'app' ? 'web' : ''; }
}
const header = { ID: 'CONTAINER ID', Image: 'IMAGE', Command: 'COMMAND', RunningFor: 'CREATED', Status: 'STATUS', Ports: 'PORTS', Names: 'NAMES' };
const rows = [
  new ContainerRow({ id: 'abc123def4567890', image: 'busybox', name: 'web', status: 'Up 2 minutes' }),
  new ContainerRow({ id: '0123456789abcdef', image: 'nginx:latest-long-name', name: 'db', status: 'Exited (0) 5 seconds ago' }),
];
const psTable = 'table {{.ID}}\\t{{.Image}}\\t{{.Command}}\\t{{.RunningFor}}\\t{{.Status}}\\t{{.Ports}}\\t{{.Names}}';

test('format kinds and the template they stand for', () => {
  assert.ok(isTableFormat('table {{.ID}}'));
  assert.ok(isTableFormat('table'));
  assert.ok(!isTableFormat('{{.ID}}'));
  assert.ok(isJSONFormat('json'));
  assert.ok(!isJSONFormat('{{json .}}'));
  assert.equal(templateString('json'), '{{json .}}');
  assert.equal(templateString('table'), '');
  assert.equal(templateString('table {{.ID}}\\t{{.Names}}'), '{{.ID}}\t{{.Names}}');
  assert.equal(templateString('  {{.ID}}\\n  '), '{{.ID}}\n');
  assert.equal(templateString('\t{{.ID}} '), '\t{{.ID}}');
});

test('docker ps empty table: header only', () => {
  assert.equal(formatRows(psTable, [], { header }), 'CONTAINER ID   IMAGE     COMMAND   CREATED   STATUS    PORTS     NAMES\n');
});

test('table rows aligned under the header', () => {
  const out = formatRows('table {{.ID}}\\t{{.Image}}\\t{{.Status}}\\t{{.Ports}}\\t{{.Names}}', rows, { header });
  assert.equal(out,
    'CONTAINER ID   IMAGE                    STATUS                     PORTS     NAMES\n' +
    'abc123def456   busybox                  Up 2 minutes                         web\n' +
    '0123456789ab   nginx:latest-long-name   Exited (0) 5 seconds ago             db\n');
});

test('header functions leave titles unchanged; unknown header fields print <no value>', () => {
  assert.equal(formatRows('table {{upper .Names}}\\t{{truncate .Image 3}}', rows, { header }),
    'NAMES     IMAGE\nWEB       bus\nDB        ngi\n');
  assert.equal(formatRows('table {{.Names}}\\t{{.Nope}}', [], { header }), 'NAMES     <no value>\n');
  // Checked against docker 28 (`docker ps --format 'table {{.Names}}\t{{.Label "a"}}\t{{.Labels}}'`).
  assert.equal(formatRows('table {{.Names}}\\t{{.Label "app"}}', rows, { header }), 'NAMES     app\nweb       web\ndb        web\n');
  assert.equal(formatRows('table {{.Label "com.example.my-label_x"}}', [], { header }), 'my label x\n');
  // A header call that fails keeps what was printed before it, as docker does.
  assert.equal(formatRows('table {{.Names}}\\t{{len 3}}', [], { header }), 'NAMES     \n');
});

test('headerLabel', () => {
  assert.equal(headerLabel('a'), 'a');
  assert.equal(headerLabel('com.docker.compose.project_name'), 'project name');
});

test('plain templates print one line per row, no alignment', () => {
  assert.equal(formatRows('{{.ID}}: {{.Names}}', rows), 'abc123def456: web\n0123456789ab: db\n');
  assert.equal(formatRows('{{.ID}}\\t{{.Names}}', rows), 'abc123def456\tweb\n0123456789ab\tdb\n');
  assert.equal(formatRows('{{.Names}}', []), '');
});

test('json: one object per line, getters with sorted keys like docker ps --format json', () => {
  assert.equal(formatRows('json', rows.slice(0, 1)),
    '{"Command":"\\"sh\\"","ID":"abc123def456","Image":"busybox","Names":"web","Ports":"","Status":"Up 2 minutes"}\n');
  assert.equal(formatRows('json', [{ Name: 'v', Driver: 'local' }]), '{"Name":"v","Driver":"local"}\n');
});

test('errors are docker\'s "template parsing error"', () => {
  assert.throws(() => parseFormat('{{.ID'), (e: Error) => isInvalid(e) && e.message === 'template parsing error: template: :1: unclosed action');
  assert.throws(() => formatRows('{{len 3}}', [{}]),
    (e: Error) => isInvalid(e) && e.message === 'template parsing error: template: :1:2: executing "" at <len 3>: error calling len: len of type int');
});
