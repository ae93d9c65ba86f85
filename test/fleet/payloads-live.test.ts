import { execa } from 'execa';
import { chmod, mkdir, mkdtemp, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { describeWithNetns, inNetns, withNetns } from '../helpers/netns.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { withUfwNetns } from '../helpers/ufw.js';
import { runCli } from '../helpers/run-cli.js';
import { withFirewalld } from '../helpers/firewalld.js';

// `ip netns exec` gives a namespace its own network stack but shares the
// host's file system: every file these tests make the role or the script
// write goes below a scratch folder (kubewall_root / KUBEWALL_ROOT), never /etc.

const PEERS = 'examples/inventory/cluster.yaml';

async function scratch(what: string): Promise<string> {
  return mkdtemp(path.join(tmpdir(), `kubewall-${what}-`));
}

async function withScratch<T>(what: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await scratch(what);
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function render(args: readonly string[]): Promise<void> {
  const result = await runCli(['render', ...args]);
  assert.is(result.exitCode, 0, `kubewall render ${args.join(' ')}: ${result.stderr}`);
}

/** Runs a command in the namespace with environment variables (inNetns passes none). */
function inNetnsEnv(netns: string, env: Record<string, string>, command: string, args: readonly string[], cwd?: string) {
  return execa('ip', ['netns', 'exec', netns, 'env', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), command, ...args], { reject: false, cwd, input: '' });
}

async function kubewallTable(netns: string): Promise<string | null> {
  const result = await inNetns(netns, 'nft', ['list', 'table', 'inet', 'kubewall'], { reject: false });
  return result.exitCode === 0 ? result.stdout : null;
}

/** The ruleset the rendered file gives when nft loads it directly in a fresh namespace: what the role must produce. */
async function expectedTable(file: string): Promise<string> {
  return withNetns('fleetref', async (netns) => {
    await inNetns(netns, 'nft', ['-f', file]);
    return (await inNetns(netns, 'nft', ['list', 'table', 'inet', 'kubewall'])).stdout;
  });
}

/**
 * Connects from a peer namespace on a veth (made inside the namespaces,
 * never on the host) as 10.10.0.12, a control-plane node in the inventory,
 * and as 10.10.0.99, in no peer set: etcd answers the first only, the API
 * server both.
 */
async function probeControlPlane(node: string): Promise<void> {
  await withNetns('fleetpeer', async (peer) => {
    await execa('ip', ['-n', node, 'link', 'add', 'kwnode', 'type', 'veth', 'peer', 'name', 'kwpeer', 'netns', peer]);
    await execa('ip', ['-n', node, 'addr', 'add', '10.10.0.11/24', 'dev', 'kwnode']);
    await execa('ip', ['-n', node, 'link', 'set', 'kwnode', 'up']);
    await execa('ip', ['-n', peer, 'addr', 'add', '10.10.0.12/24', 'dev', 'kwpeer']);
    await execa('ip', ['-n', peer, 'addr', 'add', '10.10.0.99/24', 'dev', 'kwpeer']);
    await execa('ip', ['-n', peer, 'link', 'set', 'kwpeer', 'up']);
    const listeners = [2379, 6443].map((port) => execa('ip', ['netns', 'exec', node, 'socat', `TCP-LISTEN:${port},fork,reuseaddr`, 'SYSTEM:true'], { reject: false }));
    try {
      await new Promise((resolve) => setTimeout(resolve, 300));
      const connects = async (from: string, port: number) =>
        (await execa('ip', ['netns', 'exec', peer, 'socat', '-T2', '/dev/null', `TCP:10.10.0.11:${port},bind=${from},connect-timeout=2`], { reject: false })).exitCode === 0;
      assert.ok(await connects('10.10.0.12', 2379), 'etcd from a control-plane node must connect');
      assert.not.ok(await connects('10.10.0.99', 2379), 'etcd from outside the peer sets must be dropped');
      assert.ok(await connects('10.10.0.99', 6443), 'the API server is open to anyone');
    } finally {
      for (const listener of listeners) listener.kill();
      await Promise.allSettled(listeners);
    }
  });
}

/** Debian's /etc/nftables.conf as shipped (it begins with flush ruleset), and with the include earlier kubewall versions appended. */
const DEBIAN_CONF = '#!/usr/sbin/nft -f\n\nflush ruleset\n\ntable inet filter {\n\tchain input {\n\t\ttype filter hook input priority filter;\n\t}\n}\n';
const LEGACY_CONF = `${DEBIAN_CONF}include "/etc/nftables.d/kubewall.nft"\n`;
/** RHEL's /etc/sysconfig/nftables.conf as shipped: only comments. */
const RHEL_CONF = '# Uncomment the include statement here to load the default config sample\n# in /etc/nftables for nftables service.\n\n#include "/etc/nftables/main.nft"\n';

/** The words of a unit's Exec line, as systemd splits them (double quotes, backslash escapes; no specifiers in ours). */
function execWords(unit: string, key: 'ExecStart' | 'ExecStop' | 'ExecReload'): string[] {
  const line = unit.split('\n').find((l) => l.startsWith(`${key}=`));
  assert.ok(line, `no ${key}= in the unit:\n${unit}`);
  return [...line!.slice(key.length + 1).matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)].map((m) => (m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]!));
}

