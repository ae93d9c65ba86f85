#!/usr/bin/env node
import { loadBundle } from './bundle-loader.js';

// The bundle is the fast path; a checkout built with plain `tsc` still runs from dist/src.
const bundle = loadBundle();
const { runMain } = bundle ? bundle.exports : await import('../dist/src/cli/cli.js');
await runMain();
