import { execa } from 'execa';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BIN, FIXTURES_DIR, REPO_ROOT } from '../../helpers/paths.js';
import { runCliInProcess } from '../../helpers/run-cli.js';

/** The real bin as a user runs it; FORCE_COLOR (set by the test runner) is dropped so NO_COLOR is the only colour switch. */
async function runBin(args: readonly string[], options: { input?: string; env?: Record<string, string> } = {}) {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined && key !== 'FORCE_COLOR') env[key] = value;
  const result = await execa(process.execPath, [BIN, ...args], {
    cwd: REPO_ROOT,
    reject: false,
    input: options.input ?? '',
    env: { ...env, NO_COLOR: '1', ...options.env },
    extendEnv: false,
  });
  return { exitCode: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr) };
}

/** runMain in this process, with the same switches: the saved-dump cases, where a process start per case was the whole cost. */
function runCli(args: readonly string[], options: { input?: string } = {}) {
  return runCliInProcess(args, { ...options, env: { FORCE_COLOR: undefined } });
}

const WORKER = ['diff', '--backend', 'nftables', '--role', 'worker', '--cluster', 'examples/cluster.yaml'];
const fixture = (name: string) => `${FIXTURES_DIR}nftables/${name}.json`;

test('in sync: exit 0 and says so', async () => {
  const result = await runBin([...WORKER, '--from', fixture('example-worker-applied')]);
  assert.is(result.exitCode, 0, result.stderr);
  assert.match(result.stdout, /In sync: applying would change nothing in table inet kubewall/);
  assert.match(result.stdout, /Unchanged: 24 rules, 20 set elements/);
  assert.is(result.stderr, '');
});

test("kubewall's old input chain (policy drop) is one change: the policy, to accept; the final drop rule already matches", async () => {
  const result = await runCli([...WORKER, '--from', fixture('example-worker-policy-drop')]);
  assert.is(result.exitCode, 2, result.stderr);
  assert.match(result.stdout, /Chains:\n {2}~ input: policy drop -> accept\n/);
  assert.not.match(result.stdout, /Rules to (add|remove)/);
});

