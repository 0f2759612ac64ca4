// Tests for the elastic-tabstop writer against docker's table layouts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AlignRight, Debug, DiscardEmptyColumns, DOCKER_TABLE, DOCKER_TOP, DOCKER_VERSION, stringWidth, TabWriter, tabwrite } from './tabwriter.js';

test('docker ps header with no rows (minwidth 10, padding 3)', () => {
  assert.equal(tabwrite('CONTAINER ID\tIMAGE\tCOMMAND\tCREATED\tSTATUS\tPORTS\tNAMES\n'),
    'CONTAINER ID   IMAGE     COMMAND   CREATED   STATUS    PORTS     NAMES\n');
});

test('columns widen to the longest cell plus padding; the last cell is never padded', () => {
  const out = tabwrite('CONTAINER ID\tIMAGE\tNAMES\nabc123def456\tnginx:latest-long-name\tweb\n0123\tbusybox\tdb\n');
  assert.equal(out,
    'CONTAINER ID   IMAGE                    NAMES\n' +
    'abc123def456   nginx:latest-long-name   web\n' +
    '0123           busybox                  db\n');
});

test('empty cells are padded, trailing tab makes a padded empty last column', () => {
  assert.equal(tabwrite('a\t\tc\n'), 'a                   c\n');
  assert.equal(tabwrite('a\tb\t\n'), 'a         b         \n');
});

test('a column block ends at a line with fewer cells (Go semantics)', () => {
  // aaaa|bbb|d / aa|b|dd / a| / aa|cccc|eee: b and c are separate columns.
  const opts = { minwidth: 0, tabwidth: 8, padding: 1, padchar: '.', flags: 0 };
  assert.equal(tabwrite('aaaa\tbbb\td\naa\tb\tdd\na\t\naa\tcccc\teee\n', opts),
    'aaaa.bbb.d\naa...b...dd\na....\naa...cccc.eee\n');
});

test('a line without tabs flushes and resets widths', () => {
  assert.equal(tabwrite('x\ty\n\nlonger-cell\tz\n', { ...DOCKER_TABLE, minwidth: 0 }), 'x   y\n\nlonger-cell   z\n');
});

test('docker top and version settings', () => {
  assert.equal(tabwrite('UID\tPID\tCMD\nroot\t1\tsh\n', DOCKER_TOP), 'UID                 PID                 CMD\nroot                1                   sh\n');
  assert.equal(tabwrite(' Version:\t28.2.2\n API version:\t1.50\n', DOCKER_VERSION), ' Version:           28.2.2\n API version:       1.50\n');
});

test('wide characters count as two columns, marks as zero', () => {
  assert.equal(stringWidth('abc'), 3);
  assert.equal(stringWidth('日本'), 4);
  assert.equal(stringWidth('e\u0301'), 1);
  assert.equal(stringWidth('🐳'), 2);
  assert.equal(tabwrite('日本\tx\nab\ty\n', { ...DOCKER_TABLE, minwidth: 0, padding: 1 }), '日本 x\nab   y\n');
});

test('flags: AlignRight, Debug, DiscardEmptyColumns', () => {
  const base = { minwidth: 0, tabwidth: 8, padding: 1, padchar: ' ', flags: 0 };
  assert.equal(tabwrite('a\tbbb\t\nccc\td\t\n', { ...base, flags: AlignRight }), '   a bbb\n ccc   d\n');
  assert.equal(tabwrite('a\tb\nc\td\n', { ...base, flags: Debug }), 'a |b\nc |d\n');
  assert.equal(tabwrite('a\v\vb\n', { ...base, flags: DiscardEmptyColumns }), 'a b\n');
});

test('incremental writes and flush without a final newline', () => {
  const tw = new TabWriter(DOCKER_TABLE);
  tw.write('NAME\tST');
  tw.write('ATUS\nweb\tUp');
  assert.equal(tw.flush(), 'NAME      STATUS\nweb       Up');
  assert.equal(tw.flush(), '');
});

test('tab padding rounds cells up to tab stops', () => {
  assert.equal(tabwrite('a\tb\nlonger\tc\n', { minwidth: 0, tabwidth: 8, padding: 1, padchar: '\t', flags: 0 }), 'a\tb\nlonger\tc\n');
  assert.throws(() => new TabWriter({ ...DOCKER_TABLE, padding: -1 }), RangeError);
});
