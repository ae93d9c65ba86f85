import fg from 'fast-glob';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { listGoldenCases, renderGoldenCase } from './helpers/golden.js';

// Golden files are reviewed by eye; only `npm run golden:update` rewrites them.
const UPDATE = process.env['KUBEWALL_UPDATE_GOLDEN'] === '1';
const cases = await listGoldenCases();

test('there are golden cases', () => {
  assert.ok(cases.length >= 8, `expected at least 8 golden cases, found ${cases.length}`);
});

for (const goldenCase of cases) {
  test(`golden: ${goldenCase.name}`, async () => {
    const outputs = await renderGoldenCase(goldenCase);
    const existing = (await fg(['**/*', '!case.json', '!inputs/**'], { cwd: goldenCase.dir })).sort();
    if (UPDATE) {
      for (const stale of existing.filter((file) => !outputs.has(file))) await rm(path.join(goldenCase.dir, stale));
      for (const [name, content] of outputs) {
        await mkdir(path.dirname(path.join(goldenCase.dir, name)), { recursive: true });
        await writeFile(path.join(goldenCase.dir, name), content);
      }
      return;
    }
    const stale = existing.filter((file) => !outputs.has(file));
    assert.equal(stale, [], `${goldenCase.name}: golden files no longer produced (run npm run golden:update and review)`);
    for (const [name, content] of outputs) {
      const expected = await readFile(path.join(goldenCase.dir, name), 'utf8').catch(() => undefined);
      assert.ok(expected !== undefined, `${goldenCase.name}/${name} is missing: run npm run golden:update and review the diff`);
      assert.fixture(content, expected!, `${goldenCase.name}/${name} differs from the golden file`);
    }
  });
}

test('rendering is deterministic: the same case twice gives byte-identical output', async () => {
  const goldenCase = cases.find((c) => c.cluster !== undefined) ?? cases[0]!;
  const first = await renderGoldenCase(goldenCase);
  const second = await renderGoldenCase(goldenCase);
  assert.equal([...second.entries()], [...first.entries()]);
});

test.run();
