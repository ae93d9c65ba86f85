import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatFailureRecap, UvuFailureCollector } from '../scripts/uvu-failures.js';
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

test.run();
