#!/usr/bin/env -S node --no-opt --no-sparkplug --max-semi-space-size=1 --single-threaded-gc --optimize-for-size
// berthd entry point: the daemon starts once, so plain ESM from dist/ is fine (no bundle).
// The flags above are the daemon's memory settings (src/common/daemon-flags.ts says why).
import { main } from '../dist/src/berthd.js';

process.exitCode = await main(process.argv.slice(2));
