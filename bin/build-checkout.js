// A fresh clone has no dist/ until `npm run build`. The package builds in
// `prepack` rather than `prepare` (npm 11 lists a `prepare` script as an
// install script to allow on every global install), so `npm ci` in a clone
// no longer builds: the first `npx kubewall` there does, once, on stderr.
// An installed package always ships dist/, so this never runs there.
'use strict';
const { existsSync } = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const ROOT = path.join(__dirname, '..');

/** Builds a checkout that has never been built; true when it did. */
function buildFreshCheckout() {
  const isCheckout = existsSync(path.join(ROOT, 'tsconfig.json')) && existsSync(path.join(ROOT, 'src'));
  if (!isCheckout || existsSync(path.join(ROOT, 'dist', 'src', 'cli', 'cli.js'))) return false;
  process.stderr.write('kubewall: this checkout has not been built yet: running npm run build (once)\n');
  const npm = process.env.npm_execpath;
  const [command, args] = npm && npm.endsWith('.js') ? [process.execPath, [npm, 'run', 'build']] : ['npm', ['run', 'build']];
  // The build's own output goes to stderr: stdout carries the rendered rules.
  const result = spawnSync(command, args, { cwd: ROOT, stdio: ['ignore', 2, 2] });
  if (result.status !== 0) {
    process.stderr.write(`kubewall: npm run build failed${result.error ? `: ${result.error.message}` : ''}; run it yourself to see why\n`);
    process.exit(1);
  }
  return true;
}

module.exports = { buildFreshCheckout };
