import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseHostAddress } from '../../src/addresses.js';
import { parseCluster } from '../../src/cluster/load-cluster.js';
import { ClusterNodeSchema, ClusterSchema } from '../../src/cluster/schema.js';
import { validateCluster, validateClusterFast } from '../../src/cluster/validate-cluster.js';
import { parseSourceDocument } from '../../src/input/read-document.js';
import { CLUSTER_VALIDATOR_FILE, renderClusterValidatorSource } from '../../scripts/cluster-validator.js';
import { rejects } from '../helpers/rejects.js';
import { REPO_ROOT } from '../helpers/paths.js';

test('the generated check is the one ajv makes from ClusterSchema today (npm run schema:update)', async () => {
  assert.fixture(await readFile(path.join(REPO_ROOT, CLUSTER_VALIDATOR_FILE), 'utf8'), renderClusterValidatorSource(), `${CLUSTER_VALIDATOR_FILE} is stale`);
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
      const fastSays = validateClusterFast({ nodes }) !== undefined;
      assert.is(fastSays, zodSays, `${what}: fast check says ${fastSays}, zod says ${zodSays}`);
    }
  }
  assert.ok(NODE_VARIANTS.filter(([, node]) => ClusterNodeSchema.safeParse(node).success).length === 4, 'the corpus holds valid and invalid nodes');
});

test('the fast check hands over each address as the planner would parse it', () => {
  const nodes = [VALID_NODE, { ...VALID_NODE, name: 'w-1', addresses: ['FD00:0:0::11', '10.0.0.12'] }];
  const checked = validateClusterFast({ nodes });
  assert.equal(checked?.nodeAddresses, nodes.map((node) => node.addresses.map((address) => parseHostAddress(address))));
  assert.is(checked?.nodeAddresses?.[1]![0]!.text, 'fd00::11');
});

/** Every key of a cluster file, each valid and broken the ways hand edits break it. */
const DOCUMENT_VARIANTS: Array<[string, unknown]> = [
  ['empty', {}],
  ['not an object', 'nodes'],
  ['an array', []],
  ['null', null],
  ['unknown key', { node: [] }],
  ['$schema', { $schema: './schema/cluster.schema.json' }],
  ['$schema a number', { $schema: 1 }],
  ['name', { name: 'prod-1.eu_west' }],
  ['name with a space', { name: 'prod 1' }],
  ['name of 64 characters', { name: 'a'.repeat(64) }],
  ['nodes empty', { nodes: [] }],
  ['nodes an object', { nodes: { a: VALID_NODE } }],
  ['loadBalancers', { loadBalancers: ['10.0.0.5', '10.1.0.0/16', 'fd00:5::/64'] }],
  ['loadBalancers with host bits', { loadBalancers: ['10.1.0.1/16'] }],
  ['loadBalancers prefix too long', { loadBalancers: ['10.1.0.0/33'] }],
  ['loadBalancers a string', { loadBalancers: '10.0.0.5' }],
  ['adminNetworks empty (valid: no SSH source)', { adminNetworks: [] }],
  ['adminNetworks IPv4-mapped', { adminNetworks: ['::ffff:10.0.0.0/104'] }],
  ['adminNetworks a host name', { adminNetworks: ['bastion.example'] }],
  ['adminNetworks with a space', { adminNetworks: [' 10.9.0.0/24'] }],
  ['podCIDRs', { podCIDRs: ['10.244.0.0/16', 'fd00:244::/56'] }],
  ['podCIDRs a number', { podCIDRs: [10] }],
  ['serviceCIDRs', { serviceCIDRs: ['10.96.0.0/12'] }],
  ['serviceCIDRs with a zone', { serviceCIDRs: ['fe80::/64%eth0'] }],
  ['serviceExternalIPs', { serviceExternalIPs: ['192.0.2.10'] }],
  ['serviceExternalIPs bad', { serviceExternalIPs: ['192.0.2.300'] }],
  ['kubeProxy', { kubeProxy: 'ipvs' }],
  ['kubeProxy unknown', { kubeProxy: 'userspace' }],
  ['nodePortRange string', { nodePortRange: '30000-32767' }],
  ['nodePortRange number', { nodePortRange: 30080 }],
  ['nodePortRange reversed', { nodePortRange: '32767-30000' }],
  ['nodePortRange out of range', { nodePortRange: '30000-70000' }],
  ['nodePortRange zero', { nodePortRange: 0 }],
  ['nodePortRange a fraction', { nodePortRange: 30000.5 }],
  ['nodePortRange a list', { nodePortRange: [30000] }],
  ['nodeLocalDNS', { nodeLocalDNS: '169.254.25.10' }],
  ['nodeLocalDNS a network', { nodeLocalDNS: '169.254.25.0/24' }],
  ['nodeLocalDNS IPv4-mapped', { nodeLocalDNS: '::ffff:169.254.25.10' }],
  ['nodeLocalDNS with a newline', { nodeLocalDNS: '169.254.25.10\n' }],
  ['ssh', { ssh: { enabled: true, port: 2222 } }],
  ['ssh empty', { ssh: {} }],
  ['ssh port 0', { ssh: { port: 0 } }],
  ['ssh port 65536', { ssh: { port: 65536 } }],
  ['ssh port a string', { ssh: { port: '22' } }],
  ['ssh unknown key', { ssh: { prot: 22 } }],
  ['ssh enabled a string', { ssh: { enabled: 'no' } }],
  ['profiles', { profiles: { distribution: 'k3s', cni: 'calico:vxlan', addons: ['metallb'] } }],
  ['profiles addons a string', { profiles: { addons: 'metallb' } }],
  ['profiles unknown key', { profiles: { cnis: 'calico' } }],
  ['overrides', { overrides: { 'kube-apiserver': { ports: [443, 6443], addPeers: ['pods'], usedBy: 'ingress' } } }],
  ['overrides ports a range', { overrides: { 'nodeport-services': { ports: '30000-30999', peers: ['load-balancers'] } } }],
  ['overrides ports empty list', { overrides: { kubelet: { ports: [] } } }],
  ['overrides ports out of range', { overrides: { kubelet: { ports: 65536 } } }],
  ['overrides ports a fraction', { overrides: { kubelet: { ports: 10250.5 } } }],
  ['overrides ports nested list', { overrides: { kubelet: { ports: [[10250]] } } }],
  ['overrides bad id', { overrides: { Kubelet: { ports: 10250 } } }],
  ['overrides unknown peer', { overrides: { kubelet: { peers: ['everyone'] } } }],
  ['overrides peers empty', { overrides: { kubelet: { peers: [] } } }],
  ['overrides usedBy empty', { overrides: { kubelet: { usedBy: '' } } }],
  ['overrides unknown key', { overrides: { kubelet: { port: 10250 } } }],
  ['overrides entry not an object', { overrides: { kubelet: 10250 } }],
];

