#!/usr/bin/env -S LD_PRELOAD=libjemalloc.so.2 MALLOC_CONF=narenas:1,background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0 node --no-opt --no-sparkplug --max-semi-space-size=1 --single-threaded-gc --optimize-for-size --expose-gc
// berthd entry point: the daemon is one bundle (dist/berthd.cjs; scripts/bundle.mjs says why),
// loaded from CommonJS (bin/package.json): an ES module entry would set up Node's ES module
// loader as well, ~2 MiB of the daemon's idle RSS for nothing. The environment and flags above
// are the daemon's memory settings (src/common/daemon-flags.ts says why).
'use strict';

require('../dist/berthd.cjs').main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
