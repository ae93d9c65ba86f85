#!/usr/bin/env node
'use strict';
// CommonJS (see bin/package.json and bundle-loader.js): the fastest start.
const { loadBundle } = require('./bundle-loader.js');

// The bundle is the fast path; a checkout built with plain `tsc` still runs from dist/src.
// A fresh clone builds itself once (build-checkout.js), required only then: it loads child_process.
let bundle = loadBundle();
if (!bundle && require('./build-checkout.js').buildFreshCheckout()) bundle = loadBundle();
if (bundle) {
  bundle.exports.runMain();
} else {
  import('../dist/src/cli/cli.js').then(({ runMain }) => runMain());
}