/**
 * kubewall.service for nftables, written below `root` and enabled: it loads
 * kubewall's file only (not nftables.service), and its ExecStop, run in the
 * namespace, deletes table inet kubewall while kube-proxy's table survives;
 * ExecStart then loads it again; ExecStop on no table does not fail.
 */
async function assertNftUnit(netns: string, root: string): Promise<void> {
  const unit = await readFile(path.join(root, 'etc/systemd/system/kubewall.service'), 'utf8');
  assert.is(await readlink(path.join(root, 'etc/systemd/system/multi-user.target.wants/kubewall.service')), '/etc/systemd/system/kubewall.service');
  assert.match(unit, /^Type=oneshot$/m);
  assert.match(unit, /^Before=.*\bkubelet\.service\b/m);
  assert.match(unit, /^After=.*\bnftables\.service\b/m);
  assert.equal(execWords(unit, 'ExecStart'), ['/usr/sbin/nft', '-f', '/etc/kubewall/kubewall.nft']);
  assert.not.match(unit, /nftables\.conf|flush ruleset/);
  const kubeProxy = 'table ip kube-proxy {\n\tchain nat-prerouting {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n\t\ttcp dport 30080 dnat to 10.244.1.10:8080\n\t}\n}\n';
  await inNetns(netns, 'nft', ['-f', '-'], { input: kubeProxy });
  const before = await kubewallTable(netns);
  assert.ok(before, 'no table inet kubewall before ExecStop');
  const [stop, ...stopArgs] = execWords(unit, 'ExecStop');
  assert.is(stop, '/usr/sbin/nft');
  await inNetns(netns, stop!, stopArgs);
  assert.is(await kubewallTable(netns), null, 'ExecStop left table inet kubewall');
  assert.is((await inNetns(netns, 'nft', ['list', 'ruleset'])).stdout, (await inNetns(netns, 'nft', ['list', 'table', 'ip', 'kube-proxy'])).stdout, 'ExecStop touched another table');
  assert.match((await inNetns(netns, 'nft', ['list', 'ruleset'])).stdout, /dnat to 10\.244\.1\.10:8080/);
  assert.is((await inNetns(netns, stop!, stopArgs, { reject: false })).exitCode, 0, 'ExecStop without a table must not fail');
  // ExecStart (paths below root here) puts the table back, kube-proxy's untouched.
  const [, ...startArgs] = execWords(unit, 'ExecStart');
  await inNetns(netns, 'nft', startArgs.map((w) => (w.startsWith('/etc/') ? path.join(root, w) : w)));
  assert.is(await kubewallTable(netns), before);
  await inNetns(netns, 'nft', ['delete', 'table', 'ip', 'kube-proxy']);
}

