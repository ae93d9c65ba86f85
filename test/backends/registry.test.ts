import { readFile } from 'node:fs/promises';
import path from 'node:path';
import ts from 'typescript';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { APPLY_BACKENDS } from '../../src/apply/host-snapshot.js';
import { BACKEND_NAMES, BACKEND_REGISTRY, BACKEND_SIDES, backendsWith, getBackend, requireAudit, type BackendSide } from '../../src/backends/registry.js';
import type { Backend } from '../../src/backends/types.js';
import { isKubewallError } from '../../src/errors.js';
import { REPO_ROOT } from '../helpers/paths.js';

const isFunction = (value: unknown): boolean => typeof value === 'function';
const isText = (value: unknown): boolean => typeof value === 'string' && value.trim() !== '';

/** What a side must hold to be implemented, beyond being there. */
const SIDE_CHECKS: Readonly<Record<BackendSide, (backend: Backend) => string[]>> = {
  hostReader: ({ hostReader: r }) => [
    ...(['gather', 'fromSaved', 'parse'] as const).filter((f) => !isFunction(r?.[f])).map((f) => `hostReader.${f} is not a function`),
    ...(Array.isArray(r?.commands) && r.commands.length > 0 ? [] : ['hostReader.commands is empty']),
    ...(isText(r?.savedFormat) ? [] : ['hostReader.savedFormat is empty']),
  ],
  install: (backend) => {
    if (!isFunction(backend.install)) return ['install is not a function'];
    const install = backend.install!({});
    return [
      ...(path.isAbsolute(install.path) ? [] : [`install().path ${JSON.stringify(install.path)} is not absolute`]),
      ...(install.tools.length > 0 ? [] : ['install().tools is empty']),
      ...([install.validate, install.apply].every((command) => command.includes('%s')) ? [] : ['install().validate and .apply must name the file (%s)']),
    ];
  },
  apply: ({ apply: a }) => [
    ...(['snapshot', 'load', 'restore'] as const).filter((f) => !isFunction(a?.[f])).map((f) => `apply.${f} is not a function`),
    ...(isText(a?.owns) ? [] : ['apply.owns is empty']),
    ...(typeof a?.atomic === 'boolean' ? [] : ['apply.atomic is not a boolean']),
  ],
  audit: ({ audit: a }) => [
    ...(['gather', 'parse'] as const).filter((f) => !isFunction(a?.[f])).map((f) => `audit.${f} is not a function`),
    ...(Array.isArray(a?.commands) && a.commands.length > 0 ? [] : ['audit.commands is empty']),
    ...(isText(a?.savedFormat) ? [] : ['audit.savedFormat is empty']),
  ],
};

/** Every way a loaded module differs from its registry line: a declared side missing or incomplete, a side there but undeclared. */
function findSideMismatches(name: string, declared: readonly BackendSide[], backend: Backend): string[] {
  const problems: string[] = [];
  if (backend.name !== name) problems.push(`registered as ${name}, but its name is ${JSON.stringify(backend.name)}`);
  if (!isFunction(backend.render)) problems.push('render is not a function');
  if (!isText(backend.description)) problems.push('description is empty');
  if (!backend.capabilities || !Array.isArray(backend.capabilities.ipProtocols)) problems.push('capabilities are missing');
  for (const side of BACKEND_SIDES) {
    const present = backend[side] !== undefined;
    if (declared.includes(side)) {
      if (!present) problems.push(`declares ${side} but does not implement it`);
      else problems.push(...SIDE_CHECKS[side](backend));
    } else if (present) {
      problems.push(`implements ${side} but its registry line does not declare it`);
    }
  }
  return problems.map((p) => `${name}: ${p}`);
}

test('every backend implements every side its registry line declares, and declares every side it implements', async () => {
  assert.ok(BACKEND_NAMES.length >= 4, BACKEND_NAMES.join(', '));
  const problems: string[] = [];
  for (const [name, entry] of Object.entries(BACKEND_REGISTRY)) {
    problems.push(...findSideMismatches(name, entry.sides, await getBackend(name)));
  }
  assert.equal(problems, []);
});

