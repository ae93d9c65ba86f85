// The package as a user gets it: packed, installed globally into a temporary
// prefix, run from another folder. Slow (npm pack and install: ~30 s), so it
// is in `npm test` but not in `npm run test:quick` (scripts/test-tiers.ts).
import { execa } from 'execa';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EXAMPLES_DIR, REPO_ROOT } from './helpers/paths.js';
import { runCli } from './helpers/run-cli.js';

const work = await mkdtemp(path.join(tmpdir(), 'kubewall-package-'));
const prefix = path.join(work, 'prefix');
let tarball = '';
let installed = '';
let installStderr = '';

test.before(async () => {
  // dist/ is built by `npm test`'s pretest; packing again would only rebuild it.
  const packed = await execa('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: REPO_ROOT });
  tarball = path.join(work, (JSON.parse(packed.stdout) as Array<{ filename: string }>)[0]!.filename);
  // Offline-first: the dependencies are in npm's cache since `npm ci`.
  const install = await execa('npm', ['install', '--global', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', tarball], { cwd: work, env: { npm_config_update_notifier: 'false' } });
  installStderr = install.stderr;
  installed = path.join(prefix, 'lib', 'node_modules', 'kubewall');
});

test.after(async () => {
  await rm(work, { recursive: true, force: true });
});

test('the tarball ships the fast path, the license, the docs, the man page and completions; no tests', async () => {
  const listing = (await execa('tar', ['tzf', tarball])).stdout.split('\n').map((line) => line.replace(/^package\//, ''));
  for (const file of [
    'bin/kubewall.js',
    'bin/bundle-loader.js',
    'bin/build-checkout.js',
    'dist/bundle/kubewall.cjs',
    'dist/bundle/kubewall.cjs.v8cache',
    'dist/catalogue.cache.json',
    'dist/templates.cache.json',
    'dist/man/kubewall.1',
    'dist/completions/kubewall.bash',
    'dist/completions/_kubewall',
    'dist/completions/kubewall.fish',
    'LICENSE',
    'README.md',
    'CHANGELOG.md',
    'docs/apply.md',
    'docs/diff.md',
    'schema/cluster.schema.json',
  ]) {
    assert.ok(listing.includes(file), `the tarball lacks ${file}`);
  }
  assert.equal(listing.filter((file) => /(^|\/)test\/|\.test\.js$/.test(file)), []);
  assert.match(await readFile(path.join(REPO_ROOT, 'LICENSE'), 'utf8'), /Apache License\s+Version 2\.0/);
});

test('package.json: repository, bugs, homepage; built by prepack, no install scripts', async () => {
  const pkg = JSON.parse(await readFile(path.join(installed, 'package.json'), 'utf8')) as Record<string, unknown> & { scripts: Record<string, string> };
  assert.ok(pkg['repository'] && pkg['bugs'] && pkg['homepage']);
  assert.is(pkg.scripts['prepack'], 'npm run build');
  for (const script of ['preinstall', 'install', 'postinstall', 'prepare']) assert.is(pkg.scripts[script], undefined, script);
  assert.not.match(installStderr, /install-scripts|allowScripts/, installStderr);
});

test('the installed CLI renders what the checkout renders, from another folder', async () => {
  const bin = path.join(prefix, 'bin', 'kubewall');
  const cases = [
    ['render', '--backend', 'nftables', '--role', 'control-plane'],
    ['render', '--backend', 'iptables', '--iptables-variant', 'nft', '--role', 'worker', '--cluster', path.join(EXAMPLES_DIR, 'cluster.yaml')],
    ['plan', '--role', 'worker', '--format', 'json'],
  ];
  for (const args of cases) {
    const mine = await runCli(args, { cwd: work });
    const theirs = await execa(bin, args, { cwd: work, reject: false, env: { NO_COLOR: '1' } });
    assert.is(theirs.exitCode, 0, theirs.stderr);
    assert.fixture(theirs.stdout, mine.stdout, args.join(' '));
    assert.is(theirs.stderr, mine.stderr);
  }
  // The fast path's files are the checkout's, byte for byte (the code cache is only valid for its bundle).
  for (const file of ['dist/bundle/kubewall.cjs', 'dist/bundle/kubewall.cjs.v8cache', 'dist/templates.cache.json']) {
    assert.is((await stat(path.join(installed, file))).size, (await stat(path.join(REPO_ROOT, file))).size, file);
  }
});

test('what the help text points to is installed', async () => {
  const help = await execa(path.join(prefix, 'bin', 'kubewall'), ['apply', '--help'], { cwd: work });
  for (const [, doc] of help.stdout.matchAll(/See (docs\/[\w./-]+\.md)/g)) await stat(path.join(installed, doc!));
  assert.match(help.stdout, /docs\/apply\.md/);
  await stat(path.join(installed, 'docs', 'apply.md'));
});

test.run();
