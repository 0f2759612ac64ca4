#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS node
// berth entry point: the docker-compatible CLI, bundled into one CommonJS file for a short start.
// The CLI speaks to berthd over a unix socket (TLS only for tcp:// hosts, with explicit certs), so
// loading an extra CA bundle on every start would be waste.
'use strict';
const { runMain } = require('../dist/berth.cjs');
runMain(process.argv.slice(2)).then((code) => { process.exitCode = code; });
