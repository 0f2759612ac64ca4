#!/usr/bin/env node
// berthd entry point: the daemon starts once, so plain ESM from dist/ is fine (no bundle).
import { main } from '../dist/src/berthd.js';

process.exitCode = await main(process.argv.slice(2));
