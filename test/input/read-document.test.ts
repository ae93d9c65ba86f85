// The two parsers behind parseSourceDocument: a fast one without positions
// (JSON.parse + a count of the keys it kept, js-yaml's core schema) and
// the yaml library, which keeps positions and has the last word on anything
// unusual. These tests hold both to the same data, and the fast one to
// deferring wherever it is not sure.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import fg from 'fast-glob';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rejects } from '../helpers/rejects.js';
import * as Yaml from 'yaml';
import { parseCluster } from '../../src/cluster/load-cluster.js';
import { KubewallError } from '../../src/errors.js';
import { parseSourceDocument, parseWithoutPositions } from '../../src/input/read-document.js';
import { seededRandom } from '../helpers/hostile.js';
import { REPO_ROOT } from '../helpers/paths.js';

/** What the yaml library makes of the text (the slow path), or the error it reports. */
function slowParse(text: string): { data?: unknown; error?: string } {
  const doc = Yaml.parseDocument(text, { uniqueKeys: true, prettyErrors: false });
  if (doc.errors[0]) return { error: doc.errors[0].message };
  return { data: doc.toJS({ maxAliasCount: 100 }) };
}

/** Infinity and NaN survive the comparison (JSON.stringify would make both null). */
const show = (value: unknown) => JSON.stringify(value, (_, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? `<${v}>` : v));

function assertAgreesOrDefers(text: string, label: string): 'fast' | 'deferred' {
  const fast = parseWithoutPositions(text);
  if (fast === undefined) return 'deferred';
  const slow = slowParse(text);
  assert.is(slow.error, undefined, `${label}: the fast parser accepted what the yaml library refuses (${slow.error})`);
  assert.is(show(fast), show(slow.data), `${label}: the two parsers disagree`);
  return 'fast';
}

test('every shipped YAML/JSON file (examples, catalogue, schemas, fixtures) parses to the same data on both paths, and most take the fast one', async () => {
  const files = await fg(['examples/**/*.{yaml,yml,json}', 'catalogue/**/*.{yaml,yml}', 'schema/*.json', 'test/fixtures/**/*.{yaml,yml,json}', 'test/golden/**/plan.json'], {
    cwd: REPO_ROOT,
    ignore: ['**/*.cpuprofile'],
  });
  assert.ok(files.length >= 20, `only ${files.length} files found`);
  const paths = { fast: 0, deferred: 0 };
  for (const file of files.sort()) {
    const text = await readFile(path.join(REPO_ROOT, file), 'utf8');
    if (text.length > 5_000_000) continue;
    paths[assertAgreesOrDefers(text, file)]++;
  }
  // A fast path that always deferred would pass the line above and prove nothing.
  assert.ok(paths.fast > paths.deferred, `fast ${paths.fast}, deferred ${paths.deferred}`);
});

/** Scalars where YAML parsers have differed: number forms, YAML 1.1 booleans, timestamps, escapes, nulls. */
const SCALARS = [
  '017', '0o17', '0x1F', '0b101', '1_000', '+12', '-0', '.5', '1.', '1e3', '1E3', '+.inf', '-.Inf', '.NaN', '~', 'null', 'Null', 'NULL', '',
  'true', 'True', 'TRUE', 'yes', 'no', 'on', 'off', 'y', 'n', '2020-01-01', '2020-01-01T00:00:00Z', '1:20', '12:30:00', '09', '+0x10',
  '0xFFFFFFFFFFFFFFFFFFFF', '12345678901234567890', '"\\x41"', "'a''b'", '"\\u0041"', '"\\N"', '"\\_"', '"\\L"', '"\\P"', '"\\t"',
  '"a\\\n b"', '|\n  x\n', '>-\n  x\n  y\n', '""', "''", '[a, b]', '{a: 1}', '- -', '<<', '=', '"\u0085"', 'a\u2028b', '"\u2029"',
];

test('scalars that YAML parsers read differently: the fast path agrees with the yaml library or defers', () => {
  for (const scalar of SCALARS) {
    for (const text of [`k: ${scalar}\n`, `- ${scalar}\n`, `{"k": ${JSON.stringify(scalar)}}`]) assertAgreesOrDefers(text, JSON.stringify(text));
  }
});

test('the one known difference: a float beyond double range is a string to js-yaml and Infinity to the yaml library; both are refused where kubewall reads a number', async () => {
  assert.is(show(parseWithoutPositions('k: 1e400\n')), '{"k":"1e400"}');
  assert.is(show(slowParse('k: 1e400\n').data), '{"k":"<Infinity>"}');
  for (const value of ['1e400', '-1e400']) {
    await rejects(() => parseCluster(`ssh:\n  port: ${value}\n`, 'c.yaml'), (e: unknown) => e instanceof KubewallError && /c\.yaml:2:\d+: ssh\.port/.test(e.message));
  }
});

