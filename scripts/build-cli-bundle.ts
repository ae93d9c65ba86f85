// Run by `npm run build` after tsc: bundles the CLI into one file and stores a
// V8 code cache for it (see bin/bundle-loader.js). Modules the source loads
// with import() (zod schemas, the cluster loader, fast-glob) are bundled too
// but only initialised when a file has to be parsed or globbed.
import { build } from 'esbuild';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { PACKAGE_PATHS } from '../src/paths.js';

const bundleLoader = path.join(PACKAGE_PATHS.root, 'bin', 'bundle-loader.js');
const { BUNDLE, CODE_CACHE, loadBundle } = (await import(bundleLoader)) as {
  BUNDLE: string;
  CODE_CACHE: string;
  loadBundle(options: { cache: 'read' | 'write' }): { exports: { runMain(argv: string[]): Promise<void> }; writeCache(): void } | undefined;
};

await rm(CODE_CACHE, { force: true });
await build({
  entryPoints: [path.join(PACKAGE_PATHS.root, 'dist', 'src', 'cli', 'cli.js')],
  outfile: BUNDLE,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  minify: true,
  legalComments: 'none',
  // Modules find shipped files relative to import.meta.url; the bundle sits at the same depth as dist/src/.
  define: { 'import.meta.url': '__kubewallModuleUrl' },
  banner: { js: "var __kubewallModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
  logLevel: 'warning',
});

// Warm the functions a render uses, then store the code cache V8 built for them.
const loaded = loadBundle({ cache: 'write' });
if (!loaded) throw new Error(`bundle not found at ${BUNDLE}`);
const write = process.stdout.write;
const writeErr = process.stderr.write;
process.stdout.write = () => true;
process.stderr.write = () => true;
const exitCode = process.exitCode;
try {
  for (const role of ['control-plane', 'worker']) {
    await loaded.exports.runMain(['node', 'kubewall', 'render', '--backend', 'nftables', '--role', role]);
  }
  await loaded.exports.runMain(['node', 'kubewall', 'plan', '--role', 'worker', '--format', 'json']);
  for (const example of ['cluster.yaml', 'nodeports-from-load-balancers.yaml']) {
    const cluster = path.join(PACKAGE_PATHS.examples, example);
    await loaded.exports.runMain(['node', 'kubewall', 'render', '--backend', 'nftables', '--role', 'worker', '--cluster', cluster]);
  }
} finally {
  process.stdout.write = write;
  process.stderr.write = writeErr;
  process.exitCode = exitCode;
}
loaded.writeCache();
