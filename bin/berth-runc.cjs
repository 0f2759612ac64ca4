#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS node
// berth-runc entry point: runc's command line over Berth's runtime library, bundled into one
// CommonJS file for a short start (no ESM loader round trips). berth-runc makes no TLS
// connection, so loading an extra CA bundle (30-40 ms of every Node start where
// NODE_EXTRA_CA_CERTS is set) would be pure waste.
'use strict';
const { main } = require('../dist/berth-runc.cjs');
main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
