import fg from 'fast-glob';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { parsePlainYaml } from '../../src/input/parse-plain-yaml.js';
import { REPO_ROOT } from '../helpers/paths.js';

/** The fast reader must agree with the `yaml` library whenever it answers at all. */
function agrees(text: string, label: string): boolean {
  const plain = parsePlainYaml(text);
  if (!plain) return false;
  assert.equal(plain.data, parse(text, { uniqueKeys: true }), `${label}: the fast reader and yaml disagree`);
  return true;
}

test('every shipped and test YAML file reads the same as with the yaml library (or falls back)', async () => {
  const files = await fg(['examples/**/*.{yaml,yml}', 'catalogue/**/*.yaml', 'test/**/*.{yaml,yml}'], { cwd: REPO_ROOT });
  assert.ok(files.length > 10);
  const fast = [];
  for (const file of files) if (agrees(await readFile(path.join(REPO_ROOT, file), 'utf8'), file)) fast.push(file);
  // The example cluster files are plain YAML: if they fall back, the fast path buys users nothing.
  for (const example of ['examples/cluster.yaml', 'examples/external-etcd.yaml', 'examples/nodeports-from-load-balancers.yaml']) {
    assert.ok(fast.includes(example), `${example} fell back to the yaml library`);
  }
});

test('the shapes a cluster file uses take the fast path with the same data', () => {
  const cases = [
    'nodes:\n  - name: cp-1\n    addresses: [10.0.0.11, fd00:10::11]\n    roles: [control-plane]\n',
    'nodes:\n- name: cp-1\n  addresses:\n  - 10.0.0.11\n  - fd00::11\n  roles: [worker, etcd]\nname: x\n',
    '# comment\nname: example # trailing\nssh:\n  enabled: false\n  port: 2222\nloadBalancers: []\nadminNetworks: [fd00:99::/64]\n',
    'a:\nb: ~\nc: null\nd: true\ne: False\nf: 0\ng: "quoted"\nh: \'single\'\ni: {}\nj: http://example.com/x\n',
    'list:\n  -\n    x: 1\n  - y\n',
  ];
  for (const text of cases) assert.ok(agrees(text, JSON.stringify(text)), `fell back on ${JSON.stringify(text)}`);
});

test('anything beyond plain YAML falls back to the yaml library', () => {
  const cases = [
    'a: &x 1\nb: *x\n', // anchors
    'a: !!str 1\n', // tags
    'a: |\n  text\n', // block scalar
    'a: one\n  two\n', // multi-line plain scalar
    'a: 1\na: 2\n', // duplicate key: yaml reports it
    'a: 1.5\n', // floats and other number forms
    'a: 0x10\n',
    'a: -1\n',
    'a: 012\n', // yaml reads 12, not "012"
    'a: "esc\\n"\n',
    'a: "x # y"\n',
    'a:\tb\n',
    'a: [1, [2]]\n',
    'a: {b: 1}\n',
    'a: [x,]\n',
    'a: fd00::\n',
    'a: [fd00::, x]\n',
    '---\na: 1\n',
    'a: b: c\n',
    '- - a\n',
    '"key": 1\n',
    'true: 1\n',
    '__proto__: 1\n',
    'a: 1\r\n',
    '  a: 1\nb: 2\n',
    '',
  ];
  for (const text of cases) assert.is(parsePlainYaml(text), undefined, `should fall back: ${JSON.stringify(text)}`);
});

test.run();
