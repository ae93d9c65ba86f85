import fg from 'fast-glob';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import ts from 'typescript';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { REPO_ROOT } from './helpers/paths.js';

/**
 * The modules of src/ and what each imports (`import`, `import type`,
 * `export ... from`, `import('...')`), read from the TypeScript sources so
 * type-only and on-demand edges count too: neither breaks loading, but a
 * cycle through them is still a seam in the wrong place.
 */
async function readImportGraph(): Promise<Map<string, string[]>> {
  const srcDir = path.join(REPO_ROOT, 'src');
  const files = (await fg('**/*.ts', { cwd: srcDir })).filter((f) => !f.endsWith('.d.ts')).sort();
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const source = ts.createSourceFile(file, await readFile(path.join(srcDir, file), 'utf8'), ts.ScriptTarget.ES2022);
    const targets = new Set<string>();
    const visit = (node: ts.Node): void => {
      const specifier =
        ts.isImportDeclaration(node) || ts.isExportDeclaration(node)
          ? node.moduleSpecifier
          : ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword
            ? node.arguments[0]
            : undefined;
      if (specifier && ts.isStringLiteralLike(specifier) && specifier.text.startsWith('.')) {
        targets.add(path.posix.join(path.posix.dirname(file), specifier.text).replace(/\.js$/, '.ts'));
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
    graph.set(file, [...targets]);
  }
  return graph;
}

/** Tarjan's strongly connected components of more than one module, or of one that imports itself. */
function findCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  let counter = 0;
  const visit = (node: string): void => {
    index.set(node, counter);
    low.set(node, counter);
    counter += 1;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue;
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, index.get(next)!));
      }
    }
    if (low.get(node) !== index.get(node)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
    } while (member !== node);
    if (component.length > 1 || graph.get(node)!.includes(node)) cycles.push(component.sort());
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return cycles;
}

test('findCycles finds a cycle through three modules and a self-import, and none in a tree', () => {
  assert.equal(
    findCycles(
      new Map([
        ['a.ts', ['b.ts']],
        ['b.ts', ['c.ts']],
        ['c.ts', ['a.ts', 'd.ts']],
        ['d.ts', []],
        ['e.ts', ['e.ts']],
      ]),
    ).sort(),
    [['a.ts', 'b.ts', 'c.ts'], ['e.ts']],
  );
  assert.equal(findCycles(new Map([['a.ts', ['b.ts', 'c.ts']], ['b.ts', ['c.ts']], ['c.ts', []]])), []);
});

test('src/ has no import cycles (type-only and dynamic imports included)', async () => {
  const graph = await readImportGraph();
  assert.ok(graph.size > 50, `expected src/ modules, found ${graph.size}`);
  for (const [file, targets] of graph) {
    for (const target of targets) assert.ok(graph.has(target), `${file} imports ${target}, which is not a module of src/`);
  }
  const cycles = findCycles(graph);
  assert.equal(cycles.map((c) => c.join(' <-> ')), [], 'import cycles in src/');
});

test.run();
