import { showValue } from '../text/terminal.js';
import { KubewallError, formatPath } from '../errors.js';
import { parseSourceDocument, type SourceDocument } from '../input/read-document.js';
import { expandHostPattern, splitHostPort } from './host-patterns.js';
import { addChild, addHost, createInventoryBuilder, ensureGroup, finishInventory, type Inventory, type InventoryBuilder } from './types.js';

const MAX_GROUP_DEPTH = 500;
const GROUP_KEYS = ['hosts', 'vars', 'children'] as const;

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Parses a YAML (or JSON) inventory as Ansible's yaml plugin reads it: top
 * level groups, each with `hosts`, `vars` and `children` (groups again).
 */
export function parseYamlInventory(text: string, file: string): Inventory {
  const doc = parseSourceDocument(text, file, 'INVENTORY');
  const builder = createInventoryBuilder(file);
  const fail = (path: (string | number)[], message: string): never => {
    throw new KubewallError('INVENTORY', `${doc.locate(path)}: ${formatPath(path)}: ${message}`);
  };
  if (doc.data === null || doc.data === undefined) return finishInventory(builder);
  if (!isMapping(doc.data)) fail([], 'expected a mapping of group names (e.g. all:, kube_node:)');
  for (const [name, group] of Object.entries(doc.data as Record<string, unknown>)) {
    readGroup(builder, doc, name, group, [name], fail);
  }
  return finishInventory(builder);
}

function readGroup(
  builder: InventoryBuilder,
  doc: SourceDocument,
  name: string,
  value: unknown,
  path: (string | number)[],
  fail: (path: (string | number)[], message: string) => never,
): void {
  // Each level is three path steps (name, children, child); Ansible's own reader recurses too.
  if (path.length > MAX_GROUP_DEPTH * 2) fail(path, `groups nested more than ${MAX_GROUP_DEPTH} deep under children`);
  const group = ensureGroup(builder, name, doc.locate(path));
  if (value === null || value === undefined) return;
  if (!isMapping(value)) fail(path, `group ${showValue(name)} must be a mapping with hosts, vars or children, got ${showValue(value)}`);
  for (const key of Object.keys(value as object)) {
    if (!(GROUP_KEYS as readonly string[]).includes(key)) {
      throw new KubewallError('INVENTORY', `${doc.locateKey(path, key)}: ${formatPath([...path, key])}: unknown key ${showValue(key)} in group ${showValue(name)} (expected ${GROUP_KEYS.join(', ')})`);
    }
  }
  const { hosts, vars, children } = value as Record<string, unknown>;
  if (vars !== undefined && vars !== null) {
    if (!isMapping(vars)) fail([...path, 'vars'], 'expected a mapping of variables');
    for (const [key, v] of Object.entries(vars as object)) group.vars.set(key, { value: v, where: doc.locate([...path, 'vars', key]) });
  }
  if (hosts !== undefined && hosts !== null) {
    if (!isMapping(hosts)) fail([...path, 'hosts'], 'expected a mapping of host names (a host with no variables is `name:` with nothing after it)');
    for (const [pattern, hostVars] of Object.entries(hosts as object)) {
      const hostPath = [...path, 'hosts', pattern];
      const where = doc.locateKey([...path, 'hosts'], pattern);
      if (hostVars !== null && hostVars !== undefined && !isMapping(hostVars)) fail(hostPath, `host ${showValue(pattern)}: expected a mapping of variables or nothing`);
      const { host, port } = splitHostPort(pattern);
      const names = expandHostPattern(host);
      if (typeof names === 'string') fail(hostPath, names);
      for (const hostName of names as string[]) {
        const entry = addHost(builder, name, hostName, where);
        if (port !== undefined) entry.vars.set('ansible_port', { value: port, where });
        for (const [key, v] of Object.entries((hostVars ?? {}) as object)) entry.vars.set(key, { value: v, where: doc.locate([...hostPath, key]) });
      }
    }
  }
  if (children !== undefined && children !== null) {
    if (!isMapping(children)) fail([...path, 'children'], 'expected a mapping of group names');
    for (const [child, childValue] of Object.entries(children as object)) {
      addChild(builder, name, child, doc.locate([...path, 'children', child]));
      readGroup(builder, doc, child, childValue, [...path, 'children', child], fail);
    }
  }
}
