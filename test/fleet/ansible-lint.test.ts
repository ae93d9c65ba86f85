// The Ansible role kubewall generates passes ansible-lint (Debian's 6.x, the
// default profile) for every backend, with and without an inventory. Slow
// (a few seconds per run), so it is in `npm test` only (scripts/test-tiers.ts).
import { execa } from 'execa';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BACKEND_NAMES } from '../../src/backends/registry.js';
import { renderPayloads } from '../../src/fleet/render-payloads.js';
import { writeRenderedFiles } from '../../src/output/write-files.js';
import { EXAMPLES_DIR } from '../helpers/paths.js';

const available = (await execa('ansible-lint', ['--version'], { reject: false }).catch(() => ({ exitCode: 1 }))).exitCode === 0;
if (!available && process.env['CI'] === 'true') throw new Error('CI=true but ansible-lint is not installed: .ci/run installs it');
if (!available) process.stderr.write('SKIP ansible-lint tests: ansible-lint is not installed (in CI a skip is a failure)\n');

const cases = [
  ...BACKEND_NAMES.map((backend) => ({ backend, label: `${backend}, one role`, extra: { roles: ['worker' as const], clusterFile: path.join(EXAMPLES_DIR, 'cluster.yaml') } })),
  { backend: 'nftables', label: 'nftables, a kubespray inventory', extra: { inventory: path.join(EXAMPLES_DIR, 'inventory', 'kubespray.ini'), clusterFile: path.join(EXAMPLES_DIR, 'inventory', 'cluster.yaml') } },
];

for (const { backend, label, extra } of cases) {
  test(`ansible-lint (default profile) passes the generated role: ${label}`, async () => {
    if (!available) return;
    const dir = await mkdtemp(path.join(tmpdir(), 'kubewall-ansible-lint-'));
    try {
      const output = await renderPayloads({ backend, format: 'ansible', backendOptions: backend === 'iptables' ? { iptablesVariant: 'nft' } : {}, ...extra });
      await writeRenderedFiles(dir, output.files);
      const lint = await execa('ansible-lint', ['--nocolor'], { cwd: dir, reject: false, env: { ANSIBLE_LOCAL_TEMP: path.join(dir, '.tmp'), NO_COLOR: '1' } });
      assert.is(lint.exitCode, 0, `${lint.stdout}\n${lint.stderr}`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
}

test.run();