test('the fast path defers on anchors, aliases, tags, several documents, duplicate keys, bad syntax and an empty file', () => {
  const deferred = [
    'a: &x 1\nb: *x\n',
    'a: !!str 1\n',
    'a: !unsafe "{{ x }}"\n',
    'a: 1\n---\nb: 2\n',
    'a: 1\na: 2\n',
    '{"a": 1, "a": 2}',
    '{"a": {"b": 1, "b": 2}}',
    '[{"a": 1}, {"b": 1, "c": 2, "b": 3}]',
    '{"a": 1,}',
    'a: [1, 2\n',
    '',
    '# only a comment\n',
  ];
  for (const text of deferred) assert.is(parseWithoutPositions(text), undefined, JSON.stringify(text));
  // Equal keys in different objects are no duplicate.
  assert.equal(parseWithoutPositions('[{"a": 1}, {"a": 2}]'), [{ a: 1 }, { a: 2 }]);
  // An escaped key is the same key.
  assert.is(parseWithoutPositions('{"a": 1, "\\u0061": 2}'), undefined);
  // Whitespace JSON allows between a key and its colon.
  assert.is(parseWithoutPositions('{"a" \n:\t1, "a"\r\n : 2}'), undefined);
  // What looks like a key inside a string value is no key.
  const tricky = '{"a": "\\"b\\": 1", "c": ["d\\\\", "e:"], "f": {"g": "\\\\\\"h\\":"}}';
  assert.equal(parseWithoutPositions(tricky), JSON.parse(tricky));
});

test('duplicate JSON keys: the fast path defers exactly when the yaml library finds one (2,000 random documents)', () => {
  const next = seededRandom(5);
  const random = (n: number): number => Math.floor(next() * n);
  // Keys and strings from a small alphabet, so equal keys (also spelled with escapes) are common.
  const spellings = ['a', 'b', '\\u0061', 'a\\"', '\\\\', 'b:', ':', '\\"a\\":'];
  const key = () => `"${spellings[random(spellings.length)]}"`;
  const space = () => [' ', '', '\n', '\t', '\r\n'][random(5)]!;
  const value = (depth: number): string => {
    const kind = depth > 3 ? random(2) : random(4);
    if (kind === 0) return key();
    if (kind === 1) return String(random(100));
    if (kind === 2) return `[${Array.from({ length: random(3) }, () => value(depth + 1)).join(',')}]`;
    return `{${Array.from({ length: random(4) }, () => `${space()}${key()}${space()}:${space()}${value(depth + 1)}`).join(',')}}`;
  };
  let duplicates = 0;
  for (let i = 0; i < 2000; i++) {
    const text = `{${Array.from({ length: random(4) + 1 }, () => `${key()}:${value(1)}`).join(',')}}`;
    const refused = Yaml.parseDocument(text, { uniqueKeys: true }).errors.length > 0;
    const fast = parseWithoutPositions(text);
    assert.is(fast === undefined, refused, text);
    if (refused) duplicates++;
    else assert.equal(fast, JSON.parse(text), text);
  }
  assert.ok(duplicates > 200 && duplicates < 1800, `${duplicates} of 2000 documents had a duplicate key`);
});

test('duplicate keys are refused in JSON and YAML alike, with the place of the second one', () => {
  const cases: Array<[string, RegExp]> = [
    ['{"adminNetworks": ["10.0.0.0/8"],\n "adminNetworks": ["0.0.0.0/0"]}', /^c\.json:2:2: malformed YAML: Map keys must be unique/],
    ['adminNetworks: [10.0.0.0/8]\nadminNetworks: [0.0.0.0/0]\n', /^c\.json:2:1: malformed YAML: Map keys must be unique/],
  ];
  for (const [text, message] of cases) {
    assert.throws(() => parseSourceDocument(text, 'c.json', 'CLUSTER'), (e: unknown) => e instanceof KubewallError && message.test(e.message), text);
  }
});

test('a document read on the fast path still names line and column in its errors', async () => {
  const json = '{\n  "nodes": [\n    {"name": "cp-1", "addresses": ["10.0.0.300"], "roles": ["control-plane"]}\n  ]\n}\n';
  assert.ok(parseWithoutPositions(json) !== undefined);
  await rejects(() => parseCluster(json, 'c.json'), (e: unknown) => e instanceof KubewallError && /^c\.json:3:\d+: nodes\[0\]\.addresses\[0\]: invalid IP address/.test(e.message));
  const yaml = 'nodes:\n  - name: cp-1\n    addresses: [10.0.0.11]\n    roles: [boss]\n';
  assert.ok(parseWithoutPositions(yaml) !== undefined);
  await rejects(() => parseCluster(yaml, 'c.yaml'), (e: unknown) => e instanceof KubewallError && /^c\.yaml:4:\d+: nodes\[0\]\.roles\[0\]/.test(e.message));
});

test('__proto__ read by either parser is an own key that the cluster loader refuses', async () => {
  for (const text of ['{"__proto__": {"x": 1}}', '{"\\u005f_proto__": {"x": 1}}', '__proto__: {x: 1}\n', '"__proto__": {x: 1}\n']) {
    const fast = parseWithoutPositions(text);
    if (fast !== undefined) assert.ok(Object.keys(fast as object).includes('__proto__'), text);
    await rejects(() => parseCluster(text, 'c.yaml'), (e: unknown) => e instanceof KubewallError && /unknown key "__proto__"/.test(e.message), text);
  }
});

test('an alias bomb still meets the yaml library guard', () => {
  const bomb = ['a: &a [x, x, x, x, x, x, x, x, x]', 'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]', 'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]', 'd: [*c, *c, *c, *c, *c, *c, *c, *c, *c]', ''].join('\n');
  assert.throws(() => parseSourceDocument(bomb, 'bomb.yaml', 'CLUSTER'), (e: unknown) => e instanceof KubewallError && /^bomb\.yaml: refused: /.test(e.message));
});

test.run();
