import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatFailureRecap, readUvuTotals, splitIntoLanes, UvuFailureCollector } from '../scripts/uvu-failures.js';
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

test('a long failure is cut with a pointer to where the rest is', () => {
  const lines = ['  FAIL "x"', ...Array.from({ length: 100 }, (_, i) => `line ${i}`)];
  const recap = formatFailureRecap([{ file: 'x.test.js', lines }], 10);
  assert.match(recap, /line 8\n    … 91 more line\(s\) above, under x\.test\.js\n$/);
});

test('the totals uvu printed are read back (colours and all), and a run that never printed them says so', async () => {
  assert.equal(readUvuTotals(await readFile(fixture, 'utf8')), { total: 4, passed: 2, skipped: 0 });
  assert.equal(readUvuTotals('\n  Total:     703\u001b[32m\n  Passed:    703\u001b[39m\n  Skipped:   1\n  Duration:  86217.69ms\n'), { total: 703, passed: 703, skipped: 1 });
  assert.is(readUvuTotals('a.test.js\n• • ✘\n'), undefined);
});

test('quick-tier lanes: every file exactly once, costs balanced greedily, each lane in name order', () => {
  const files = [
    { file: 'a.test.js', cost: 50 },
    { file: 'b.test.js', cost: 10 },
    { file: 'c.test.js', cost: 40 },
    { file: 'd.test.js', cost: 30 },
    { file: 'e.test.js', cost: 20 },
  ];
  const lanes = splitIntoLanes(files, 2);
  assert.equal(lanes.map((lane) => lane.map((f) => f.file)), [['a.test.js', 'b.test.js', 'e.test.js'], ['c.test.js', 'd.test.js']]);
  assert.equal(lanes.map((lane) => lane.reduce((n, f) => n + f.cost, 0)), [80, 70]);
  assert.equal(splitIntoLanes(files, 1).map((lane) => lane.length), [5]);
  // More lanes than files: no empty lane (an empty uvu pattern would run every test).
  assert.equal(splitIntoLanes(files.slice(0, 2), 4).map((lane) => lane.length), [1, 1]);
});

test.run();
