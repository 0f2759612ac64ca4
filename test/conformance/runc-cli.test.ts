// Runs the runc CLI conformance suite on berth-runc, and on runc (Debian's) as the anchor.
import { join } from 'node:path';
import { haveCommand, repoRoot } from '../fixtures/rootfs.js';
import { runcCliSuite } from './runc-cli.js';

runcCliSuite({ name: 'berth-runc', argv: (root) => [join(repoRoot, 'bin', 'berth-runc.cjs'), '--root', root] });
runcCliSuite({
  name: 'runc',
  argv: (root) => ['runc', '--root', root],
  skip: haveCommand('runc') ? undefined : 'runc is not installed (apt-get install runc)',
});
