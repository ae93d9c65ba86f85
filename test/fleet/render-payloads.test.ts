import { execa } from 'execa';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse as parseYaml } from 'yaml';
import { BACKEND_NAMES } from '../../src/backends/registry.js';
import { renderPayloads } from '../../src/fleet/render-payloads.js';
import { PAYLOAD_FORMAT_NAMES } from '../../src/payloads/formats.js';
import { systemdWord } from '../../src/payloads/install-view.js';
import { heredocDelimiter, shQuote, yamlScalar } from '../../src/payloads/quote.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { runCli } from '../helpers/run-cli.js';

const KUBESPRAY = 'examples/inventory/kubespray.ini';
const K3S = 'examples/inventory/k3s.yaml';
const PEERS = 'examples/inventory/cluster.yaml';
const base = { cwd: REPO_ROOT, clusterFile: PEERS } as const;

async function has(tool: string): Promise<boolean> {
  return (await execa('sh', ['-c', `command -v ${tool}`], { reject: false })).exitCode === 0;
}

/** A tool the test needs: skipped with a message where it is missing, a failure in CI (.ci/run installs it). */
async function needTool(tool: string): Promise<boolean> {
  if (await has(tool)) return true;
  if (process.env['CI'] === 'true') throw new Error(`CI=true but ${tool} is not installed (.ci/run installs it)`);
  process.stderr.write(`SKIP part of a test: ${tool} is not installed\n`);
  return false;
}

test('yamlScalar round-trips through a YAML parser: block scalars, chomping, and quoted fallbacks', () => {
  for (const text of ['a\n', 'a', 'a\n\n\n', '\tindented\n\nx\n', ' leading space\n', 'cr\r\n', '', '#!/bin/sh\necho "$x" \'y\'\n']) {
    const { header, lines } = yamlScalar(text, 6);
    const doc = `key:\n  - content: ${header}\n${lines.join('\n')}\n`;
    assert.equal(parseYaml(doc), { key: [{ content: text }] }, JSON.stringify(text));
  }
});

test('shQuote and heredoc delimiters', () => {
  assert.is(shQuote('/etc/nftables.d/kubewall.nft'), '/etc/nftables.d/kubewall.nft');
  assert.is(shQuote('include "/x"'), `'include "/x"'`);
  assert.is(shQuote("it's"), `'it'\\''s'`);
  assert.is(heredocDelimiter('EOF', 'a\nEOF\nEOF_2\n'), 'EOF_3');
});

test('systemd Exec words: plain words as they are; spaces, quotes, % and $ quoted or doubled as systemd reads them', () => {
  assert.is(systemdWord('/usr/sbin/nft'), '/usr/sbin/nft');
  assert.is(systemdWord('table inet kubewall; delete table inet kubewall'), '"table inet kubewall; delete table inet kubewall"');
  assert.is(systemdWord('a"b\\c'), '"a\\"b\\\\c"');
  assert.is(systemdWord('50%'), '50%%');
  assert.is(systemdWord('$HOME x'), '"$$HOME x"');
});

