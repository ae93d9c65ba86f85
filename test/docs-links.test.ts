import fg from 'fast-glob';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { REPO_ROOT } from './helpers/paths.js';

const documents = ['README.md', 'CHANGELOG.md', ...(await fg('docs/**/*.md', { cwd: REPO_ROOT })).sort()];

/** Markdown headings as GitHub turns them into anchors. */
function anchors(text: string): Set<string> {
  const slugs = [...text.matchAll(/^#{1,6} (.+)$/gm)].map((m) => m[1]!.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-'));
  return new Set(slugs);
}

test('every relative link in the README, the CHANGELOG and docs/ points to a file (and heading) that exists', () => {
  const broken: string[] = [];
  for (const document of documents) {
    const text = readFileSync(path.join(REPO_ROOT, document), 'utf8').replace(/```[\s\S]*?```/g, '');
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target!)) continue;
      const [file, anchor] = target!.split('#') as [string, string | undefined];
      const resolved = file === '' ? path.join(REPO_ROOT, document) : path.resolve(REPO_ROOT, path.dirname(document), file);
      if (!existsSync(resolved)) {
        broken.push(`${document}: ${target}`);
        continue;
      }
      if (anchor && resolved.endsWith('.md') && !anchors(readFileSync(resolved, 'utf8')).has(anchor)) broken.push(`${document}: ${target} (no such heading)`);
    }
  }
  assert.equal(broken, []);
});

test("the README keeps the fresh-machine commands and names the quick tests", () => {
  const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  assert.ok(readme.includes('npm ci && npx kubewall render --backend nftables --role control-plane\nnpm test\n'));
  assert.ok(readme.includes('npm run test:quick'));
  const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  assert.ok(pkg.scripts['test:quick']);
});

test('the README walks through render, check, diff, apply, confirm and persist in that order', () => {
  const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const steps = ['**1. Render**', '**2. Check**', '**3. Diff**', '**4. Apply**', '**5. Confirm**', '**6. Persist**'].map((step) => readme.indexOf(step));
  assert.ok(steps.every((at, i) => at > 0 && (i === 0 || at > steps[i - 1]!)), String(steps));
});

test.run();
