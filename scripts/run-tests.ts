// `npm test`: runs uvu on the compiled tests, passes its output through
// unchanged, and repeats the failing tests' details after the totals
// (see scripts/uvu-failures.ts). The exit status is uvu's.
//   node dist/scripts/run-tests.js [--quick] [--jobs=N] [pattern]
// runs every compiled *.test.js under dist/test, or those whose path also
// matches the pattern (a regular expression, as uvu takes it). --quick
// (npm run test:quick) leaves out every test that uses network namespaces
// and the package-install test (see scripts/test-tiers.ts), and runs the rest
// in N uvu processes at once (one per CPU, at least 2; see
// scripts/parallel-uvu.ts). The full suite stays one process: its namespace
// labs share names and measure time.
import { spawn } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { PACKAGE_PATHS } from '../src/paths.js';
import fg from 'fast-glob';
import { exactPattern, formatTotals, partitionFiles, runParallelUvu } from './parallel-uvu.js';
import { isQuickTest } from './test-tiers.js';
import { createFileTimer } from './uvu-file-timer.js';
import { formatFailureRecap, UvuFailureCollector } from './uvu-failures.js';

const require = createRequire(import.meta.url);
// uvu exports no package.json; its bin sits one level above dist/index.js.
const uvuBin = path.resolve(path.dirname(require.resolve('uvu')), '..', 'bin.js');
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const jobsArg = args.find((arg) => arg.startsWith('--jobs='));
const only = args.find((arg) => !arg.startsWith('--'));
const testDir = path.join(PACKAGE_PATHS.root, 'dist', 'test');
// How long each quick file took last time, so the next split is even (build output, not committed).
const secondsFile = path.join(PACKAGE_PATHS.root, 'dist', '.test-seconds.json');
const pattern = only ? `^(?=.*(?:${only})).*\\.test\\.js$` : '\\.test\\.js$';

if (quick) await runQuick();
else await runAll();

async function runAll(): Promise<void> {
  const child = spawn(process.execPath, [uvuBin, testDir, pattern], { stdio: ['inherit', 'pipe', 'inherit'] });
  const collector = new UvuFailureCollector();
  // Chunks go straight through so uvu's progress dots show as they come.
  child.stdout.on('data', (chunk: Buffer) => process.stdout.write(chunk));
  const timer = createFileTimer();
  createInterface({ input: child.stdout }).on('line', (line) => {
    collector.push(line);
    timer.push(line);
  });
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => {
    child.on('close', (c, s) => resolve([c, s]));
  });
  collector.end();
  process.stdout.write(timer.summary(12));
  process.stdout.write(formatFailureRecap(collector.blocks));
  if (signal) process.stderr.write(`run-tests: uvu was killed by ${signal}\n`);
  process.exitCode = code ?? 1;
}

async function runQuick(): Promise<void> {
  const files = (await fg('**/*.test.js', { cwd: testDir }))
    .sort()
    .filter((file) => isQuickTest(path.join(testDir, file), testDir))
    .filter((file) => new RegExp(pattern).test(file));
  const jobs = jobsArg ? Number.parseInt(jobsArg.slice('--jobs='.length), 10) : Math.max(2, os.availableParallelism());
  if (!Number.isInteger(jobs) || jobs < 1) throw new Error(`run-tests: --jobs wants a whole number of processes, not ${jobsArg}`);
  const lists = partitionFiles(files, weights(files), jobs);
  process.stderr.write(`run-tests: --quick: ${files.length} test files without network namespaces, in ${lists.length} uvu processes\n`);
  if (files.length === 0) {
    // uvu itself reports an empty selection; keep its message and status.
    const child = spawn(process.execPath, [uvuBin, testDir, exactPattern([])], { stdio: 'inherit' });
    process.exitCode = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 1)));
    return;
  }
  const started = performance.now();
  const run = await runParallelUvu({
    uvuBin,
    testDir,
    lists,
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  });
  const wall = performance.now() - started;
  process.stdout.write(formatTotals(run.totals, wall));
  process.stdout.write(formatFailureRecap(run.blocks));
  for (const problem of run.problems) process.stderr.write(`run-tests: ${problem}\n`);
  saveSeconds(run.seconds);
  process.exitCode = run.code;
}

function readSeconds(): Record<string, number> {
  try {
    return JSON.parse(readFileSync(secondsFile, 'utf8')) as Record<string, number>;
  } catch {
    return {};
  }
}

/** Last run's seconds; a file not timed yet weighs the median of those that were (by size when none was). */
function weights(files: readonly string[]): (file: string) => number {
  const seconds = readSeconds();
  const known = files.flatMap((file) => (typeof seconds[file] === 'number' ? [seconds[file]] : [])).sort((a, b) => a - b);
  if (known.length === 0) return (file) => statSync(path.join(testDir, file)).size;
  const median = known[Math.floor(known.length / 2)]!;
  return (file) => seconds[file] ?? median;
}

function saveSeconds(measured: ReadonlyMap<string, number>): void {
  try {
    writeFileSync(secondsFile, `${JSON.stringify({ ...readSeconds(), ...Object.fromEntries(measured) }, null, 2)}\n`);
  } catch {
    // Only the next split is less even.
  }
}