/** `ok=3 changed=1 …` for localhost from the PLAY RECAP. */
function recap(stdout: string): { ok: number; changed: number; failed: number } {
  const line = /localhost\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=\d+\s+failed=(\d+)/.exec(stdout);
  assert.ok(line, `no PLAY RECAP in:\n${stdout}`);
  return { ok: Number(line![1]), changed: Number(line![2]), failed: Number(line![3]) };
}

await describeWithNetns('the ansible role applies in a namespace: check mode, apply, idempotent re-run', ['nft', 'ansible-playbook'], () => {
  test('ansible-playbook -c local in a namespace: --check changes nothing, apply loads and persists, a re-run changes nothing', async () => {
    await withScratch('ansible', async (dir) => {
      const inventory = path.join(dir, 'hosts.ini');
      await writeFile(inventory, '[kube_control_plane]\nlocalhost ansible_connection=local ip=10.10.0.11\ncp-2 ip=10.10.0.12\n[kube_node]\nworker-1 ip=10.10.0.21\n');
      const site = path.join(dir, 'site');
      await render(['-b', 'nftables', '-i', inventory, '-c', PEERS, '--format', 'ansible', '--out-dir', site]);
      const root = path.join(dir, 'root');
      await mkdir(path.join(root, 'etc'), { recursive: true });
      await writeFile(path.join(root, 'etc/nftables.conf'), LEGACY_CONF);
      const env = {
        ANSIBLE_LOCAL_TEMP: path.join(dir, 'ansible-tmp'),
        ANSIBLE_REMOTE_TEMP: path.join(dir, 'ansible-tmp'),
        ANSIBLE_HOME: path.join(dir, 'ansible-home'),
        ANSIBLE_NOCOLOR: '1',
        ANSIBLE_RETRY_FILES_ENABLED: '0',
        ANSIBLE_PYTHON_INTERPRETER: 'auto_silent',
        HOME: dir,
      };
      // No sudo on test machines and the tests run as root: become is switched off here only.
      const playbook = (extra: string[]) => ['-i', inventory, '--limit', 'localhost', '-e', `kubewall_root=${root}`, '-e', 'ansible_become=false', ...extra, path.join(site, 'playbook.yml')];
      await withNetns('ansible', async (netns) => {
        const check = await inNetnsEnv(netns, env, 'ansible-playbook', playbook(['--check']), dir);
        assert.is(check.exitCode, 0, `--check failed:\n${check.stdout}\n${check.stderr}`);
        assert.ok(recap(check.stdout).changed > 0, `--check should report changes:\n${check.stdout}`);
        assert.is(await kubewallTable(netns), null, 'check mode loaded rules');
        assert.not.ok(existsSync(path.join(root, 'etc/kubewall/kubewall.nft')), 'check mode wrote the rules file');
        assert.is(await readFile(path.join(root, 'etc/nftables.conf'), 'utf8'), LEGACY_CONF, 'check mode changed nftables.conf');

        const apply = await inNetnsEnv(netns, env, 'ansible-playbook', playbook([]), dir);
        assert.is(apply.exitCode, 0, `apply failed:\n${apply.stdout}\n${apply.stderr}`);
        assert.match(apply.stdout, /RUNNING HANDLER \[kubewall : Kubewall load rules\]/);
        const rendered = path.join(site, 'roles/kubewall/files/localhost/kubewall.nft');
        assert.is(await kubewallTable(netns), await expectedTable(rendered), 'the namespace holds exactly the rendered table');
        assert.is(await readFile(path.join(root, 'etc/kubewall/kubewall.nft'), 'utf8'), await readFile(rendered, 'utf8'));
        // An earlier kubewall's include line is gone, nothing else of the file changed; nftables.service is not enabled.
        assert.is(await readFile(path.join(root, 'etc/nftables.conf'), 'utf8'), DEBIAN_CONF);
        assert.not.ok(existsSync(path.join(root, 'etc/systemd/system/sysinit.target.wants/nftables.service')));
        await assertNftUnit(netns, root);

        // A probe: etcd (control-plane peers only) and the API server (anyone) from another namespace.
        await probeControlPlane(netns);

        const again = await inNetnsEnv(netns, env, 'ansible-playbook', playbook([]), dir);
        assert.is(again.exitCode, 0, again.stdout);
        assert.is(recap(again.stdout).changed, 0, `a second run changed something:\n${again.stdout}`);
        assert.not.match(again.stdout, /RUNNING HANDLER/);

        // Rules that fail validation never replace the installed file nor reach the kernel.
        await writeFile(rendered, (await readFile(rendered, 'utf8')).replace('policy accept;', 'policy acept;'));
        const broken = await inNetnsEnv(netns, env, 'ansible-playbook', playbook([]), dir);
        assert.is.not(broken.exitCode, 0);
        assert.match(broken.stdout, /failed to validate/);
        assert.not.match(await readFile(path.join(root, 'etc/kubewall/kubewall.nft'), 'utf8'), /acept/);
      });
    });
  });
});

