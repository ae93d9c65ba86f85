// `npm test`: runs uvu on the compiled tests, passes its output through
// unchanged, and repeats the failing tests' details after the totals
// (see scripts/uvu-failures.ts). The exit status is uvu's.
//   node dist/scripts/run-tests.js [--quick] [--jobs=N] [pattern]
// runs every compiled *.test.js under dist/test, or those whose path also
// matches the pattern (a regular expression, as uvu takes it). --quick
// (npm run test:quick) leaves out every test that uses network namespaces
// and the slow package tests (see scripts/test-tiers.ts), and runs its files
// in one uvu process per CPU (--jobs=N to choose; --jobs=1 for one): they
// share no namespace, port or fixed path. The full suite stays in one
// process: its labs assert timings that a second lane would disturb.
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { PACKAGE_PATHS } from '../src/paths.js';
import fg from 'fast-glob';
import { isQuickTest } from './test-tiers.js';
import { formatFailureRecap, readUvuTotals, splitIntoLanes, UvuFailureCollector, type FailureBlock } from './uvu-failures.js';

const require = createRequire(import.meta.url);
// uvu exports no package.json; its bin sits one level above dist/index.js.
const uvuBin = path.resolve(path.dirname(require.resolve('uvu')), '..', 'bin.js');
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const jobsFlag = args.find((arg) => arg.startsWith('--jobs='));
const only = args.find((arg) => !arg.startsWith('--'));
const testDir = path.join(PACKAGE_PATHS.root, 'dist', 'test');
const pattern = only ? `^(?=.*(?:${only})).*\\.test\\.js$` : '\\.test\\.js$';

/** uvu takes one pattern: a list of files, by name. */
const listPattern = (files: readonly string[]) => `^(?:${files.map((file) => file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('|')})$`;

interface LaneResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Everything it printed (already shown when it ran live). */
  readonly output: string;
  readonly blocks: readonly FailureBlock[];
}

/** One uvu process; `live` passes its output through as it comes (progress dots), else it is kept for later. */
async function runUvu(uvuPattern: string, live: boolean): Promise<LaneResult> {
  const child = spawn(process.execPath, [uvuBin, testDir, uvuPattern], { stdio: ['inherit', 'pipe', 'inherit'] });
  const collector = new UvuFailureCollector();
  const chunks: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    if (live) process.stdout.write(chunk);
  });
  createInterface({ input: child.stdout }).on('line', (line) => collector.push(line));
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => {
    child.on('close', (c, s) => resolve([c, s]));
  });
  collector.end();
  return { code, signal, output: Buffer.concat(chunks).toString('utf8'), blocks: collector.blocks };
}

let results: LaneResult[];
if (!quick) {
  results = [await runUvu(pattern, true)];
} else {
  const files = (await fg('**/*.test.js', { cwd: testDir }))
    .sort()
    .filter((file) => isQuickTest(path.join(testDir, file), testDir) && new RegExp(pattern).test(file));
  const jobs = jobsFlag ? Number(jobsFlag.slice('--jobs='.length)) : Math.min(availableParallelism(), 4);
  if (!Number.isInteger(jobs) || jobs < 1) throw new Error(`run-tests: ${jobsFlag}: expected a whole number of jobs, 1 or more`);
  // A compiled file's size is the cost guess: the long tests are the long files.
  const lanes = splitIntoLanes(files.map((file) => ({ file, cost: statSync(path.join(testDir, file)).size })), jobs);
  process.stderr.write(`run-tests: --quick: ${files.length} test files without network namespaces, in ${lanes.length} uvu process(es)\n`);
  results = await Promise.all(lanes.map((lane, index) => runUvu(listPattern(lane.map((f) => f.file)), index === 0)));
  for (const result of results.slice(1)) process.stdout.write(result.output);
  if (results.length > 1) {
    const totals = results.map((r) => readUvuTotals(r.output));
    const sum = (key: 'total' | 'passed' | 'skipped') => totals.reduce((n, t) => n + (t?.[key] ?? 0), 0);
    const unfinished = totals.filter((t) => t === undefined).length;
    process.stdout.write(
      `\nrun-tests: ${results.length} processes together: Total ${sum('total')}, Passed ${sum('passed')}, Skipped ${sum('skipped')}${unfinished > 0 ? ` (${unfinished} process(es) printed no totals)` : ''}\n`,
    );
  }
}

process.stdout.write(formatFailureRecap(results.flatMap((r) => r.blocks)));
for (const { signal } of results) if (signal) process.stderr.write(`run-tests: uvu was killed by ${signal}\n`);
process.exitCode = results.every((r) => r.code === 0) ? 0 : (results.find((r) => r.code !== 0)?.code ?? 1);
