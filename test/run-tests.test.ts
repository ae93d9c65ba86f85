import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { exactPattern, formatTotals, partitionFiles, runParallelUvu, UvuOutputSplitter } from '../scripts/parallel-uvu.js';
import { formatFailureRecap, UvuFailureCollector } from '../scripts/uvu-failures.js';
import { createFileTimer } from '../scripts/uvu-file-timer.js';
import { REPO_ROOT } from './helpers/paths.js';

// Captured from uvu 0.5 on two files with one failing test each (colours kept).
const fixture = path.join(REPO_ROOT, 'test', 'fixtures', 'uvu', 'two-failures.txt');

async function collect(): Promise<UvuFailureCollector> {
  const collector = new UvuFailureCollector();
  for (const line of (await readFile(fixture, 'utf8')).split('\n')) collector.push(line);
  collector.end();
  return collector;
}

test('every failing test in uvu output is picked out with its file and message', async () => {
  const { blocks } = await collect();
  assert.equal(blocks.map((b) => b.file), ['a.test.mjs', 'b.test.mjs']);
  const [first, second] = blocks.map((b) => stripVTControlCharacters(b.lines.join('\n')));
  assert.match(first!, /FAIL\s+"bad one"/);
  assert.match(first!, /Expected values to be deeply equal/);
  assert.match(second!, /FAIL\s+named\s+"throws"/);
  assert.match(second!, /boom/);
  assert.not.match(second!, /Total:/, 'the totals are not part of a failure');
});

