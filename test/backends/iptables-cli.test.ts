import { execa } from 'execa';
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BIN, REPO_ROOT } from '../helpers/paths.js';
import { runCli } from '../helpers/run-cli.js';

/**
 * `kubewall render --backend iptables` through the real bin. Variant
 * detection runs `iptables -V`; these tests put a fixture `iptables` on PATH
 * (or none at all), so they never depend on this machine's iptables.
 */

const BASE = ['render', '--backend', 'iptables', '--role', 'worker', '--cluster', 'examples/cluster.yaml'];

/** Runs the bin with PATH holding only a fixture `iptables` that prints `version` (or no iptables when null). */
async function renderWithIptables(version: string | null, args: readonly string[] = BASE) {
  const dir = await mkdtemp(path.join(tmpdir(), 'kw-iptables-path-'));
  try {
    if (version !== null) {
      const sh = (await execa('sh', ['-c', 'command -v sh'])).stdout.trim();
      await writeFile(path.join(dir, 'iptables'), `#!${sh}\necho '${version}'\n`);
      await chmod(path.join(dir, 'iptables'), 0o755);
    }
    const result = await execa(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, reject: false, env: { PATH: dir, NO_COLOR: '1' }, extendEnv: false });
    return { exitCode: result.exitCode ?? -1, stdout: result.stdout, stderr: result.stderr };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const variantLine = (script: string) => script.split('\n').find((l) => l.startsWith('# variant: ')) ?? '';

test('--iptables-variant legacy: the header and every command name iptables-legacy', async () => {
  const result = await runCli([...BASE, '--iptables-variant', 'legacy']);
  assert.is(result.exitCode, 0, result.stderr);
  assert.match(variantLine(result.stdout), /^# variant: iptables-legacy \(--iptables-variant legacy\)/);
  assert.match(result.stdout, /^iptables-legacy-restore -w --noflush \$kw_test <<'KUBEWALL_RULES_V4'$/m);
  assert.match(result.stdout, /^ip6tables-legacy-restore -w --noflush \$kw_test <<'KUBEWALL_RULES_V6'$/m);
  assert.match(result.stderr, /kubewall\.sh is self-contained; --out-dir DIR also writes kubewall\.ipset, kubewall\.rules\.v4, kubewall\.rules\.v6/);
});

test('--out-dir writes the script (0755) and the split files (0644)', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'kw-iptables-out-'));
  try {
    const result = await runCli([...BASE, '--iptables-variant', 'nft', '--out-dir', dir]);
    assert.is(result.exitCode, 0, result.stderr);
    assert.equal((await readdir(dir)).sort(), ['kubewall.ipset', 'kubewall.rules.v4', 'kubewall.rules.v6', 'kubewall.sh']);
    assert.is((await stat(path.join(dir, 'kubewall.sh'))).mode & 0o777, 0o755);
    assert.is((await stat(path.join(dir, 'kubewall.rules.v4'))).mode & 0o777, 0o644);
    assert.match(await readFile(path.join(dir, 'kubewall.rules.v6'), 'utf8'), /^# this file: ip6tables-nft-restore -w --noflush < kubewall\.rules\.v6/m);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('auto (and no option) detects the variant from iptables -V', async () => {
  for (const args of [BASE, [...BASE, '--iptables-variant', 'auto']]) {
    const legacy = await renderWithIptables('iptables v1.8.9 (legacy)', args);
    assert.is(legacy.exitCode, 0, legacy.stderr);
    assert.match(variantLine(legacy.stdout), /^# variant: iptables-legacy \(detected from iptables -V: iptables v1\.8\.9 \(legacy\)\)/);
    const nft = await renderWithIptables('iptables v1.8.9 (nf_tables)', args);
    assert.match(variantLine(nft.stdout), /^# variant: iptables-nft \(detected from iptables -V: iptables v1\.8\.9 \(nf_tables\)\)/);
  }
});

test('without iptables the default is nft; an unrecognised iptables -V renders nft with a warning', async () => {
  const none = await renderWithIptables(null);
  assert.is(none.exitCode, 0, none.stderr);
  assert.match(variantLine(none.stdout), /^# variant: iptables-nft \(iptables not found on this host: nft, the default\)/);
  const old = await renderWithIptables('iptables v1.4.21');
  assert.is(old.exitCode, 0, old.stderr);
  assert.match(variantLine(old.stdout), /^# variant: iptables-nft \(iptables -V printed no variant \(iptables v1\.4\.21\): nft, the default\)/);
  assert.match(old.stderr, /kubewall: warning: cannot tell the iptables variant from "iptables -V" \(iptables v1\.4\.21\)/);
});

test('usage errors: an unknown variant, or the option with another backend (exit 2, one line)', async () => {
  const unknown = await runCli([...BASE, '--iptables-variant', 'nf_tables']);
  assert.is(unknown.exitCode, 2);
  assert.is(unknown.stderr.split('\n')[0], 'kubewall: --iptables-variant: unknown value "nf_tables" (expected nft, legacy, auto)');
  const other = await runCli(['render', '--backend', 'nftables', '--role', 'worker', '--iptables-variant', 'nft']);
  assert.is(other.exitCode, 2);
  assert.is(other.stderr.split('\n')[0], 'kubewall: --iptables-variant applies to --backend iptables only (got --backend nftables)');
  assert.is(other.stdout, '');
});

test.run();
