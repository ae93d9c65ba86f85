import type * as z from 'zod';
import { KubewallError, formatPath, type KubewallErrorCode } from '../errors.js';
import type { SourceDocument } from './read-document.js';
import { showValue } from '../text/terminal.js';
import { ROLE_ALIASES } from '../model.js';
import { closest, suggestValue } from '../suggest.js';

/** The keys a strict object schema allows at `path`, for "unknown key" messages. */
function allowedKeys(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let current: unknown = schema;
  const def = (s: unknown) => (s as { _zod: { def: Record<string, unknown> & { type: string } } })._zod.def;
  const unwrap = () => {
    for (;;) {
      const d = def(current);
      if (d.type === 'optional' || d.type === 'nullable' || d.type === 'default') current = d['innerType'];
      else if (d.type === 'pipe') current = d['in'];
      else return;
    }
  };
  for (const key of path) {
    unwrap();
    const d = def(current);
    if (d.type === 'object') current = (d['shape'] as Record<string, unknown>)[String(key)];
    else if (d.type === 'array') current = d['element'];
    else if (d.type === 'record') current = d['valueType'];
    else return [];
    if (current === undefined) return [];
  }
  unwrap();
  const d = def(current);
  return d.type === 'object' ? Object.keys(d['shape'] as object) : [];
}


function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let current = data;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

function show(value: unknown): string {
  return showValue(value, 60);
}

/** One sentence per zod issue, in the words a user of the file understands. */
export function describeIssue(issue: z.core.$ZodIssue, data: unknown, schema?: z.ZodType): string {
  const value = valueAt(data, issue.path);
  switch (issue.code) {
    case 'invalid_value': {
      const expected = issue.values.map((v) => String(v));
      const suggestion = typeof value === 'string' ? suggestValue(value, expected, ROLE_ALIASES) : undefined;
      return `unknown value ${show(value)} (${suggestion ? `did you mean "${suggestion}"? ` : ''}expected ${expected.join(', ')})`;
    }
    case 'unrecognized_keys': {
      const allowed = schema ? allowedKeys(schema, issue.path).filter((k) => k !== '$schema') : [];
      const suggestion = issue.keys.length === 1 ? closest(issue.keys[0]!, allowed) : undefined;
      const hint = suggestion ? `did you mean "${suggestion}"? ` : '';
      return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')} (${hint}expected ${allowed.length > 0 ? allowed.join(', ') : 'a key from the schema'})`;
    }
    case 'invalid_type':
      if (value === undefined) return `missing required key "${String(issue.path[issue.path.length - 1] ?? '')}" (expected ${issue.expected})`;
      return `expected ${issue.expected}, got ${show(value)}`;
    case 'too_small':
      if (issue.origin === 'array') return `expected at least ${String(issue.minimum)} item(s)`;
      if (issue.origin === 'string') return `expected a non-empty string`;
      return `${show(value)} is too small (minimum ${String(issue.minimum)})`;
    case 'too_big':
      if (issue.origin === 'string') return `${show(value)} is too long (at most ${String(issue.maximum)} characters)`;
      return `${show(value)} is too big (maximum ${String(issue.maximum)})`;
    case 'invalid_format':
      return `${issue.message} (got ${show(value)})`;
    case 'invalid_key': {
      // zod's own text ("Invalid key in record") says neither which key nor what a valid one looks like.
      const key = issue.path[issue.path.length - 1];
      const inner = issue.issues[0]?.message;
      return `invalid key ${show(String(key ?? ''))} (${inner && !/^Invalid/.test(inner) ? inner : 'expected a key like "kube-apiserver": lowercase letters, digits and "-"'})`;
    }
    case 'invalid_union':
      return `${show(value)} does not match any allowed form`;
    default:
      return value === undefined ? issue.message : `${issue.message}`;
  }
}

// A parsed `__proto__` key is an own property, but copying it into a new
// object (as zod does for records) sets the prototype instead: the key would
// vanish where any other unknown key is an error.
const PROTO_KEYS = new Set(['__proto__']);

export function refuseProtoKeys(doc: SourceDocument, code: KubewallErrorCode): void {
  // A key is text of the file, unless escaped (JSON's \u005f, YAML's \x5f): a file
  // that holds neither the name nor a backslash cannot hold the key, so a
  // 50,000-node file is not walked for it.
  if (doc.text !== undefined && !doc.text.includes('\\') && ![...PROTO_KEYS].some((key) => doc.text!.includes(key))) return;
  const stack: { value: unknown; path: PropertyKey[] }[] = [{ value: doc.data, path: [] }];
  while (stack.length > 0) {
    const { value, path } = stack.pop()!;
    if (value === null || typeof value !== 'object') continue;
    if (Array.isArray(value)) {
      value.forEach((item, i) => stack.push({ value: item, path: [...path, i] }));
      continue;
    }
    for (const key of Object.keys(value)) {
      if (PROTO_KEYS.has(key)) {
        throw new KubewallError(code, `${doc.locateKey(path, key)}: ${formatPath([...path, key])}: unknown key "${key}" (a key of JavaScript's object model, never one of kubewall's)`);
      }
      stack.push({ value: (value as Record<string, unknown>)[key], path: [...path, key] });
    }
  }
}

/**
 * Validates a document against its schema and throws one error listing every
 * problem, each as `file:line:col: path: what is wrong (what would be valid)`.
 */
export function validateDocument<S extends z.ZodType>(
  schema: S,
  doc: SourceDocument,
  code: KubewallErrorCode,
): z.infer<S> {
  refuseProtoKeys(doc, code);
  const result = schema.safeParse(doc.data);
  if (result.success) return result.data;
  const lines = result.error.issues.slice(0, 20).map((issue) => {
    if (issue.code === 'unrecognized_keys' && issue.keys.length === 1) {
      const keyPath = [...issue.path, issue.keys[0]!];
      return `${doc.locateKey(issue.path, issue.keys[0]!)}: ${formatPath(keyPath)}: ${describeIssue(issue, doc.data, schema)}`;
    }
    return `${doc.locate(issue.path)}: ${formatPath(issue.path)}: ${describeIssue(issue, doc.data, schema)}`;
  });
  const more = result.error.issues.length - lines.length;
  if (more > 0) lines.push(`... and ${more} more problem(s)`);
  throw new KubewallError(code, lines.join('\n'), { cause: result.error });
}
