// The CLI's fast path (bin/bundle-loader.js): what makes it fast is easy to
// lose without any output changing, so these hold it in place. The bundle is
// loaded in a child `node` with no flags, as bin/kubewall.js runs: V8 checks
// the code cache against its own flags, which a test runner may set.
import { execa } from 'execa';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { REPO_ROOT } from './helpers/paths.js';

const LOADER = path.join(REPO_ROOT, 'bin', 'bundle-loader.js');
const BUNDLE = path.join(REPO_ROOT, 'dist', 'bundle', 'kubewall.cjs');

test('the bundle is one CommonJS wrapper function in ASCII, so the loader compiles the file as read', async () => {
  const bytes = await readFile(BUNDLE);
  const text = bytes.toString('latin1');
  assert.ok(text.startsWith('(function (exports, require, module, __filename, __dirname) {'), text.slice(0, 80));
  assert.match(text, /\n\}\)\n?$/, JSON.stringify(text.slice(-20)));
  const nonAscii = bytes.findIndex((byte) => byte > 0x7f);
  assert.is(nonAscii, -1, `byte ${nonAscii} of ${BUNDLE} is not ASCII: the loader reads it as Latin-1`);
});

test('a plain node accepts the code cache and gets the CLI from the bundle', async () => {
  const probe = `const loaded = require(${JSON.stringify(LOADER)}).loadBundle();
process.stdout.write(JSON.stringify({ loaded: loaded !== undefined, cacheRejected: loaded?.cacheRejected, runMain: typeof loaded?.exports.runMain }));`;
  const { stdout } = await execa(process.execPath, ['-e', probe], { env: { NODE_OPTIONS: '' } });
  assert.equal(JSON.parse(stdout), { loaded: true, cacheRejected: false, runMain: 'function' });
});

test('a bundle without the wrapper (an older build) is never run: the loader says it has none', async () => {
  const probe = `const fs = require('node:fs');
const real = fs.readFileSync;
fs.readFileSync = (file, ...rest) => (String(file).endsWith('kubewall.cjs') ? 'module.exports.runMain = () => {}' : real(file, ...rest));
process.stdout.write(String(require(${JSON.stringify(LOADER)}).loadBundle()));`;
  const { stdout } = await execa(process.execPath, ['-e', probe], { env: { NODE_OPTIONS: '' } });
  assert.is(stdout, 'undefined');
});

test.run();
