// `npm test`: runs uvu on the compiled tests, passes its output through
// unchanged, and repeats the failing tests' details after the totals
// (see scripts/uvu-failures.ts). The exit status is uvu's.
//   node dist/scripts/run-tests.js [--quick] [pattern]
// runs every compiled *.test.js under dist/test, or those whose path also
// matches the pattern (a regular expression, as uvu takes it). --quick
// (npm run test:quick) leaves out every test that uses network namespaces
// and the package-install test (see scripts/test-tiers.ts).
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { PACKAGE_PATHS } from '../src/paths.js';
import fg from 'fast-glob';
import { isQuickTest } from './test-tiers.js';
import { formatFailureRecap, UvuFailureCollector } from './uvu-failures.js';

const require = createRequire(import.meta.url);
// uvu exports no package.json; its bin sits one level above dist/index.js.
const uvuBin = path.resolve(path.dirname(require.resolve('uvu')), '..', 'bin.js');
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const only = args.find((arg) => arg !== '--quick');
const testDir = path.join(PACKAGE_PATHS.root, 'dist', 'test');
let pattern = only ? `^(?=.*(?:${only})).*\\.test\\.js$` : '\\.test\\.js$';
if (quick) {
  // uvu takes one pattern: the quick files, listed by name.
  const files = (await fg('**/*.test.js', { cwd: testDir })).sort().filter((file) => isQuickTest(path.join(testDir, file), testDir));
  const escaped = files.filter((file) => new RegExp(pattern).test(file)).map((file) => file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'));
  pattern = `^(?:${escaped.join('|')})$`;
  process.stderr.write(`run-tests: --quick: ${escaped.length} test files without network namespaces\n`);
}

const child = spawn(process.execPath, [uvuBin, testDir, pattern], { stdio: ['inherit', 'pipe', 'inherit'] });
const collector = new UvuFailureCollector();
// Chunks go straight through so uvu's progress dots show as they come.
child.stdout.on('data', (chunk: Buffer) => process.stdout.write(chunk));
createInterface({ input: child.stdout }).on('line', (line) => collector.push(line));
const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => {
  child.on('close', (c, s) => resolve([c, s]));
});
collector.end();
process.stdout.write(formatFailureRecap(collector.blocks));
if (signal) process.stderr.write(`run-tests: uvu was killed by ${signal}\n`);
process.exitCode = code ?? 1;
