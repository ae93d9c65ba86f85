// Which compiled tests `npm run test:quick` runs: every test that cannot
// reach a network namespace. A test needs namespaces exactly when it imports,
// directly or through other test modules, test/helpers/netns (the one way
// tests create them); those, and the slow package test, are left to `npm test`.
import { readFileSync } from 'node:fs';
import path from 'node:path';

/** The helper every namespace-creating test goes through (PREAMBLE: "use the helpers in test/helpers/netns.ts"). */
export const NETNS_HELPER = path.join('helpers', 'netns.js');

/** Not namespaces, but too slow for the quick loop (npm pack and a global install; ansible-lint). */
export const SLOW_TESTS = ['package-install.test.js', 'ansible-lint.test.js'] as const;

const IMPORT = /(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s*['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;

/** The relative modules a compiled file imports (static and literal dynamic imports). */
export function relativeImports(source: string): string[] {
  return [...source.matchAll(IMPORT)].map((m) => (m[1] ?? m[2])!);
}

/** True when the compiled test file reaches the netns helper through its test-side imports. */
export function needsNamespaces(file: string, testRoot: string, read: (file: string) => string = (f) => readFileSync(f, 'utf8')): boolean {
  const seen = new Set<string>();
  const visit = (current: string): boolean => {
    if (seen.has(current)) return false;
    seen.add(current);
    if (current === path.join(testRoot, NETNS_HELPER)) return true;
    let source: string;
    try {
      source = read(current);
    } catch {
      return false;
    }
    return relativeImports(source)
      .map((spec) => path.resolve(path.dirname(current), spec))
      // Only the test side can create namespaces; src/ is the library under test.
      .filter((target) => target.startsWith(testRoot + path.sep))
      .some(visit);
  };
  return visit(file);
}

export function isQuickTest(file: string, testRoot: string, read?: (file: string) => string): boolean {
  return !SLOW_TESTS.some((name) => file.endsWith(path.sep + name)) && !needsNamespaces(file, testRoot, read);
}
