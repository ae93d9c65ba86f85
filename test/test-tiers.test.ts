import fg from 'fast-glob';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isQuickTest, needsNamespaces, relativeImports } from '../scripts/test-tiers.js';
import { REPO_ROOT } from './helpers/paths.js';

const testRoot = path.join(REPO_ROOT, 'dist', 'test');
const files = (await fg('**/*.test.js', { cwd: testRoot })).sort();
const quick = files.filter((file) => isQuickTest(path.join(testRoot, file), testRoot));
const full = files.filter((file) => !quick.includes(file));

test('relativeImports: static, re-exported and literal dynamic imports', () => {
  const source = "import { a } from './a.js';\nimport {\n  b,\n} from '../b.js';\nexport { c } from './c.js';\nconst d = await import('./d.js');\nimport x from 'uvu';";
  assert.equal(relativeImports(source), ['./a.js', '../b.js', './c.js', './d.js']);
});

test('needsNamespaces follows imports through test modules to helpers/netns', () => {
  const sources: Record<string, string> = {
    '/t/a.test.js': "import { lab } from './conformance/lab.js';",
    '/t/conformance/lab.js': "import { withNetns } from '../helpers/netns.js';",
    '/t/b.test.js': "import { plan } from '../src/plan.js';\nimport { x } from './helpers/paths.js';",
    '/t/helpers/paths.js': '',
  };
  const read = (file: string) => sources[file] ?? '';
  assert.ok(needsNamespaces('/t/a.test.js', '/t', read));
  assert.not.ok(needsNamespaces('/t/b.test.js', '/t', read));
});

test('the quick tier has the unit, golden and CLI tests; the namespace labs stay in npm test', () => {
  for (const name of ['golden.test.js', 'cli/cli.test.js', 'plan/plan-role.test.js', 'catalogue/catalogue.test.js']) assert.ok(quick.includes(name), name);
  for (const name of ['apply/apply-live.test.js', 'conformance/conformance.test.js', 'diff/diff-live.test.js', 'fleet/payloads-live.test.js', 'backends/nftables-check.test.js']) {
    assert.ok(full.includes(name), name);
  }
});

test('no quick test creates a namespace or a firewall on its own (without helpers/netns)', () => {
  // The calls that would need root: a namespace, or a firewall tool run outside one.
  const rootOnly = /\[\s*['"]netns['"]|['"]unshare['"]|execa\(\s*['"](?:nft|iptables(?:-restore)?|ufw|firewall-cmd|ipset)['"]/;
  const offenders = quick.filter((file) => rootOnly.test(readFileSync(path.join(testRoot, file), 'utf8')));
  assert.equal(offenders, [], `quick-tier files that look like they need root: ${offenders.join(', ')}`);
});

test.run();