test('the fast check and zod agree on every key of a cluster file, valid and broken', () => {
  let valid = 0;
  for (const [what, doc] of DOCUMENT_VARIANTS) {
    const zodSays = ClusterSchema.safeParse(doc).success;
    const fastSays = validateClusterFast(doc) !== undefined;
    assert.is(fastSays, zodSays, `${what}: fast check says ${fastSays}, zod says ${zodSays}`);
    if (zodSays) valid++;
  }
  assert.ok(valid >= 15 && valid <= DOCUMENT_VARIANTS.length - 30, `the corpus holds valid and invalid documents (${valid} valid)`);
});

test('a document the fast check accepts yields what zod alone yields', async () => {
  const text = JSON.stringify({ name: 'lab', nodes: [VALID_NODE, { ...VALID_NODE, name: 'w-1', roles: ['worker'] }], adminNetworks: ['10.9.0.0/24'], overrides: { kubelet: { addPeers: ['pods'] } } });
  const doc = parseSourceDocument(text, 'c.json', 'CLUSTER');
  assert.ok(validateClusterFast(doc.data), 'fast path taken');
  assert.equal((await validateCluster(doc)).input, ClusterSchema.parse(doc.data));
});

/** Whether parsing `text` as a cluster file loads zod, in a fresh Node (this one has loaded it for the tests above). */
async function parsingLoadsZod(text: string): Promise<boolean> {
  const loadCluster = pathToFileURL(path.join(REPO_ROOT, 'dist', 'src', 'cluster', 'load-cluster.js')).href;
  // A resolve hook (node:module register) reports every module the parse loads; a
  // last import marks the end of the list.
  const hooks = `let port; export function initialize(data) { port = data.port; }
    export async function resolve(specifier, context, next) { const r = await next(specifier, context); port.postMessage(r.url); return r; }`;
  const script = `
    import { register } from 'node:module';
    import { MessageChannel } from 'node:worker_threads';
    const { port1, port2 } = new MessageChannel();
    const urls = [];
    const END = 'data:text/javascript,export default 0';
    const ended = new Promise((done) => port1.on('message', (url) => (url === END ? done() : urls.push(url))));
    register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hooks)}), { data: { port: port2 }, transferList: [port2] });
    const { parseCluster } = await import(${JSON.stringify(loadCluster)});
    let refused = false;
    try { await parseCluster(${JSON.stringify(text)}, 'c.yaml'); } catch { refused = true; }
    await import(END);
    await ended;
    port1.close();
    process.stdout.write(JSON.stringify({ refused, zod: urls.some((url) => url.includes('/node_modules/zod/')) }));`;
  const { execa } = await import('execa');
  const { stdout } = await execa(process.execPath, ['--input-type=module', '-e', script]);
  const { refused, zod } = JSON.parse(stdout) as { refused: boolean; zod: boolean };
  assert.is(refused, zod, `zod ${zod ? 'loaded' : 'not loaded'} for a document ${refused ? 'refused' : 'accepted'}`);
  return zod;
}

test('a valid cluster file never loads zod; a broken one does, for its message', async () => {
  const valid = `nodes:\n  - {name: cp-1, addresses: [10.0.0.11, fd00::11], roles: [control-plane]}\nadminNetworks: [10.9.0.0/24]\nnodePortRange: 30000-32767\noverrides:\n  kubelet: {ports: [10250], addPeers: [pods]}\n`;
  assert.is(await parsingLoadsZod(valid), false);
  assert.is(await parsingLoadsZod(`${valid}nodeLocalDNS: 169.254.25.0/24\n`), true);
});

test('with well-formed nodes, the rest of the document is still validated (by zod, with its place in the file)', async () => {
  const text = `nodes:\n  - name: cp-1\n    addresses: [10.0.0.11]\n    roles: [control-plane]\nadminNetworks: [10.9.0.1/24]\n`;
  await rejects(() => parseCluster(text, 'c.yaml'), /^c\.yaml:5:17: adminNetworks\[0\]: .*host bits/);
});

test('a bad node still gets zod\'s message with its place in the file', async () => {
  const nodes = Array.from({ length: 50 }, (_, i) => ({ ...VALID_NODE, name: `n-${i}` }));
  nodes[42] = { ...VALID_NODE, name: 'n-42', addresses: ['10.0.0.300'] };
  await rejects(() => parseCluster(JSON.stringify({ nodes }, null, 1), 'big.json'), /^big\.json:\d+:\d+: nodes\[42\]\.addresses\[0\]: /);
});

test.run();
