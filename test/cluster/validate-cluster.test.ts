import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseHostAddress } from '../../src/addresses.js';
import { parseCluster } from '../../src/cluster/load-cluster.js';
import { ClusterNodeSchema, ClusterSchema } from '../../src/cluster/schema.js';
import { nodesIfWellFormed, validateCluster } from '../../src/cluster/validate-cluster.js';
import { parseSourceDocument } from '../../src/input/read-document.js';
import { NODE_VALIDATOR_FILE, renderNodeValidatorSource } from '../../scripts/node-validator.js';
import { REPO_ROOT } from '../helpers/paths.js';

test('the generated node check is the one ajv makes from ClusterNodeSchema today (npm run schema:update)', async () => {
  assert.fixture(await readFile(path.join(REPO_ROOT, NODE_VALIDATOR_FILE), 'utf8'), renderNodeValidatorSource(), `${NODE_VALIDATOR_FILE} is stale`);
});

const VALID_NODE = { name: 'cp-1', addresses: ['10.0.0.11', 'fd00::11'], roles: ['control-plane', 'etcd'] };

/** One node, broken in every way a hand-edited or generated file tends to break it. */
const NODE_VARIANTS: Array<[string, unknown]> = [
  ['valid', VALID_NODE],
  ['valid, IPv6 only', { ...VALID_NODE, addresses: ['2001:db8::1'] }],
  ['valid, dotted name', { ...VALID_NODE, name: 'node-1.rack-2.example' }],
  ['not an object', 'cp-1'],
  ['null', null],
  ['an array', [VALID_NODE]],
  ['name missing', { addresses: VALID_NODE.addresses, roles: VALID_NODE.roles }],
  ['addresses missing', { name: 'cp-1', roles: VALID_NODE.roles }],
  ['roles missing', { name: 'cp-1', addresses: VALID_NODE.addresses }],
  ['unknown key', { ...VALID_NODE, address: '10.0.0.1' }],
  ['name with capitals', { ...VALID_NODE, name: 'CP-1' }],
  ['name ending in a dash', { ...VALID_NODE, name: 'cp-' }],
  ['name empty', { ...VALID_NODE, name: '' }],
  ['name a number', { ...VALID_NODE, name: 1 }],
  ['no addresses', { ...VALID_NODE, addresses: [] }],
  ['addresses a string', { ...VALID_NODE, addresses: '10.0.0.11' }],
  ['address a number', { ...VALID_NODE, addresses: [10] }],
  ['address with a prefix', { ...VALID_NODE, addresses: ['10.0.0.0/24'] }],
  ['address out of range', { ...VALID_NODE, addresses: ['10.0.0.256'] }],
  ['address with a zone', { ...VALID_NODE, addresses: ['fe80::1%eth0'] }],
  ['address a host name', { ...VALID_NODE, addresses: ['cp-1.example'] }],
  ['address with a space before', { ...VALID_NODE, addresses: [' 10.0.0.11'] }],
  ['address with a newline after', { ...VALID_NODE, addresses: ['fd00::11\n'] }],
  ['address IPv4-mapped', { ...VALID_NODE, addresses: ['::ffff:10.0.0.11'] }],
  ['address IPv6 in capitals (valid)', { ...VALID_NODE, addresses: ['FD00::11'] }],
  ['no roles', { ...VALID_NODE, roles: [] }],
  ['unknown role', { ...VALID_NODE, roles: ['master'] }],
  ['role a number', { ...VALID_NODE, roles: [1] }],
];

test('the fast node check and zod agree on every variant, alone and among valid nodes', () => {
  for (const [what, node] of NODE_VARIANTS) {
    const zodSays = ClusterNodeSchema.safeParse(node).success;
    for (const nodes of [[node], [VALID_NODE, node, VALID_NODE]]) {
      const fastSays = nodesIfWellFormed({ nodes }) !== undefined;
      assert.is(fastSays, zodSays, `${what}: fast check says ${fastSays}, zod says ${zodSays}`);
    }
  }
  assert.ok(NODE_VARIANTS.filter(([, node]) => ClusterNodeSchema.safeParse(node).success).length === 4, 'the corpus holds valid and invalid nodes');
});

test('the fast check hands over each address as the planner would parse it', () => {
  const nodes = [VALID_NODE, { ...VALID_NODE, name: 'w-1', addresses: ['FD00:0:0::11', '10.0.0.12'] }];
  const checked = nodesIfWellFormed({ nodes });
  assert.equal(checked?.addresses, nodes.map((node) => node.addresses.map((address) => parseHostAddress(address))));
  assert.is(checked?.addresses[1]![0]!.text, 'fd00::11');
});

test('a document the fast check accepts yields what zod alone yields', () => {
  const text = JSON.stringify({ name: 'lab', nodes: [VALID_NODE, { ...VALID_NODE, name: 'w-1', roles: ['worker'] }], adminNetworks: ['10.9.0.0/24'] });
  const doc = parseSourceDocument(text, 'c.json', 'CLUSTER');
  assert.ok(nodesIfWellFormed(doc.data), 'fast path taken');
  assert.equal(validateCluster(doc), ClusterSchema.parse(doc.data));
});

test('with well-formed nodes, the rest of the document is still validated (by zod, with its place in the file)', () => {
  const text = `nodes:\n  - name: cp-1\n    addresses: [10.0.0.11]\n    roles: [control-plane]\nadminNetworks: [10.9.0.1/24]\n`;
  assert.throws(() => parseCluster(text, 'c.yaml'), /^c\.yaml:5:17: adminNetworks\[0\]: .*host bits/);
});

test('a bad node still gets zod\'s message with its place in the file', () => {
  const nodes = Array.from({ length: 50 }, (_, i) => ({ ...VALID_NODE, name: `n-${i}` }));
  nodes[42] = { ...VALID_NODE, name: 'n-42', addresses: ['10.0.0.300'] };
  assert.throws(() => parseCluster(JSON.stringify({ nodes }, null, 1), 'big.json'), /^big\.json:\d+:\d+: nodes\[42\]\.addresses\[0\]: /);
});

test.run();
