// Loads the bundled CLI (dist/bundle/kubewall.cjs, built by `npm run build`)
// with the V8 code cache stored beside it, so a render does not spend most of
// its time compiling JavaScript: Node 20 has no built-in compile cache
// (module.enableCompileCache arrived in Node 22). A cache made by another
// Node version is rejected by V8 and the bundle is compiled as usual.
//
// CommonJS on purpose (bin/package.json): an ES module entry point starts
// Node's ESM loader, which costs a render about 9 ms of a ~120 ms start.
'use strict';
const { readFileSync, writeFileSync } = require('node:fs');
const { createRequire } = require('node:module');
const path = require('node:path');
const vm = require('node:vm');

const BUNDLE = path.join(__dirname, '..', 'dist', 'bundle', 'kubewall.cjs');
const CODE_CACHE = `${BUNDLE}.v8cache`;
// The bundle file is one function expression, CommonJS's module wrapper, written by
// the build: V8 compiles the file's text as it is, with no second copy made here.
const BUNDLE_WRAPPER_START = '(function (exports, require, module, __filename, __dirname) {';
const BUNDLE_WRAPPER_END = '\n})';

/**
 * Returns the bundle's exports, or undefined when it has not been built.
 * `cache: 'write'` is for the build script: it returns a function that stores
 * the code cache once the bundle has run a representative workload.
 */
function loadBundle({ cache = 'read' } = {}) {
  let source;
  try {
    // Latin-1: the build writes ASCII only, and this skips UTF-8 decoding of 1 MB.
    source = readFileSync(BUNDLE, 'latin1');
  } catch {
    return undefined;
  }
  let cachedData;
  if (cache === 'read') {
    try {
      cachedData = readFileSync(CODE_CACHE);
    } catch {
      cachedData = undefined;
    }
  }
  // A bundle from before the build wrote the wrapper: never run its text as a bare script.
  if (!source.startsWith(BUNDLE_WRAPPER_START)) return undefined;
  const script = new vm.Script(source, {
    filename: BUNDLE,
    cachedData,
  });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(BUNDLE), module, BUNDLE, path.dirname(BUNDLE));
  const writeCache = () => writeFileSync(CODE_CACHE, script.createCachedData());
  // cacheRejected: true when V8 compiled the bundle anew (another Node version, other V8 flags).
  return { exports: module.exports, writeCache, cacheRejected: cachedData === undefined || script.cachedDataRejected === true };
}

module.exports = { BUNDLE, BUNDLE_WRAPPER_END, BUNDLE_WRAPPER_START, CODE_CACHE, loadBundle };