test('the recap names the count and each file, and is empty when nothing failed', async () => {
  const recap = stripVTControlCharacters(formatFailureRecap((await collect()).blocks));
  assert.match(recap, /^\n2 failing test\(s\), repeated here/);
  assert.match(recap, /# a\.test\.mjs\n\s+FAIL\s+"bad one"/);
  assert.match(recap, /# b\.test\.mjs\n\s+FAIL\s+named\s+"throws"/);
  assert.is(formatFailureRecap([]), '');
});

test('the full run names its slowest files: each lasts from its name in the output to the next', () => {
  let clock = 0;
  const timer = createFileTimer(() => clock);
  assert.is(timer.summary(5), '', 'nothing before the first file');
  const at = (ms: number, line: string) => {
    clock = ms;
    timer.push(line);
  };
  at(0, '\x1b[1m\x1b[4m\x1b[37mfast.test.js\x1b[22m\x1b[24m\x1b[39m');
  at(500, '\x1b[90m• \x1b[39m\x1b[32m  (1 / 1)');
  at(1000, '\x1b[1m\x1b[4m\x1b[37mlab/slow.test.js\x1b[22m\x1b[24m\x1b[39m');
  at(2000, 'not a file name.test.js here');
  at(31_000, 'middle.test.js');
  clock = 36_000;
  assert.is(
    timer.summary(2),
    '\n  Slowest files (of 3, 36 s from the first test):\n     30.0 s  lab/slow.test.js\n      5.0 s  middle.test.js\n',
  );
});

test('a long failure is cut with a pointer to where the rest is', () => {
  const lines = ['  FAIL "x"', ...Array.from({ length: 100 }, (_, i) => `line ${i}`)];
  const recap = formatFailureRecap([{ file: 'x.test.js', lines }], 10);
  assert.match(recap, /line 8\n    … 91 more line\(s\) above, under x\.test\.js\n$/);
});

test('the quick files are split into disjoint lists of about equal weight, each in the given order', () => {
  const weight: Record<string, number> = { 'a.test.js': 10, 'b.test.js': 1, 'c.test.js': 6, 'd.test.js': 4, 'e.test.js': 1, 'f.test.js': 2 };
  const files = Object.keys(weight);
  const lists = partitionFiles(files, (f) => weight[f]!, 2);
  assert.is(lists.length, 2);
  assert.equal(lists.flat().sort(), files, 'every file once');
  const loads = lists.map((list) => list.reduce((sum, f) => sum + weight[f]!, 0));
  assert.equal(loads.sort(), [12, 12]);
  for (const list of lists) assert.equal(list, [...list].sort(), 'order kept within a list');
  assert.equal(partitionFiles(['x.test.js'], () => 1, 4), [['x.test.js']], 'no empty lists');
  assert.equal(partitionFiles(files, () => 1, 0).flat().sort(), files, 'at least one list');
});

test("a list's uvu pattern selects exactly its files", () => {
  const pattern = new RegExp(exactPattern(['cli/cli.test.js', 'ports.test.js']));
  assert.ok(pattern.test('cli/cli.test.js'));
  assert.ok(pattern.test('ports.test.js'));
  for (const other of ['cli/cli-docs.test.js', 'backends/ports.test.js', 'portsXtest.js', 'cli/cli.test.js.map']) assert.not.ok(pattern.test(other), other);
});

test("one process's output is passed on a whole file at a time; its totals are read, not printed", async () => {
  const sections: string[] = [];
  let clock = 0;
  const splitter = new UvuOutputSplitter((text) => sections.push(text), () => (clock += 1000));
  for (const line of (await readFile(fixture, 'utf8')).split('\n')) splitter.push(line);
  splitter.end();
  assert.equal(sections.map((text) => stripVTControlCharacters(text).split('\n')[0]), ['a.test.mjs', 'b.test.mjs']);
  assert.match(stripVTControlCharacters(sections[0]!), /FAIL\s+"bad one"[\s\S]*Expected values to be deeply equal/);
  assert.not.match(sections.join(''), /Total:|Passed:|Duration:/);
  assert.equal(splitter.totals, { total: 4, passed: 2, skipped: 0 });
  assert.equal([...splitter.seconds], [['a.test.mjs', 1], ['b.test.mjs', 1]]);
  assert.equal(splitter.collector.blocks.map((b) => b.file), ['a.test.mjs', 'b.test.mjs']);
});

test('a process that dies before its totals still has its output passed on, and has no totals', () => {
  const sections: string[] = [];
  const splitter = new UvuOutputSplitter((text) => sections.push(text));
  for (const line of ['a.test.js', '• • ', 'Error: boom']) splitter.push(line);
  splitter.end();
  assert.equal(sections, ['a.test.js\n• • \nError: boom\n']);
  assert.is(splitter.totals, undefined);
});

/** Test files for a real parallel run: each test prints a marker and waits, so the processes overlap. */
async function writeTestFiles(dir: string, files: Record<string, { pass: number; fail: number }>): Promise<void> {
  const resolve = (name: string) => JSON.stringify(import.meta.resolve(name));
  for (const [name, { pass, fail }] of Object.entries(files)) {
    const tests = [
      ...Array.from({ length: pass }, (_, i) => `test('ok ${i}', async () => { console.log('mark ${name} here'); await new Promise((r) => setTimeout(r, 80)); });`),
      ...Array.from({ length: fail }, (_, i) => `test('bad ${i}', () => { console.log('mark ${name} here'); assert.is(1, 2, 'failed in ${name}'); });`),
    ];
    await writeFile(path.join(dir, name), `import { test } from ${resolve('uvu')};\nimport * as assert from ${resolve('uvu/assert')};\n${tests.join('\n')}\ntest.run();\n`);
  }
}

test('parallel uvu processes: totals summed, each file printed whole, every failure recapped, non-zero when one fails', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'kw-parallel-uvu-'));
  try {
    await writeTestFiles(dir, { 'a.test.mjs': { pass: 4, fail: 0 }, 'b.test.mjs': { pass: 3, fail: 1 }, 'c.test.mjs': { pass: 4, fail: 0 }, 'd.test.mjs': { pass: 2, fail: 1 } });
    const require = createRequire(import.meta.url);
    const uvuBin = path.resolve(path.dirname(require.resolve('uvu')), '..', 'bin.js');
    let out = '';
    const run = await runParallelUvu({ uvuBin, testDir: dir, lists: [['a.test.mjs', 'b.test.mjs'], ['c.test.mjs', 'd.test.mjs']], stdout: (t) => (out += t), stderr: () => undefined });
    assert.is(run.code, 1);
    assert.equal(run.totals, { total: 15, passed: 13, skipped: 0 });
    assert.equal(run.blocks.map((b) => b.file).sort(), ['b.test.mjs', 'd.test.mjs']);
    assert.is(run.problems.length, 2, run.problems.join('\n'));
    assert.equal([...run.seconds.keys()].sort(), ['a.test.mjs', 'b.test.mjs', 'c.test.mjs', 'd.test.mjs']);
    // Between a file's header and the next header only that file's markers.
    const plain = stripVTControlCharacters(out);
    for (const section of plain.split(/^(?=[a-d]\.test\.mjs$)/m).filter((s) => /^[a-d]\.test\.mjs$/m.test(s))) {
      const name = section.split('\n')[0]!;
      const marks = [...section.matchAll(/mark (\S+) here$/gm)].map((m) => m[1]);
      assert.ok(marks.length > 0 && marks.every((m) => m === name), `${name}'s section holds ${marks.join(', ')}`);
    }
    assert.is([...plain.matchAll(/mark \S+ here$/gm)].length, 15, 'every marker printed once');
    assert.match(stripVTControlCharacters(formatFailureRecap(run.blocks)), /# b\.test\.mjs\n\s+FAIL\s+"bad 0"[\s\S]*failed in b\.test\.mjs/);
    assert.match(formatTotals(run.totals, 1234.5), /Total: {5}15\n {2}Passed: {4}13\n {2}Skipped: {3}0\n {2}Duration: {2}1234\.50ms/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('all passing: exit code 0 and no problems', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'kw-parallel-uvu-'));
  try {
    await writeTestFiles(dir, { 'a.test.mjs': { pass: 2, fail: 0 }, 'b.test.mjs': { pass: 1, fail: 0 } });
    const require = createRequire(import.meta.url);
    const uvuBin = path.resolve(path.dirname(require.resolve('uvu')), '..', 'bin.js');
    const run = await runParallelUvu({ uvuBin, testDir: dir, lists: [['a.test.mjs'], ['b.test.mjs']], stdout: () => undefined, stderr: () => undefined });
    assert.equal([run.code, run.totals, run.problems], [0, { total: 3, passed: 3, skipped: 0 }, []]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