test('nftables persistence: kubewall.service (oneshot, before kubelet, after nftables.service, stop deletes table inet kubewall only) in every format; nftables.conf is never added to, only the old include line removed', async () => {
  // cloud-init indents the unit inside the YAML block: compare it dedented.
  const unitFile = (text: string) => (/\[Unit\][^]*?WantedBy=multi-user\.target/.exec(text)?.[0] ?? '').replace(/^[ \t]+/gm, '');
  for (const format of ['script', 'cloud-init', 'ansible'] as const) {
    const output = await renderPayloads({ ...base, backend: 'nftables', format, roles: ['worker'] });
    const all = output.files.map((f) => f.content).join('\n');
    const unit = unitFile(all);
    assert.match(unit, /^Type=oneshot$/m, format);
    assert.match(unit, /^After=local-fs\.target nftables\.service$/m, format);
    assert.match(unit, /^Before=network-pre\.target kubelet\.service shutdown\.target$/m, format);
    assert.match(unit, /^ExecStart=\/usr\/sbin\/nft -f \/etc\/kubewall\/kubewall\.nft$/m, format);
    assert.match(unit, /^ExecReload=\/usr\/sbin\/nft -f \/etc\/kubewall\/kubewall\.nft$/m, format);
    assert.match(unit, /^ExecStop=\/usr\/sbin\/nft "table inet kubewall; delete table inet kubewall"$/m, format);
    const commands = all.split('\n').filter((l) => !/^\s*#/.test(l)).join('\n');
    assert.not.match(commands, /flush ruleset|sysinit\.target\.wants\/nftables\.service|\/etc\/sysconfig\/nftables\.conf/, format);
    // The only mention of nftables.conf: removing the line earlier versions added.
    const mentions = all.split('\n').filter((l) => l.includes('/etc/nftables.conf') && !l.trimStart().startsWith('#'));
    assert.ok(mentions.length > 0, format);
    for (const line of mentions) assert.match(line, /remove_line "\$root"\/etc\/nftables\.conf 'include "\/etc\/nftables\.d\/kubewall\.nft"'|path: "\{\{ kubewall_root \}\}\/etc\/nftables\.conf"|no longer a line in \/etc\/nftables\.conf/, `${format}: ${line}`);
    if (format === 'ansible') assert.match(all, /line: "include \\"\/etc\/nftables\.d\/kubewall\.nft\\""\n {4}state: absent/);
  }
});

test('the iptables boot unit stays as it was: runs the script, no ExecStop (stopping leaves the rules)', async () => {
  const output = await renderPayloads({ ...base, backend: 'iptables', format: 'script', roles: ['worker'] });
  const [script] = output.files;
  assert.match(script!.content, /^ExecStart=\/bin\/sh \/etc\/kubewall\/kubewall-iptables\.sh$/m);
  assert.not.match(script!.content, /^ExecStop=/m);
  assert.not.match(script!.content, /remove_line "/);
});

test('a fleet renders one plan per role combination and a file for every host; hosts with one plan share its content', async () => {
  const output = await renderPayloads({ ...base, backend: 'nftables', format: 'files', inventory: KUBESPRAY });
  assert.is(output.hosts, 6);
  assert.is(output.plans, 2);
  assert.equal(output.skipped, ['bastion-1']);
  assert.equal(output.files.map((f) => f.name).sort(), ['cp-1', 'cp-2', 'cp-3', 'worker-01', 'worker-02', 'worker-03'].map((h) => `${h}/kubewall.nft`));
  const content = (host: string) => output.files.find((f) => f.name === `${host}/kubewall.nft`)!.content;
  assert.ok(content('cp-1') === content('cp-3'), 'control-plane hosts share one rendering');
  assert.ok(content('worker-01') === content('worker-03'));
  assert.match(content('cp-1'), /roles: control-plane, etcd/);
  assert.match(content('worker-01'), /roles: worker/);
  // The inventory's addresses are the peers; the cluster file gives the rest; nothing is defaulted.
  assert.match(content('worker-01'), /10\.10\.0\.11,\n\t+10\.10\.0\.12,\n\t+10\.10\.0\.13\n/);
  assert.match(content('worker-01'), /defaulted peers: none/);
  assert.match(content('worker-01'), /cluster: examples\/inventory\/cluster\.yaml \+ inventory examples\/inventory\/kubespray\.ini/);
});

test('every backend renders in every format (install data for each backend), for a fleet and for one role', async () => {
  for (const backend of BACKEND_NAMES) {
    for (const format of PAYLOAD_FORMAT_NAMES) {
      const fleet = await renderPayloads({ ...base, backend, format, inventory: K3S });
      assert.ok(fleet.files.length >= 7, `${backend}/${format}: ${fleet.files.length} files`);
      const single = await renderPayloads({ ...base, backend, format, roles: ['worker'] });
      assert.ok(single.files.length >= 1, `${backend}/${format}`);
    }
  }
});

test('--format ansible: a role whose YAML parses, the rules per host under files/<inventory_hostname>/', async () => {
  const output = await renderPayloads({ ...base, backend: 'iptables', format: 'ansible', inventory: KUBESPRAY, backendOptions: { iptablesVariant: 'nft' } });
  const names = output.files.map((f) => f.name);
  for (const name of ['playbook.yml', 'roles/kubewall/tasks/main.yml', 'roles/kubewall/handlers/main.yml', 'roles/kubewall/defaults/main.yml', 'roles/kubewall/files/kubewall.service']) {
    assert.ok(names.includes(name), name);
  }
  assert.ok(names.includes('roles/kubewall/files/cp-2/kubewall.sh'));
  assert.ok(names.includes('roles/kubewall/files/worker-03/kubewall.sh'));
  const file = (name: string) => output.files.find((f) => f.name === name)!.content;
  const tasks = parseYaml(file('roles/kubewall/tasks/main.yml')) as Record<string, unknown>[];
  const install = tasks.find((t) => 'ansible.builtin.copy' in t && (t['ansible.builtin.copy'] as Record<string, string>)['validate'])!;
  assert.equal(install['ansible.builtin.copy'], {
    src: '{{ kubewall_payload }}/kubewall.sh',
    dest: '{{ kubewall_root }}/etc/kubewall/kubewall-iptables.sh',
    mode: '0755',
    validate: '/bin/sh %s --check',
  });
  assert.is(install['notify'], 'Kubewall load rules');
  assert.equal(parseYaml(file('roles/kubewall/handlers/main.yml')), [
    { name: 'Kubewall load rules', 'ansible.builtin.command': { argv: ['/bin/sh', '{{ kubewall_root }}/etc/kubewall/kubewall-iptables.sh'] }, changed_when: true },
  ]);
  assert.equal(parseYaml(file('roles/kubewall/defaults/main.yml')), { kubewall_root: '', kubewall_payload: '{{ inventory_hostname }}' });
  const [play] = parseYaml(file('playbook.yml')) as Record<string, unknown>[];
  assert.is(play!['hosts'], 'etcd:kube_control_plane:kube_node');
  assert.match(file('roles/kubewall/files/kubewall.service'), /ExecStart=\/bin\/sh \/etc\/kubewall\/kubewall-iptables\.sh/);
  // Without an inventory every host gets files/all/.
  const single = await renderPayloads({ ...base, backend: 'nftables', format: 'ansible', roles: ['worker'] });
  assert.ok(single.files.some((f) => f.name === 'roles/kubewall/files/all/kubewall.nft'));
  assert.match(single.files.find((f) => f.name === 'roles/kubewall/defaults/main.yml')!.content, /kubewall_payload: "all"/);
});

test('--format ansible: every backend\'s playbook and role pass ansible-playbook --syntax-check', async () => {
  if (!(await needTool('ansible-playbook'))) return;
  const dir = await mkdtemp(path.join(tmpdir(), 'kubewall-ansible-syntax-'));
  try {
    const playbooks: string[] = [];
    for (const backend of BACKEND_NAMES) {
      const site = path.join(dir, backend);
      const result = await runCli(['render', '-b', backend, ...(backend === 'iptables' ? ['--iptables-variant', 'nft'] : []), '-i', K3S, '-c', PEERS, '--format', 'ansible', '--out-dir', site]);
      assert.is(result.exitCode, 0, result.stderr);
      playbooks.push(path.join(site, 'playbook.yml'));
    }
    // One ansible-playbook for every backend (each playbook finds its own roles/): a start costs over a second.
    const check = await execa('ansible-playbook', ['--syntax-check', '-i', path.join(REPO_ROOT, K3S), ...playbooks], {
      reject: false,
      cwd: dir,
      env: { ANSIBLE_LOCAL_TEMP: path.join(dir, 'tmp'), ANSIBLE_HOME: path.join(dir, 'home'), ANSIBLE_NOCOLOR: '1' },
    });
    assert.is(check.exitCode, 0, `${check.stdout}${check.stderr}`);
    for (const playbook of playbooks) assert.ok(check.stdout.includes(`playbook: ${playbook}`), `${playbook} was not checked:\n${check.stdout}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('--format cloud-init passes cloud-init schema for every backend; its runcmd is valid sh', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'kubewall-cloudinit-'));
  try {
    const schema = await needTool('cloud-init');
    for (const backend of BACKEND_NAMES) {
      const [file] = (await renderPayloads({ ...base, backend, format: 'cloud-init', roles: ['control-plane', 'worker'] })).files;
      assert.ok(file!.content.startsWith('#cloud-config\n'), backend);
      const config = parseYaml(file!.content) as { write_files: { path: string; content: string }[]; runcmd: string[][] };
      assert.is(config.write_files[0]!.path.startsWith('/etc/'), true);
      const [command, flags, script] = config.runcmd[0]!;
      assert.equal([command, flags], ['sh', '-ec']);
      const syntax = await execa('sh', ['-n'], { input: script!, reject: false });
      assert.is(syntax.exitCode, 0, `${backend}: runcmd script: ${syntax.stderr}`);
      if (schema) {
        const target = path.join(dir, `${backend}.yaml`);
        await writeFile(target, file!.content);
        const result = await execa('cloud-init', ['schema', '--config-file', target], { reject: false });
        assert.is(result.exitCode, 0, `${backend}: cloud-init schema: ${result.stdout}${result.stderr}`);
        assert.match(result.stdout, /Valid cloud-config/);
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('--format script: sh -n and, where installed, shellcheck pass for every backend', async () => {
  const shellcheck = await has('shellcheck');
  for (const backend of BACKEND_NAMES) {
    const [file] = (await renderPayloads({ ...base, backend, format: 'script', roles: ['worker'] })).files;
    assert.is(file!.mode, 0o755);
    assert.ok(file!.content.startsWith('#!/bin/sh\n'));
    const syntax = await execa('sh', ['-n'], { input: file!.content, reject: false });
    assert.is(syntax.exitCode, 0, `${backend}: ${syntax.stderr}`);
    if (shellcheck) {
      const lint = await execa('shellcheck', ['-s', 'sh', '-'], { input: file!.content, reject: false });
      assert.is(lint.exitCode, 0, `${backend}: shellcheck:\n${lint.stdout}`);
    }
  }
});

test('5,000 hosts: one plan per role combination, every host a file', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'kubewall-fleet-'));
  try {
    const lines = ['[kube_control_plane]'];
    for (let i = 0; i < 3; i++) lines.push(`cp-${i} ip=10.0.0.${i + 1}`);
    lines.push('[kube_node]');
    for (let i = 0; i < 5000; i++) lines.push(`node-${i} ip=10.${1 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`);
    await writeFile(path.join(dir, 'hosts'), lines.join('\n'));
    const output = await renderPayloads({ ...base, backend: 'nftables', format: 'script', inventory: path.join(dir, 'hosts') });
    assert.is(output.hosts, 5003);
    assert.is(output.plans, 2);
    assert.is(new Set(output.files.map((f) => f.content)).size, 2);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('CLI: --inventory --out-dir writes every host atomically; usage errors exit 2, inventory errors 1', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'kubewall-fleet-cli-'));
  try {
    const ok = await runCli(['render', '-b', 'nftables', '-i', KUBESPRAY, '-c', PEERS, '--format', 'cloud-init', '--out-dir', dir]);
    assert.is(ok.exitCode, 0, ok.stderr);
    assert.match(ok.stderr, /wrote 6 files for 6 hosts \(2 distinct plans\)/);
    assert.match(ok.stderr, /1 inventory host\(s\) in no group mapped to a role get no file: bastion-1/);
    assert.match(await readFile(path.join(dir, 'worker-02', 'cloud-config.yaml'), 'utf8'), /^#cloud-config\n/);
    const oneRole = await runCli(['render', '-b', 'nftables', '-i', K3S, '-c', PEERS, '-r', 'worker', '--format', 'script']);
    assert.is(oneRole.exitCode, 0, oneRole.stderr);
    assert.match(oneRole.stdout, /10\.20\.0\.11,\n\t+10\.20\.0\.12/);

    const usage = [
      [['render', '-b', 'nftables', '-i', KUBESPRAY], /--inventory without --role renders one output per host: give --out-dir DIR/],
      [['render', '-b', 'nftables', '-r', 'worker', '--format', 'ansible'], /--format ansible writes several files: give --out-dir DIR/],
      [['render', '-b', 'nftables', '-r', 'worker', '--format', 'puppet'], /--format: unknown value "puppet" \(expected files, ansible, cloud-init, script\)/],
      [['render', '-b', 'nftables', '-r', 'worker', '--group-role', 'a=worker'], /--group-role needs --inventory/],
      [['render', '-b', 'nftables', '-i', KUBESPRAY, '--group-role', 'x=boss', '--out-dir', dir], /unknown role "boss"/],
    ] as const;
    for (const [args, message] of usage) {
      const result = await runCli(args);
      assert.is(result.exitCode, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, message);
    }
    const bad = path.join(dir, 'bad.ini');
    await writeFile(bad, '[kube_node]\nw1 ip=10.0.0.300\n');
    const invalid = await runCli(['render', '-b', 'nftables', '-i', bad, '--out-dir', dir]);
    assert.is(invalid.exitCode, 1);
    assert.is(invalid.stderr.trim(), `kubewall: ${bad}:2: host w1: ip: "10.0.0.300" is not an IP address (expected an IPv4 address like 10.0.0.11 or an IPv6 address like fd00::11)`);
    const missing = await runCli(['render', '-b', 'nftables', '-i', 'nope.yaml', '--out-dir', dir]);
    assert.is(missing.exitCode, 1);
    assert.match(missing.stderr, /nope\.yaml: cannot read inventory: no such file/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});


test("a kubespray inventory's vars choose the kube-proxy mode and NodeLocal DNSCache (enable_nodelocaldns, nodelocaldns_ip); conflicting values are refused", async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'kw-kubespray-vars-'));
  try {
    const inventory = (vars: string) =>
      `[kube_control_plane]\ncp-1 ip=10.10.0.11\n\n[kube_node]\nworker-01 ip=10.10.0.21\n\n[k8s_cluster:children]\nkube_control_plane\nkube_node\n\n[k8s_cluster:vars]\n${vars}\n`;
    const render = async (vars: string) => {
      const file = path.join(dir, `inventory-${Math.random().toString(36).slice(2)}.ini`);
      await writeFile(file, inventory(vars));
      const output = await renderPayloads({ ...base, backend: 'nftables', format: 'files', inventory: file });
      return output.files.find((f) => f.name === 'worker-01/kubewall.nft')!.content;
    };
    const kubespray = await render('kube_proxy_mode=ipvs\nenable_nodelocaldns=true');
    assert.match(kubespray, /kube-proxy ipvs: Service and external IPs/);
    // kubespray's default nodelocaldns_ip.
    assert.match(kubespray, /ip saddr @pods-v4 ip daddr 169\.254\.25\.10 udp dport 53 accept/);
    const ownAddress = await render('enable_nodelocaldns=True\nnodelocaldns_ip=169.254.30.10');
    assert.match(ownAddress, /ip daddr 169\.254\.30\.10 udp dport 53 accept/);
    assert.not.match(ownAddress, /kube-proxy ipvs/);
    const silent = await render('kube_proxy_mode=iptables');
    assert.not.match(silent, /dport 53/);
    assert.not.match(await render('enable_nodelocaldns=false'), /dport 53/);
    for (const [vars, message] of [
      ['kube_proxy_mode=userspace', /kube_proxy_mode: unknown value "userspace" \(expected iptables, ipvs, nftables, none\)/],
      ['enable_nodelocaldns=true\nnodelocaldns_ip=not-an-address', /nodelocaldns_ip: /],
    ] as const) {
      const error = await render(vars).then(() => null, (e: unknown) => String(e));
      assert.match(error ?? 'rendered', message);
    }
    const file = path.join(dir, 'conflict.ini');
    await writeFile(file, `${inventory('enable_nodelocaldns=true')}\n[kube_node:vars]\nenable_nodelocaldns=false\n`);
    const conflict = await renderPayloads({ ...base, backend: 'nftables', format: 'files', inventory: file }).then(() => 'rendered', (e: unknown) => String(e));
    assert.match(conflict, /enable_nodelocaldns: "(true|false)" differs from "(false|true)" at .*conflict\.ini:\d+ \(one value per cluster\)/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
