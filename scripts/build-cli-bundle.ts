// Run by `npm run build` after tsc: bundles the CLI into one file and stores a
// V8 code cache for it (see bin/bundle-loader.js). Modules the source loads
// with import() (zod schemas, the cluster loader, fast-glob) are bundled too
// but only initialised when a file has to be parsed or globbed.
import { build, type Plugin } from 'esbuild';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import path from 'node:path';
import { PACKAGE_PATHS } from '../src/paths.js';

const require = createRequire(import.meta.url);
const bundleLoader = path.join(PACKAGE_PATHS.root, 'bin', 'bundle-loader.js');
const { BUNDLE, BUNDLE_WRAPPER_END, BUNDLE_WRAPPER_START, CODE_CACHE, loadBundle } = (await import(bundleLoader)) as {
  BUNDLE: string;
  BUNDLE_WRAPPER_START: string;
  BUNDLE_WRAPPER_END: string;
  CODE_CACHE: string;
  loadBundle(options: { cache: 'read' | 'write' }): { exports: { runMain(argv: string[]): Promise<void> }; writeCache(): void } | undefined;
};

/**
 * Node built-ins that only some runs use, required on first use instead of at
 * start-up: commander requires child_process for executable subcommands
 * (kubewall has none), and child_process in turn loads net and dgram; a
 * render never touches crypto or fs/promises. Each costs a few milliseconds
 * of a ~120 ms start (see `npm run bench`). A bundled module reads these
 * through property accesses at the call site, so a proxy that loads the real
 * module on the first access behaves the same.
 */
const LAZY_BUILTINS = ['child_process', 'crypto', 'dgram', 'fs/promises', 'net', 'os', 'readline', 'stream', 'stream/promises', 'timers/promises', 'tty'];

const lazyBuiltins: Plugin = {
  name: 'lazy-builtins',
  setup(build) {
    const filter = new RegExp(`^(node:)?(${LAZY_BUILTINS.map((name) => name.replace('/', '\\/')).join('|')})$`);
    build.onResolve({ filter }, (args) =>
      // The proxy's own require is the real built-in.
      args.namespace === 'lazy-builtin' ? { path: args.path, external: true } : { path: args.path.replace(/^node:/, ''), namespace: 'lazy-builtin' },
    );
    // esbuild's ESM interop copies a CommonJS module's keys once (as getters), so
    // the proxy lists the names this Node exports without loading the module.
    build.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, (args) => ({
      loader: 'js',
      contents: `let loaded;
const real = () => (loaded ??= require(${JSON.stringify(`node:${args.path}`)}));
const names = ${JSON.stringify(Object.keys(require(`node:${args.path}`) as object))};
module.exports = new Proxy({}, {
  get: (_, key) => real()[key],
  has: (_, key) => key in real(),
  ownKeys: () => names,
  getOwnPropertyDescriptor: (_, key) =>
    names.includes(key) ? { configurable: true, enumerable: true, get: () => real()[key] } : undefined,
});`,
    }));
  },
};

await rm(CODE_CACHE, { force: true });
await build({
  entryPoints: [path.join(PACKAGE_PATHS.root, 'dist', 'src', 'cli', 'cli.js')],
  outfile: BUNDLE,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  minify: !process.env['KUBEWALL_BUNDLE_READABLE'],
  legalComments: 'none',
  // Modules find shipped files relative to import.meta.url; the bundle sits at the same depth as dist/src/.
  define: { 'import.meta.url': '__kubewallModuleUrl' },
  // The file is the CommonJS wrapper function itself (bin/bundle-loader.js): wrapping
  // the text at load time made V8 flatten a second 1 MB copy of it on every run (~5 ms).
  banner: { js: `${BUNDLE_WRAPPER_START}var __kubewallModuleUrl = require('node:url').pathToFileURL(__filename).href;` },
  footer: { js: BUNDLE_WRAPPER_END },
  // ASCII only (esbuild's default, stated because the loader relies on it): the
  // loader reads the file as Latin-1, which skips UTF-8 decoding.
  charset: 'ascii',
  plugins: [lazyBuiltins],
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
  // Generated (fleet-sized) cluster files are JSON: warm that path too.
  const jsonCluster = path.join(await mkdtemp(path.join(tmpdir(), 'kubewall-build-')), 'cluster.json');
  const { parse } = await import('yaml');
  await writeFile(jsonCluster, JSON.stringify(parse(await readFile(path.join(PACKAGE_PATHS.examples, 'cluster.yaml'), 'utf8'))));
  await loaded.exports.runMain(['node', 'kubewall', 'render', '--backend', 'nftables', '--role', 'control-plane', '--cluster', jsonCluster]);
  await rm(path.dirname(jsonCluster), { recursive: true, force: true });
} finally {
  process.stdout.write = write;
  process.stderr.write = writeErr;
  process.exitCode = exitCode;
}
loaded.writeCache();