test('findSideMismatches: a missing, an incomplete and an undeclared side are each reported', async () => {
  const real = await getBackend('nftables');
  assert.equal(findSideMismatches('nftables', BACKEND_REGISTRY['nftables']!.sides, real), []);
  const { apply: _apply, ...withoutApply } = real;
  assert.equal(findSideMismatches('nftables', ['hostReader', 'install', 'apply', 'audit'], withoutApply), ['nftables: declares apply but does not implement it']);
  assert.equal(findSideMismatches('nftables', ['hostReader', 'install', 'audit'], real), ['nftables: implements apply but its registry line does not declare it']);
  const halfApply = { ...real, apply: { ...real.apply!, restore: undefined } } as unknown as Backend;
  assert.equal(findSideMismatches('nftables', ['hostReader', 'install', 'apply', 'audit'], halfApply), ['nftables: apply.restore is not a function']);
  const halfAudit = { ...real, audit: { ...real.audit!, parse: undefined } } as unknown as Backend;
  assert.equal(findSideMismatches('nftables', ['hostReader', 'install', 'apply', 'audit'], halfAudit), ['nftables: audit.parse is not a function']);
  assert.equal(findSideMismatches('pf', ['hostReader', 'install', 'apply', 'audit'], real), ['pf: registered as pf, but its name is "nftables"']);
});

test('apply supports the backends that declare it, in registry order (the order its usage error lists)', () => {
  assert.equal([...APPLY_BACKENDS], backendsWith('apply'));
  assert.equal([...APPLY_BACKENDS], ['nftables', 'iptables', 'firewalld', 'ufw']);
});

test('audit mode: nftables and iptables; firewalld and ufw refuse with a capability error that says why', () => {
  assert.equal(backendsWith('audit'), ['nftables', 'iptables']);
  for (const name of ['nftables', 'iptables']) requireAudit(name);
  for (const name of ['firewalld', 'ufw']) {
    assert.ok(BACKEND_REGISTRY[name]!.noAudit, `${name} has no reason`);
    try {
      requireAudit(name);
      assert.unreachable('expected an error');
    } catch (error) {
      assert.ok(isKubewallError(error) && error.code === 'CAPABILITY', String(error));
      assert.is((error as Error).message, `audit mode is not available for the ${name} backend: ${BACKEND_REGISTRY[name]!.noAudit}; audit with --backend nftables or --backend iptables`);
    }
  }
});

test('getBackend: an unknown name is a usage error listing the known ones', async () => {
  try {
    await getBackend('pf');
    assert.unreachable('expected an error');
  } catch (error) {
    assert.ok(isKubewallError(error) && error.code === 'USAGE', String(error));
    assert.match((error as Error).message, /unknown backend "pf" \(expected nftables, iptables, firewalld, ufw\)/);
  }
});

test('the registry imports no backend module statically: each is loaded only when its backend is used', async () => {
  const file = path.join(REPO_ROOT, 'src', 'backends', 'registry.ts');
  const source = ts.createSourceFile(file, await readFile(file, 'utf8'), ts.ScriptTarget.ES2022);
  const staticImports = source.statements
    .filter((s): s is ts.ImportDeclaration => ts.isImportDeclaration(s) && !s.importClause?.isTypeOnly)
    .map((s) => (s.moduleSpecifier as ts.StringLiteral).text);
  // errors.js and suggest.js (the did-you-mean for an unknown --backend) are small and load no backend.
  assert.equal(staticImports, ['../errors.js', '../suggest.js']);
  const dynamic = [...(await readFile(file, 'utf8')).matchAll(/import\('\.\/([\w-]+)\/index\.js'\)/g)].map((m) => m[1]);
  assert.equal(dynamic, BACKEND_NAMES);
});

test.run();