test('changes pending: exit 2 and names exactly what differs', async () => {
  const result = await runCli([...WORKER, '--from', fixture('example-worker-drift')]);
  assert.is(result.exitCode, 2, result.stderr);
  assert.match(result.stdout, /Rules to add \(1\):\n {2}\+ input {7}ipv4 {6}tcp dport 10250 saddr @control-plane-v4 accept {2}# kubelet\/tcp\/control-plane\n/);
  assert.match(result.stdout, /Rules to remove \(1\):\n {2}- input {7}ipv4\+ipv6 tcp dport 8080 accept/);
  assert.match(result.stdout, / {2}control-plane-v4:\n {4}\+ 10\.10\.0\.12\n {2}load-balancers-v4:\n {4}- 10\.10\.0\.99\n/);
  assert.not.match(result.stdout, /\u001b\[/, 'no colour when not a terminal');
});

test('--format json: the documented v1 shape', async () => {
  const result = await runCli([...WORKER, '--from', fixture('example-worker-drift'), '--format', 'json']);
  assert.is(result.exitCode, 2);
  const json = JSON.parse(result.stdout);
  assert.is(json.apiVersion, 'kubewall.dev/diff/v1');
  assert.equal([json.backend, json.roles, json.scope, json.present, json.inSync], ['nftables', ['worker'], 'table inet kubewall', true, false]);
  assert.equal(json.summary, {
    chainsToAdd: 0,
    chainsToRemove: 0,
    chainChanges: 0,
    rulesToAdd: 1,
    rulesToRemove: 2,
    rulesOutOfOrder: 0,
    setsToAdd: 0,
    setsToRemove: 0,
    setElementsToAdd: 1,
    setElementsToRemove: 1,
    rulesUnchanged: 23,
    setElementsUnchanged: 19,
  });
  assert.equal(json.rules.add[0], {
    chain: 'input',
    family: 'ipv4',
    source: 'control-plane-v4',
    verdict: 'accept',
    match: { kind: 'ports', protocol: 'tcp', ports: ['10250'] },
    text: 'tcp dport 10250 saddr @control-plane-v4 accept',
    origin: 'kubelet/tcp/control-plane',
  });
  assert.equal(json.sets.elements[0], { set: 'control-plane-v4', family: 'ipv4', add: ['10.10.0.12'], remove: [], unchanged: 2 });
  assert.equal(json.warnings, []);
});

test('--from - reads the dump from stdin; warnings about other managers are in the report', async () => {
  const result = await runCli([...WORKER, '--from', '-', '--format', 'json'], { input: await readFile(fixture('other-managers'), 'utf8') });
  assert.is(result.exitCode, 0, result.stderr);
  const json = JSON.parse(result.stdout);
  assert.is(json.source, 'stdin');
  assert.equal(json.warnings.map((w: { code: string }) => w.code), ['shadowing-drop', 'firewalld-active', 'ufw-active']);
});

const USAGE: [string, string[], RegExp][] = [
  ['unknown option', [...WORKER, '--bogus'], /^kubewall: unknown option '--bogus' \(run kubewall diff --help for usage\)$/],
  ['no role', ['diff', '--backend', 'nftables'], /--role is required/],
  ['no backend', ['diff', '--role', 'worker'], /--backend is required/],
  ['unknown backend', ['diff', '--backend', 'pf', '--role', 'worker'], /unknown backend "pf"/],
  ['bad format', [...WORKER, '--format', 'yaml', '--from', fixture('empty')], /--format: unknown value "yaml"/],
  ['missing option value', ['diff', '--role', 'worker', '--backend'], /argument missing/],
  ['bad timeout', [...WORKER, '--timeout', 'soon'], /--timeout: expected seconds > 0/],
  ['missing file', [...WORKER, '--from', '/nonexistent/dump.json'], /^kubewall: --from \/nonexistent\/dump\.json: cannot read the saved dump: no such file$/],
  ['unparsable dump', [...WORKER, '--from', `${REPO_ROOT}examples/cluster.yaml`], /cannot parse the nftables ruleset: expected \{"nftables"/],
];
for (const [name, args, pattern] of USAGE) {
  test(`errors exit 1, never 2 (which means "changes pending"): ${name}`, async () => {
    const result = await runCli(args);
    assert.is(result.exitCode, 1, `${result.stdout}\n${result.stderr}`);
    assert.is(result.stdout, '');
    assert.is(result.stderr.trim().split('\n').length, 1, result.stderr);
    assert.match(result.stderr.trim(), pattern);
  });
}

test('--help explains usage, what it reads, and the exit codes', async () => {
  const result = await runCli(['diff', '--help']);
  assert.is(result.exitCode, 0);
  for (const text of ['--from <file>', 'nft -j list ruleset', 'Exit codes: 0 in sync, 2 changes pending, 1 error', 'never changes the host']) {
    assert.ok(result.stdout.includes(text), text);
  }
});

/** Runs the CLI with fake tools first on PATH (execa's fixtures-directory idea): the live path without root or the host. */
async function withFakeTools(tools: Record<string, string>, args: readonly string[]) {
  const dir = await mkdtemp(path.join(tmpdir(), 'kw-fake-tools-'));
  try {
    for (const [name, script] of Object.entries(tools)) {
      await writeFile(path.join(dir, name), `#!/bin/sh\n${script}\n`);
      await chmod(path.join(dir, name), 0o755);
    }
    return await runBin(args, { env: { PATH: dir } });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('live: nft not installed is one clear message, exit 1', async () => {
  const result = await withFakeTools({}, WORKER);
  assert.is(result.exitCode, 1);
  assert.is(result.stderr.trim(), 'kubewall: nft -j list table inet kubewall: nft is not installed (install nftables, or diff against a saved dump with --from FILE)');
});

test('live: permission denied is one clear message, exit 1', async () => {
  const result = await withFakeTools({ nft: 'echo "netlink: Error: cache initialization failed: Operation not permitted" >&2; exit 1' }, WORKER);
  assert.is(result.exitCode, 1);
  assert.match(result.stderr.trim(), /^kubewall: nft -j list table inet kubewall: permission denied, reading the ruleset needs root \(run kubewall diff with sudo, or diff against a saved dump with --from FILE\): netlink: Error: cache initialization failed: Operation not permitted$/);
});

test('live: a command that hangs is stopped at --timeout, one clear message, exit 1', async () => {
  const result = await withFakeTools({ nft: 'exec /bin/sleep 10' }, [...WORKER, '--timeout', '0.3']);
  assert.is(result.exitCode, 1);
  assert.is(result.stderr.trim(), 'kubewall: nft -j list table inet kubewall: no answer within 0.3 s (a hung daemon or lock?); nothing was changed');
});

test('live: kubewall\'s table comes from nft -j list table inet kubewall, never nft -j list ruleset (fake nft answering from a captured dump)', async () => {
  // The fake answers every listing kubewall may ask with the whole captured ruleset: the reader keeps what it asked for.
  const nft = `case "$*" in "-j list table inet kubewall"|"-j list chains"|"-j list chain "*) /bin/cat '${fixture('example-worker-drift')}';; *) exit 99;; esac`;
  const result = await withFakeTools({ nft }, [...WORKER, '--format', 'json']);
  assert.is(result.exitCode, 2, result.stderr);
  assert.is(JSON.parse(result.stdout).source, 'live');
});

// iptables and ufw: the same CLI, their own dumps (captured by scripts/capture-fixtures.ts).
const IPTABLES = ['diff', '--backend', 'iptables', '--role', 'worker', '--cluster', 'examples/cluster.yaml'];
const UFW = ['diff', '--backend', 'ufw', '--role', 'worker', '--cluster', 'examples/cluster.yaml'];
const dump = (backend: string, name: string) => `${FIXTURES_DIR}${backend}/${name}.dump`;

test('iptables --from: in sync exits 0; drift exits 2 naming the rule and the elements', async () => {
  const clean = await runCli([...IPTABLES, '--from', dump('iptables', 'example-worker-applied')]);
  assert.is(clean.exitCode, 0, clean.stderr);
  assert.match(clean.stdout, /In sync: applying would change nothing in chains KUBEWALL-INPUT \(filter\), KUBEWALL-BEFORE-DNAT \(mangle\) and ipsets KUBEWALL-\*/);
  const drift = await runCli([...IPTABLES, '--from', dump('iptables', 'example-worker-drift')]);
  assert.is(drift.exitCode, 2, drift.stderr);
  assert.match(drift.stdout, /Rules to add \(1\):\n {2}\+ input {7}ipv4 {6}tcp dport 10250 saddr @KUBEWALL-CONTROL-PLANE-V4 accept/);
  assert.match(drift.stdout, / {2}KUBEWALL-CONTROL-PLANE-V4:\n {4}\+ 10\.10\.0\.12\n {2}KUBEWALL-LOAD-BALANCERS-V4:\n {4}- 10\.10\.0\.99\n/);
});

test('ufw --from stdin: drift exits 2 naming the address rules', async () => {
  const result = await runCli([...UFW, '--from', '-', '--format', 'json'], { input: await readFile(dump('ufw', 'example-worker-drift'), 'utf8') });
  assert.is(result.exitCode, 2, result.stderr);
  const json = JSON.parse(result.stdout);
  assert.equal(json.rules.add.map((r: { text: string }) => r.text), ['tcp dport 10250 saddr 10.10.0.12 accept', 'tcp dport 10250 saddr 10.10.0.13 accept']);
  assert.equal(json.rules.remove.map((r: { text: string }) => r.text), ['tcp dport 10250 saddr 10.10.0.99 accept']);
  assert.equal(json.source, 'stdin');
});

const VARIANT_ERRORS: [string, string[], RegExp][] = [
  ['--iptables-variant with another backend', [...WORKER, '--iptables-variant', 'nft'], /--iptables-variant applies to --backend iptables only \(got --backend nftables\)/],
  ['unknown variant', [...IPTABLES, '--iptables-variant', 'xtables'], /--iptables-variant: unknown value "xtables" \(expected nft, legacy, auto\)/],
  ['unparsable iptables dump', [...IPTABLES, '--from', `${REPO_ROOT}examples/cluster.yaml`], /cannot parse the iptables ruleset: .*cluster.yaml \(iptables-save\): line \d+: not iptables-save output/],
  ['unparsable ufw dump', [...UFW, '--from', `${REPO_ROOT}examples/cluster.yaml`], /no ufw user rules found/],
];
for (const [name, args, pattern] of VARIANT_ERRORS) {
  test(`errors exit 1: ${name}`, async () => {
    const result = await runCli(args);
    assert.is(result.exitCode, 1, `${result.stdout}\n${result.stderr}`);
    assert.is(result.stderr.trim().split('\n').length, 1, result.stderr);
    assert.match(result.stderr.trim(), pattern);
  });
}

test('--help shows the one shell line that makes an iptables and a ufw dump', async () => {
  const result = await runCli(['diff', '--help']);
  assert.ok(result.stdout.includes("sudo sh -c 'iptables-save; ip6tables-save; ipset save' > node-1.iptables"));
  assert.ok(result.stdout.includes("sudo sh -c 'ufw status verbose; cat /etc/default/ufw /etc/ufw/user.rules /etc/ufw/user6.rules' > node-1.ufw"));
  assert.ok(result.stdout.includes('--iptables-variant <variant>'));
});

test('live iptables: the variant named, ipset missing is one clear message, exit 1', async () => {
  const result = await withFakeTools({ 'iptables-legacy-save': 'echo "*filter"; echo COMMIT', 'ip6tables-legacy-save': 'echo "*filter"; echo COMMIT' }, [...IPTABLES, '--iptables-variant', 'legacy']);
  assert.is(result.exitCode, 1, result.stdout);
  assert.is(result.stderr.trim(), 'kubewall: ipset save: ipset is not installed (install ipset, or diff against a saved dump with --from FILE)');
});

test('live ufw: not root is one clear message, exit 1', async () => {
  const result = await withFakeTools({ ufw: 'echo "ERROR: You need to be root to run this script" >&2; exit 1' }, UFW);
  assert.is(result.exitCode, 1);
  assert.match(result.stderr.trim(), /^kubewall: ufw status verbose: permission denied, reading the ruleset needs root \(run kubewall diff with sudo, or diff against a saved dump with --from FILE\): ERROR: You need to be root/);
});

test.run();
