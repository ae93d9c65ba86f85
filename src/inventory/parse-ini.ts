import { KubewallError } from '../errors.js';
import { expandHostPattern, splitHostPort } from './host-patterns.js';
import { addChild, addHost, createInventoryBuilder, ensureGroup, finishInventory, type Inventory } from './types.js';
import { showValue } from '../text/terminal.js';

// Ansible's INI inventory is not INI: host lines carry `key=value` variables
// shell-style, sections are `[group]`, `[group:vars]` and `[group:children]`,
// and host names hold ranges (`node[01:20]`). The npm registry has no
// maintained parser for it (the `ini` family reads `host a=b` as one key), so
// this is a small one after Ansible's own plugin (plugins/inventory/ini.py),
// tested against its documented forms in test/inventory/parse-ini.test.ts.

const SECTION = /^\[([^:\]\s]+)(?::([A-Za-z_]+))?\]\s*(?:[#;].*)?$/;
const SECTION_KINDS = ['hosts', 'vars', 'children'] as const;

/** Splits a host line like a POSIX shell with comments (Ansible uses shlex.split(comments=True)). */
export function splitShellWords(line: string): string[] | string {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === '#' && !inWord) break;
    if (c === ' ' || c === '\t') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      continue;
    }
    inWord = true;
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end === -1) return 'unterminated single quote';
      word += line.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < line.length && line[j] !== '"'; j++) {
        if (line[j] === '\\' && j + 1 < line.length && '\\"$`\n'.includes(line[j + 1]!)) j++;
        word += line[j];
      }
      if (j >= line.length) return 'unterminated double quote';
      i = j;
    } else if (c === '\\' && i + 1 < line.length) {
      word += line[++i];
    } else {
      word += c;
    }
  }
  if (inWord) words.push(word);
  return words;
}

/** `"10.0.0.1"` → `10.0.0.1` in `[group:vars]` values, as Ansible's literal_eval does for quoted strings. */
function unquote(value: string): string {
  const quoted = /^(['"])(.*)\1$/.exec(value);
  return quoted ? quoted[2]! : value;
}

/** Parses an INI inventory; `file` is how errors name it. */
export function parseIniInventory(text: string, file: string): Inventory {
  const builder = createInventoryBuilder(file);
  let group = 'ungrouped';
  let kind: (typeof SECTION_KINDS)[number] = 'hosts';
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, index) => {
    const where = `${file}:${index + 1}`;
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) return;
    const fail = (message: string): never => {
      throw new KubewallError('INVENTORY', `${where}: ${message}`);
    };
    if (line.startsWith('[')) {
      const section = SECTION.exec(line);
      if (!section) fail(`invalid section header ${showValue(line)} (expected [group], [group:vars] or [group:children])`);
      const sectionKind = section![2] ?? 'hosts';
      if (!(SECTION_KINDS as readonly string[]).includes(sectionKind)) {
        fail(`section [${section![1]}:${sectionKind}]: unknown section type ${showValue(sectionKind)} (expected [group], [group:vars] or [group:children])`);
      }
      group = section![1]!;
      kind = sectionKind as typeof kind;
      ensureGroup(builder, group, where);
      return;
    }
    if (kind === 'children') {
      const words = splitShellWords(line);
      if (typeof words === 'string') fail(words);
      if ((words as string[]).length !== 1) fail(`[${group}:children]: expected one group name per line, got ${showValue(line)}`);
      addChild(builder, group, (words as string[])[0]!, where);
      return;
    }
    if (kind === 'vars') {
      const eq = line.indexOf('=');
      if (eq <= 0) fail(`[${group}:vars]: expected key=value, got ${showValue(line)}`);
      const key = line.slice(0, eq).trim();
      ensureGroup(builder, group, where).vars.set(key, { value: unquote(line.slice(eq + 1).trim()), where });
      return;
    }
    const words = splitShellWords(line);
    if (typeof words === 'string') fail(`${words} in ${showValue(line)}`);
    const [pattern, ...assignments] = words as string[];
    if (pattern === undefined) return;
    const vars = assignments.map((assignment) => {
      const eq = assignment.indexOf('=');
      if (eq <= 0) fail(`host ${pattern}: expected key=value after the host name, got ${showValue(assignment)}`);
      return [assignment.slice(0, eq), assignment.slice(eq + 1)] as const;
    });
    const { host, port } = splitHostPort(pattern);
    const names = expandHostPattern(host);
    if (typeof names === 'string') fail(names);
    for (const name of names as string[]) {
      const entry = addHost(builder, group, name, where);
      if (port !== undefined) entry.vars.set('ansible_port', { value: port, where });
      for (const [key, value] of vars) entry.vars.set(key, { value, where });
    }
  });
  return finishInventory(builder);
}