await describeWithNetns('the ansible role for iptables applies in a namespace and installs its boot unit', ['iptables-nft-restore', 'ipset', 'ansible-playbook'], () => {
  test('iptables role: loads the chains and sets, writes kubewall.service and its wants link, a re-run changes nothing', async () => {
    await withScratch('ansible-ipt', async (dir) => {
      const site = path.join(dir, 'site');
      await render(['-b', 'iptables', '--iptables-variant', 'nft', '-r', 'worker', '-c', 'examples/cluster.yaml', '--format', 'ansible', '--out-dir', site]);
      const root = path.join(dir, 'root');
      const env = { ANSIBLE_LOCAL_TEMP: path.join(dir, 'ansible-tmp'), ANSIBLE_HOME: path.join(dir, 'ansible-home'), ANSIBLE_NOCOLOR: '1', ANSIBLE_PYTHON_INTERPRETER: 'auto_silent', HOME: dir };
      const args = ['-i', 'localhost,', '-c', 'local', '-e', `kubewall_root=${root}`, '-e', 'ansible_become=false', path.join(site, 'playbook.yml')];
      await withNetns('ansibleipt', async (netns) => {
        const check = await inNetnsEnv(netns, env, 'ansible-playbook', ['--check', ...args], dir);
        assert.is(check.exitCode, 0, `--check failed:\n${check.stdout}\n${check.stderr}`);
        assert.ok(recap(check.stdout).changed > 0, `--check should report changes:\n${check.stdout}`);
        assert.is((await inNetns(netns, 'iptables-nft-save', [])).stdout.includes('KUBEWALL'), false, 'check mode loaded rules');
        assert.is((await inNetns(netns, 'ipset', ['list', '-n'])).stdout, '', 'check mode created sets');
        assert.not.ok(existsSync(root), 'check mode wrote files');

        const apply = await inNetnsEnv(netns, env, 'ansible-playbook', args, dir);
        assert.is(apply.exitCode, 0, `${apply.stdout}\n${apply.stderr}`);
        const save = async () => (await inNetns(netns, 'iptables-nft-save', [])).stdout.replace(/^#.*$\n?/gm, '');
        const once = await save();
        assert.match(once, /-A INPUT -j KUBEWALL-INPUT/);
        assert.match((await inNetns(netns, 'ipset', ['list', '-n'])).stdout, /KUBEWALL-CONTROL-PLANE-V4/);
        assert.match(await readFile(path.join(root, 'etc/systemd/system/kubewall.service'), 'utf8'), /ExecStart=\/bin\/sh \/etc\/kubewall\/kubewall-iptables\.sh/);
        assert.is(await readlink(path.join(root, 'etc/systemd/system/multi-user.target.wants/kubewall.service')), '/etc/systemd/system/kubewall.service');
        const again = await inNetnsEnv(netns, env, 'ansible-playbook', args, dir);
        assert.is(again.exitCode, 0, again.stdout);
        assert.is(recap(again.stdout).changed, 0, again.stdout);
        assert.is(await save(), once);

        // validate: sh %s --check runs iptables-restore --test in a throwaway namespace: a bad rule never replaces the file.
        const rendered = path.join(site, 'roles/kubewall/files/all/kubewall.sh');
        const installed = await readFile(path.join(root, 'etc/kubewall/kubewall-iptables.sh'), 'utf8');
        await writeFile(rendered, (await readFile(rendered, 'utf8')).replace(/(-A KUBEWALL-INPUT .*)--dport 10250/, '$1--dport 70000'));
        const broken = await inNetnsEnv(netns, env, 'ansible-playbook', args, dir);
        assert.is.not(broken.exitCode, 0);
        assert.match(broken.stdout, /failed to validate/);
        assert.match(broken.stdout, /invalid port\/service `70000' specified/);
        assert.is(await readFile(path.join(root, 'etc/kubewall/kubewall-iptables.sh'), 'utf8'), installed);
        assert.is(await save(), once);
      });
    });
  });
});

/** The ansible-playbook arguments and environment for the role in `site`, applied to localhost below `root`. */
function localPlaybook(dir: string, site: string, root: string) {
  const env = { ANSIBLE_LOCAL_TEMP: path.join(dir, 'ansible-tmp'), ANSIBLE_HOME: path.join(dir, 'ansible-home'), ANSIBLE_NOCOLOR: '1', ANSIBLE_PYTHON_INTERPRETER: 'auto_silent', HOME: dir };
  const args = ['-i', 'localhost,', '-c', 'local', '-e', `kubewall_root=${root}`, '-e', 'ansible_become=false', path.join(site, 'playbook.yml')];
  return { env, args };
}

await describeWithNetns('the ufw Ansible role applies in a namespace with its own /etc/ufw', ['ufw', 'iptables-nft-restore', 'ansible-playbook'], () => {
  test('ufw role: --check changes nothing; apply validates (ufw --dry-run), loads the tagged rules and enables ufw; a re-run changes nothing', async () => {
    await withScratch('ansible-ufw', async (dir) => {
      const site = path.join(dir, 'site');
      await render(['-b', 'ufw', '-r', 'worker', '-c', 'examples/cluster.yaml', '--format', 'ansible', '--out-dir', site]);
      const root = path.join(dir, 'root');
      const { env, args } = localPlaybook(dir, site, root);
      await withUfwNetns('ansibleufw', async (netns) => {
        const state = async () => (await inNetns(netns, 'sh', ['-c', 'ufw status verbose; ufw show added; cat /etc/ufw/user.rules /etc/ufw/user6.rules /etc/ufw/ufw.conf'])).stdout;
        const before = await state();
        const check = await inNetnsEnv(netns, env, 'ansible-playbook', ['--check', ...args], dir);
        assert.is(check.exitCode, 0, `--check failed:\n${check.stdout}\n${check.stderr}`);
        assert.ok(recap(check.stdout).changed > 0, check.stdout);
        assert.is(await state(), before, 'check mode changed ufw');

        const apply = await inNetnsEnv(netns, env, 'ansible-playbook', args, dir);
        assert.is(apply.exitCode, 0, `${apply.stdout}\n${apply.stderr}`);
        assert.match(apply.stdout, /RUNNING HANDLER \[kubewall : Kubewall load rules\]/);
        const once = await state();
        assert.match(once, /Status: active/);
        assert.match(once, /comment 'kubewall kubelet\/tcp\/control-plane port 10250 from 10\.10\.0\.11'/);
        assert.is(await readFile(path.join(root, 'etc/kubewall/kubewall-ufw.sh'), 'utf8'), await readFile(path.join(site, 'roles/kubewall/files/all/kubewall-ufw.sh'), 'utf8'));

        const again = await inNetnsEnv(netns, env, 'ansible-playbook', args, dir);
        assert.is(again.exitCode, 0, again.stdout);
        assert.is(recap(again.stdout).changed, 0, again.stdout);
        assert.is(await state(), once);
      });
    });
  });
});

await describeWithNetns('the firewalld Ansible role applies to a real firewalld in a namespace', ['firewalld', 'firewall-cmd', 'dbus-daemon', 'ansible-playbook'], () => {
  test('firewalld role: --check changes nothing; apply puts zone kubewall in the permanent and the runtime configuration; a re-run changes nothing; a bad rule fails validation', async () => {
    await withScratch('ansible-fwd', async (dir) => {
      const site = path.join(dir, 'site');
      await render(['-b', 'firewalld', '-r', 'worker', '-c', 'examples/cluster.yaml', '--format', 'ansible', '--out-dir', site]);
      const root = path.join(dir, 'root');
      const playbook = localPlaybook(dir, site, root);
      await withNetns('ansiblefwd', async (netns) => {
        await withFirewalld(netns, async (daemon) => {
          const env = { ...playbook.env, ...daemon.env };
          const state = async () =>
            [(await daemon.exec('firewall-cmd', ['--list-all-zones'])).stdout, (await daemon.exec('firewall-cmd', ['--permanent', '--list-all-zones'])).stdout, (await daemon.exec('firewall-cmd', ['--get-ipsets'])).stdout].join('\n');
          const before = await state();
          const check = await inNetnsEnv(netns, env, 'ansible-playbook', ['--check', ...playbook.args], dir);
          assert.is(check.exitCode, 0, `--check failed:\n${check.stdout}\n${check.stderr}`);
          assert.ok(recap(check.stdout).changed > 0, check.stdout);
          assert.is(await state(), before, 'check mode changed firewalld');

          const apply = await inNetnsEnv(netns, env, 'ansible-playbook', playbook.args, dir);
          assert.is(apply.exitCode, 0, `${apply.stdout}\n${apply.stderr}\n${daemon.log()}`);
          const once = await state();
          assert.match((await daemon.exec('firewall-cmd', ['--info-zone=kubewall'])).stdout, /kubewall-admin-v4/);
          assert.match((await daemon.exec('firewall-cmd', ['--permanent', '--info-zone=kubewall'])).stdout, /kubewall-admin-v4/);

          const again = await inNetnsEnv(netns, env, 'ansible-playbook', playbook.args, dir);
          assert.is(again.exitCode, 0, again.stdout);
          assert.is(recap(again.stdout).changed, 0, again.stdout);
          assert.is(await state(), once);

          // validate: sh %s --check runs the commands through firewall-offline-cmd on a copy of
          // /etc/firewalld: a rule firewalld would refuse never replaces the installed file.
          const rendered = path.join(site, 'roles/kubewall/files/all/kubewall.sh');
          const installedFile = path.join(root, 'etc/kubewall/kubewall-firewalld.sh');
          const installed = await readFile(installedFile, 'utf8');
          const text = await readFile(rendered, 'utf8');
          assert.match(text, /port port="10250"/);
          await writeFile(rendered, text.replace('port port="10250"', 'port port="70000"'));
          const broken = await inNetnsEnv(netns, env, 'ansible-playbook', playbook.args, dir);
          assert.is.not(broken.exitCode, 0);
          assert.match(broken.stdout, /failed to validate/);
          assert.match(broken.stdout, /INVALID_PORT: 70000/);
          assert.is(await readFile(installedFile, 'utf8'), installed);
          assert.is(await state(), once);
        });
      });
    });
  });
});

/** A PATH holding the basic tools the script uses, without `missing`. */
async function pathWithout(dir: string, missing: string): Promise<string> {
  const bin = path.join(dir, 'bin');
  await mkdir(bin);
  for (const tool of ['sh', 'id', 'mktemp', 'mkdir', 'dirname', 'cat', 'chmod', 'mv', 'rm', 'grep', 'tail', 'ln', 'readlink', 'env']) {
    if (tool === missing) continue;
    const found = (await execa('sh', ['-c', `command -v ${tool}`])).stdout.trim();
    await symlink(found, path.join(bin, tool));
  }
  return bin;
}

await describeWithNetns('the provisioning script applies in a namespace, twice, and fails cleanly', ['nft', 'iptables-nft-restore', 'ipset', 'setpriv'], () => {
  test('nftables script: runs twice (idempotent, exit 0), persists below KUBEWALL_ROOT', async () => {
    await withScratch('script', async (dir) => {
      const script = path.join(dir, 'kubewall-apply.sh');
      await render(['-b', 'nftables', '-r', 'worker', '-c', 'examples/cluster.yaml', '--format', 'script', '--out', script]);
      const rules = path.join(dir, 'kubewall.nft');
      await render(['-b', 'nftables', '-r', 'worker', '-c', 'examples/cluster.yaml', '--out', rules]);
      const root = path.join(dir, 'root');
      await mkdir(path.join(root, 'etc'), { recursive: true });
      await writeFile(path.join(root, 'etc/nftables.conf'), LEGACY_CONF);
      await mkdir(path.join(root, 'etc/sysconfig'));
      await writeFile(path.join(root, 'etc/sysconfig/nftables.conf'), RHEL_CONF);
      await withNetns('script', async (netns) => {
        const first = await inNetnsEnv(netns, { KUBEWALL_ROOT: root }, 'sh', [script]);
        assert.is(first.exitCode, 0, first.stderr);
        assert.match(first.stdout, /kubewall: loaded the nftables rules and installed .*\/etc\/kubewall\/kubewall\.nft/);
        const once = await kubewallTable(netns);
        assert.is(once, await expectedTable(rules));
        const conf = await stat(path.join(root, 'etc/nftables.conf'));
        const second = await inNetnsEnv(netns, { KUBEWALL_ROOT: root }, 'sh', [script]);
        assert.is(second.exitCode, 0, second.stderr);
        assert.is(await kubewallTable(netns), once, 'a second run changed the ruleset');
        assert.is((await stat(path.join(root, 'etc/nftables.conf'))).mtimeMs, conf.mtimeMs, 'a second run rewrote nftables.conf');
        assert.is(await readFile(path.join(root, 'etc/sysconfig/nftables.conf'), 'utf8'), RHEL_CONF, "RHEL's nftables.conf is never touched");
        assert.is(await readFile(path.join(root, 'etc/nftables.conf'), 'utf8'), DEBIAN_CONF, 'only the old include line is removed');
        assert.is(await readFile(path.join(root, 'etc/kubewall/kubewall.nft'), 'utf8'), await readFile(rules, 'utf8'));
        assert.not.ok(existsSync(path.join(root, 'etc/systemd/system/sysinit.target.wants/nftables.service')));
        await assertNftUnit(netns, root);
        const leftovers = (await execa('find', [root, '-name', '*.??????'])).stdout;
        assert.is(leftovers, '', 'temporary files left behind');
      });
    });
  });

  test('iptables script: runs twice, installs kubewall.service for boot', async () => {
    await withScratch('script-ipt', async (dir) => {
      const script = path.join(dir, 'kubewall-apply.sh');
      await render(['-b', 'iptables', '--iptables-variant', 'nft', '-r', 'control-plane', '-c', 'examples/cluster.yaml', '--format', 'script', '--out', script]);
      const root = path.join(dir, 'root');
      await withNetns('scriptipt', async (netns) => {
        const first = await inNetnsEnv(netns, { KUBEWALL_ROOT: root }, 'sh', [script]);
        assert.is(first.exitCode, 0, first.stderr);
        const save = async () => (await inNetns(netns, 'iptables-nft-save', [])).stdout.replace(/^#.*$\n?/gm, '');
        const once = await save();
        assert.match(once, /-A INPUT -j KUBEWALL-INPUT/);
        const second = await inNetnsEnv(netns, { KUBEWALL_ROOT: root }, 'sh', [script]);
        assert.is(second.exitCode, 0, second.stderr);
        assert.is(await save(), once);
        assert.match(await readFile(path.join(root, 'etc/systemd/system/kubewall.service'), 'utf8'), /ExecStart=\/bin\/sh \/etc\/kubewall\/kubewall-iptables\.sh/);
        assert.is(await readlink(path.join(root, 'etc/systemd/system/multi-user.target.wants/kubewall.service')), '/etc/systemd/system/kubewall.service');
      });
    });
  });

  test('failures stop with a message and a non-zero status, and change nothing: tool missing, invalid rules, not root', async () => {
    await withScratch('script-fail', async (dir) => {
      const script = path.join(dir, 'kubewall-apply.sh');
      await render(['-b', 'nftables', '-r', 'worker', '-c', 'examples/cluster.yaml', '--format', 'script', '--out', script]);
      const root = path.join(dir, 'root');
      await withNetns('scriptfail', async (netns) => {
        const noNft = await inNetnsEnv(netns, { KUBEWALL_ROOT: root, PATH: await pathWithout(dir, 'nft') }, 'sh', [script]);
        assert.is(noNft.exitCode, 1, noNft.stderr);
        assert.match(noNft.stderr, /^kubewall: nft not found: install the nftables package; nothing was changed$/m);

        const broken = path.join(dir, 'broken.sh');
        await writeFile(broken, (await readFile(script, 'utf8')).replace('policy accept;', 'policy acept;'));
        const invalid = await inNetnsEnv(netns, { KUBEWALL_ROOT: root }, 'sh', [broken]);
        assert.is(invalid.exitCode, 1, invalid.stderr);
        assert.match(invalid.stderr, /kubewall: the rules do not pass nft -c -f FILE; nothing was changed/);
        assert.is(await kubewallTable(netns), null);

        await chmod(dir, 0o755); // mkdtemp's 0700 would stop the unprivileged user from reading the script at all
        const notRoot = await inNetnsEnv(netns, { KUBEWALL_ROOT: root }, 'setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'sh', script]);
        assert.is(notRoot.exitCode, 1, notRoot.stderr);
        assert.match(notRoot.stderr, /kubewall: must run as root/);

        assert.is(await kubewallTable(netns), null, 'a failed run loaded rules');
        const written = (await execa('find', [root, '-type', 'f'], { reject: false })).stdout;
        assert.is(written, '', `a failed run left files: ${written}`);
      });
    });
  });
});

await describeWithNetns('the ufw provisioning script validates with ufw --dry-run before it changes anything', ['ufw', 'iptables-nft-restore'], () => {
  test('a rule ufw rejects fails validation, nothing changes; the rendered one loads and a second run changes nothing', async () => {
    await withScratch('script-ufw', async (dir) => {
      const script = path.join(dir, 'kubewall-apply.sh');
      await render(['-b', 'ufw', '-r', 'worker', '-c', 'examples/cluster.yaml', '--format', 'script', '--out', script]);
      const root = path.join(dir, 'root');
      await withUfwNetns('scriptufw', async (netns) => {
        const state = async () => (await inNetns(netns, 'sh', ['-c', 'ufw status verbose; ufw show added; cat /etc/ufw/user.rules /etc/ufw/user6.rules'])).stdout;
        const before = await state();
        const broken = path.join(dir, 'broken.sh');
        await writeFile(broken, (await readFile(script, 'utf8')).replace(/to any port 10250/, 'to any port 70000'));
        const invalid = await inNetnsEnv(netns, { KUBEWALL_ROOT: root }, 'sh', [broken]);
        assert.is(invalid.exitCode, 1, invalid.stderr);
        assert.match(invalid.stderr, /ERROR: Bad port '70000'/);
        assert.match(invalid.stderr, /kubewall: the rules do not pass \/bin\/sh FILE --dry-run; nothing was changed/);
        assert.is(await state(), before);

        const first = await inNetnsEnv(netns, { KUBEWALL_ROOT: root }, 'sh', [script]);
        assert.is(first.exitCode, 0, first.stderr);
        const once = await state();
        assert.match(once, /Status: active/);
        assert.match(once, /comment 'kubewall kubelet\/tcp\/control-plane port 10250 from 10\.10\.0\.11'/);
        const second = await inNetnsEnv(netns, { KUBEWALL_ROOT: root }, 'sh', [script]);
        assert.is(second.exitCode, 0, second.stderr);
        assert.is(await state(), once);
        assert.ok(existsSync(path.join(root, 'etc/kubewall/kubewall-ufw.sh')));
      });
    });
  });
});

test.run();
