#!/usr/bin/env node
// berth-runc entry point: runc's command line over Berth's runtime library.
import { main } from '../dist/src/runtime/runc-cli/main.js';
main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
