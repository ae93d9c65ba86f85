import fg from 'fast-glob';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BACKEND_NAMES } from '../src/backends/registry.js';
import { loadCluster } from '../src/cluster/load-cluster.js';
import { planFromFiles } from '../src/load-plan.js';
import { ROLES } from '../src/model.js';
import { renderPlan } from '../src/render/render-plan.js';
import { renderJsonSchemas } from '../src/schema/json-schema.js';
import { VERSION } from '../src/version.js';
import { EXAMPLES_DIR, REPO_ROOT } from './helpers/paths.js';

test('VERSION matches package.json', async () => {
  const pkg = JSON.parse(await readFile(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
  assert.is(VERSION, pkg.version);
});

test('the shipped JSON Schemas are the ones the zod schemas produce (npm run schema:update)', async () => {
  for (const [name, text] of Object.entries(renderJsonSchemas())) {
    assert.fixture(await readFile(path.join(REPO_ROOT, 'schema', name), 'utf8'), text, `schema/${name} is stale`);
  }
});

test('the cluster JSON Schema describes what the runtime validator accepts', () => {
  const schema = JSON.parse(renderJsonSchemas()['cluster.schema.json']!) as { properties: Record<string, unknown>; additionalProperties: boolean };
  assert.equal(Object.keys(schema.properties).sort(), ['$schema', 'adminNetworks', 'loadBalancers', 'name', 'nodes', 'overrides', 'podCIDRs', 'profiles', 'serviceCIDRs', 'serviceExternalIPs', 'kubeProxy', 'nodePortRange', 'nodeLocalDNS', 'ssh'].sort());
  assert.is(schema.additionalProperties, false);
});

const examples = (await fg('*.{yaml,yml,json}', { cwd: EXAMPLES_DIR })).sort();

test('there are examples', () => {
  assert.ok(examples.length >= 3);
});

for (const example of examples) {
  test(`examples/${example} validates and renders for every role and backend`, async () => {
    await loadCluster(path.join(EXAMPLES_DIR, example));
    for (const role of ROLES) {
      const plan = await planFromFiles({ roles: [role], clusterFile: `examples/${example}`, cwd: REPO_ROOT });
      assert.equal(plan.defaultedPeers, [], `examples/${example} leaves peers defaulted for ${role}`);
      for (const backend of BACKEND_NAMES) {
        // kube-proxy ipvs needs an accept by destination, which only nftables and iptables can write.
        if (plan.kubeProxy.serviceDestinations.ipv4.length + plan.kubeProxy.serviceDestinations.ipv6.length > 0 && (backend === 'firewalld' || backend === 'ufw')) {
          const refused = await renderPlan(plan, backend).then(() => 'rendered', (e: unknown) => String(e));
          assert.match(refused, /cannot accept traffic by destination/, `examples/${example} ${role} ${backend}`);
          continue;
        }
        const result = await renderPlan(plan, backend);
        assert.ok(result.files.length > 0 && result.files[0]!.content.length > 0);
      }
    }
  });
}

test('package.json ships what the code loads at run time', async () => {
  const pkg = JSON.parse(await readFile(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { files: string[]; bin: Record<string, string> };
  for (const folder of ['bin', 'dist/src', 'catalogue', 'templates', 'schema']) assert.ok(pkg.files.includes(folder), `files lacks ${folder}`);
  assert.is(pkg.bin['kubewall'], 'bin/kubewall.js');
});

test("every name docs/library.md imports from 'kubewall' is exported by the package entry; every error code is listed", async () => {
  const section = await readFile(path.join(REPO_ROOT, 'docs', 'library.md'), 'utf8');
  const imported = [...section.matchAll(/import \{([^}]+)\} from 'kubewall'/g)].flatMap((m) => m[1]!.split(',').map((n) => n.trim()).filter(Boolean));
  assert.ok(imported.length >= 10, `found ${imported.length} imported names`);
  const entry = (await import('../src/index.js')) as Record<string, unknown>;
  const missing = imported.filter((name) => !(name in entry));
  assert.equal(missing, [], `docs/library.md imports names the package does not export: ${missing.join(', ')}`);
  for (const name of ['runApply', 'runConfirm', 'runRollback', 'takeSnapshot', 'restoreSnapshot', 'checkSshSession', 'StateStore', 'startRollbackWatcher']) {
    assert.type(entry[name], 'function', name);
  }
  const codes = [...(await readFile(path.join(REPO_ROOT, 'src', 'errors.ts'), 'utf8')).matchAll(/^\s+\| '([A-Z_]+)'/gm)].map((m) => m[1]!);
  assert.ok(codes.length >= 10);
  for (const code of codes) assert.ok(section.includes(`\`${code}\``), `docs/library.md does not list error code ${code}`);
});

test.run();
