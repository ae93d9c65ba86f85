import { execa } from 'execa';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { stripCounters } from '../conformance/normalize.js';
import { withFirewalld, type FirewalldDaemon } from '../helpers/firewalld.js';
import { describeWithNetns, inNetns, withNetns } from '../helpers/netns.js';
import { BIN, REPO_ROOT } from '../helpers/paths.js';
import { withUfwNetns } from '../helpers/ufw.js';

// Live: the real CLI applies inside throwaway namespaces with a temporary
// state directory (ip netns exec shares the host's filesystem, never /run/kubewall).

const CONFIRM_SECONDS = '2';
/**
 * For an apply the test confirms right away: the short deadline is for the
 * rollback cases, and a firewalld reload on a loaded machine outlasted it
 * before `confirm` ran (a full run, 2026-12-04).
 */
const CONFIRMED_IN_TIME = ['--confirm-timeout', '30'] as const;

interface Run {
  readonly exitCode: number | undefined;
  readonly stdout: string;
  readonly stderr: string;
}

async function kubewall(netns: string, stateDir: string, args: readonly string[], env: Record<string, string> = {}): Promise<Run> {
  const base: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined && key !== 'FORCE_COLOR' && key !== 'SSH_CONNECTION') base[key] = value;
  const result = await execa('ip', ['netns', 'exec', netns, process.execPath, BIN, ...args], {
    cwd: REPO_ROOT,
    reject: false,
    input: '',
    // SSH_CONNECTION set but empty: not an SSH session, and apply does not look for one in the test runner's ancestors.
    env: { ...base, NO_COLOR: '1', KUBEWALL_STATE_DIR: stateDir, SSH_CONNECTION: '', ...env },
    extendEnv: false,
  });
  return { exitCode: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr) };
}

/** Waits for the watcher to roll back (or stand down): pending/ goes away. A stuck watcher is stopped by its pid. */
async function settled(stateDir: string, timeoutMs = 15_000): Promise<string> {
  const pending = path.join(stateDir, 'pending');
  const until = Date.now() + timeoutMs;
  while (existsSync(pending) && Date.now() < until) await sleep(100);
  if (existsSync(pending)) {
    const record = JSON.parse(await readFile(path.join(pending, 'record.json'), 'utf8').catch(() => '{}')) as { watcherPid?: number };
    if (record.watcherPid) process.kill(record.watcherPid, 'SIGTERM');
    assert.unreachable(`still pending after ${timeoutMs} ms: ${await readFile(path.join(pending, 'watcher.log'), 'utf8').catch(() => '(no log)')}`);
  }
  return (await readFile(path.join(stateDir, 'last', 'outcome'), 'utf8')).trim();
}

async function withStateDir<T>(fn: (stateDir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(tmpdir(), 'kubewall-apply-'));
  try {
    return await fn(path.join(dir, 'state'));
  } finally {
    await settled(path.join(dir, 'state')).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * `nft list ruleset` with the set blocks of each table sorted by name: nft
 * lists sets in creation order, and a restore that empties and refills the
 * sets both states have (instead of deleting and re-creating them, which
 * dropped new connections) keeps their order and appends the others. The
 * order of sets filters nothing; rules and elements are compared as listed.
 */
function sortNftSets(listing: string): string {
  const lines = listing.split('\n');
  const out: string[] = [];
  for (let i = 0; i < lines.length; ) {
    if (!/^\tset \S+ \{$/.test(lines[i]!)) {
      out.push(lines[i++]!);
      continue;
    }
    const blocks: string[][] = [];
    while (i < lines.length && /^\tset \S+ \{$/.test(lines[i]!)) {
      const block: string[] = [];
      while (i < lines.length && lines[i] !== '\t}') block.push(lines[i++]!);
      block.push(lines[i++] ?? '');
      if (lines[i] === '') block.push(lines[i++]!);
      blocks.push(block);
    }
    // The last block's blank line separates the sets from what follows: keep it there.
    const trailing = blocks.at(-1)!.at(-1) === '' ? (blocks.at(-1)!.pop(), ['']) : [];
    for (const block of blocks) if (block.at(-1) === '') block.pop();
    blocks.sort((a, b) => (a[0]! < b[0]! ? -1 : a[0]! > b[0]! ? 1 : 0));
    blocks.forEach((block, index) => out.push(...block, ...(index < blocks.length - 1 ? [''] : [])));
    out.push(...trailing);
  }
  return out.join('\n');
}

const nftRuleset = async (netns: string) => sortNftSets((await inNetns(netns, 'nft', ['list', 'ruleset'])).stdout);

/** iptables-save without its dated comments and counters, and ipset save grouped by set (the kernel lists sets in slot order). */
async function iptablesState(netns: string, variant: 'nft' | 'legacy'): Promise<string> {
  const save = async (command: string) =>
    (await inNetns(netns, command, [])).stdout
      .split('\n')
      .filter((l) => !l.startsWith('#'))
      .map((l) => l.replace(/\[\d+:\d+\]$/, '[0:0]'))
      .join('\n');
  const sets = new Map<string, string[]>();
  for (const line of (await inNetns(netns, 'ipset', ['save'])).stdout.split('\n')) {
    const name = line.split(' ')[1];
    if (name) sets.set(name, [...(sets.get(name) ?? []), line]);
  }
  const ipsets = [...sets.keys()].sort().map((name) => { const [create, ...adds] = sets.get(name)!; return [create, ...adds.sort()].join('\n'); });
  return [await save(`iptables-${variant}-save`), await save(`ip6tables-${variant}-save`), ...ipsets].join('\n');
}

const FOREIGN_NFT = 'table ip foreign {\n\tchain input {\n\t\ttype filter hook input priority 0; policy accept;\n\t\ttcp dport 9999 drop\n\t}\n}\n';
const NFT = ['apply', '--backend', 'nftables', '--confirm-timeout', CONFIRM_SECONDS, '--cluster', 'examples/cluster.yaml'];

await describeWithNetns('kubewall apply with rollback, nftables, in a namespace', ['nft'], () => {
  test('not confirmed: after the timeout the saved table is back exactly; the foreign table is untouched', async () => {
    await withNetns('apply-nft', async (netns) => {
      await withStateDir(async (stateDir) => {
        await inNetns(netns, 'nft', ['-f', '-'], { input: FOREIGN_NFT });
        const first = await kubewall(netns, stateDir, [...NFT, '--role', 'control-plane', ...CONFIRMED_IN_TIME]);
        assert.is(first.exitCode, 0, first.stderr);
        await kubewall(netns, stateDir, ['confirm']);
        const before = await nftRuleset(netns);

        const applied = await kubewall(netns, stateDir, [...NFT, '--role', 'worker']);
        assert.is(applied.exitCode, 0, applied.stderr);
        assert.match(applied.stderr, /confirm within 2 s with: kubewall confirm --state-dir /);
        assert.match(await nftRuleset(netns), /30000-32767/, 'the worker rules are live while waiting');
        assert.is(await settled(stateDir), 'rolled-back');
        assert.is(await nftRuleset(netns), before);
        assert.match(await readFile(path.join(stateDir, 'last', 'watcher.log'), 'utf8'), /deadline passed without confirmation/);
        const late = await kubewall(netns, stateDir, ['confirm']);
        assert.is(late.exitCode, 1);
        assert.match(late.stderr, /--role worker started \S+ was rolled back at \S+: it was not confirmed within --confirm-timeout 2s, so the watcher restored the previous rules/);
      });
    });
  });

  test('no table before, not confirmed: the table is gone again', async () => {
    await withNetns('apply-nft', async (netns) => {
      await withStateDir(async (stateDir) => {
        await inNetns(netns, 'nft', ['-f', '-'], { input: FOREIGN_NFT });
        const before = await nftRuleset(netns);
        assert.is((await kubewall(netns, stateDir, [...NFT, '--role', 'worker'])).exitCode, 0);
        assert.is(await settled(stateDir), 'rolled-back');
        assert.is(await nftRuleset(netns), before);
      });
    });
  });

  test('confirmed: the new table stays past the deadline; a second confirm has nothing to confirm', async () => {
    await withNetns('apply-nft', async (netns) => {
      await withStateDir(async (stateDir) => {
        assert.is((await kubewall(netns, stateDir, [...NFT, '--role', 'worker'])).exitCode, 0);
        const applied = await nftRuleset(netns);
        const confirm = await kubewall(netns, stateDir, ['confirm']);
        assert.is(confirm.exitCode, 0, confirm.stderr);
        assert.match(confirm.stderr, /confirmed: the rules applied at .* \(--backend nftables --role worker\) stay/);
        await sleep(Number(CONFIRM_SECONDS) * 1000 + 1000);
        assert.is(await nftRuleset(netns), applied);
        assert.match(applied, /table inet kubewall/);
        const again = await kubewall(netns, stateDir, ['confirm']);
        assert.is(again.exitCode, 1);
        assert.match(again.stderr, /nothing to confirm: no apply is pending/);
      });
    });
  });

  test('a second apply while one is pending is refused; rollback restores at once', async () => {
    await withNetns('apply-nft', async (netns) => {
      await withStateDir(async (stateDir) => {
        const before = await nftRuleset(netns);
        assert.is((await kubewall(netns, stateDir, [...NFT, '--role', 'worker', '--confirm-timeout', '30'])).exitCode, 0);
        const applied = await nftRuleset(netns);
        const second = await kubewall(netns, stateDir, [...NFT, '--role', 'control-plane']);
        assert.is(second.exitCode, 1);
        assert.match(second.stderr, /is waiting for confirmation: run kubewall confirm to keep it, or kubewall rollback/);
        assert.is(await nftRuleset(netns), applied, 'the refused apply changed nothing');
        const rollback = await kubewall(netns, stateDir, ['rollback']);
        assert.is(rollback.exitCode, 0, rollback.stderr);
        assert.is(await nftRuleset(netns), before);
        assert.is(await settled(stateDir), 'rolled-back');
      });
    });
  });

  test('the tool rejects the rules: exit 1, a clear message, the old state stays and nothing is pending', async () => {
    await withNetns('apply-nft', async (netns) => {
      await withStateDir(async (stateDir) => {
        const templates = path.join(path.dirname(stateDir), 'templates');
        await cp(path.join(REPO_ROOT, 'templates'), templates, { recursive: true });
        const nft = path.join(templates, 'nftables', 'kubewall.nft.hbs');
        await writeFile(nft, `${await readFile(nft, 'utf8')}\nadd rule inet kubewall input tcp dport 70000 accept\n`);
        await inNetns(netns, 'nft', ['-f', '-'], { input: FOREIGN_NFT });
        assert.is((await kubewall(netns, stateDir, [...NFT, '--role', 'control-plane', ...CONFIRMED_IN_TIME])).exitCode, 0);
        await kubewall(netns, stateDir, ['confirm']);
        const before = await nftRuleset(netns);
        const failed = await kubewall(netns, stateDir, [...NFT, '--role', 'worker', '--templates', templates]);
        assert.is(failed.exitCode, 1);
        assert.match(failed.stderr, /kubewall: apply failed, nothing was changed \(one transaction\): nft -f .* failed with exit code 1: .*Error/);
        assert.is(await nftRuleset(netns), before);
        assert.not.ok(existsSync(path.join(stateDir, 'pending')));
        assert.is((await readFile(path.join(stateDir, 'last', 'outcome'), 'utf8')).trim(), 'failed');
      });
    });
  });

  test('SSH_CONNECTION: a client the plan would drop is refused before anything is saved or applied', async () => {
    await withNetns('apply-ssh', async (netns) => {
      await withStateDir(async (stateDir) => {
        const before = await nftRuleset(netns);
        // examples/cluster.yaml: adminNetworks 10.99.0.0/24, fd00:99::/64; SSH on 22.
        const refused = await kubewall(netns, stateDir, [...NFT, '--role', 'worker'], { SSH_CONNECTION: '203.0.113.9 50122 10.10.0.21 22' });
        assert.is(refused.exitCode, 1);
        assert.match(refused.stderr, /refusing to apply: this plan would drop new SSH connections from 203\.0\.113\.9 to port 22, the session kubewall runs in \(SSH_CONNECTION in the environment\)/);
        assert.is(await nftRuleset(netns), before);
        assert.not.ok(existsSync(stateDir), 'no state was saved');

        const admin = await kubewall(netns, stateDir, [...NFT, '--role', 'worker'], { SSH_CONNECTION: '::ffff:10.99.0.7 50122 10.10.0.21 22' });
        assert.is(admin.exitCode, 0, admin.stderr);
        assert.is(await settled(stateDir), 'rolled-back');

        const forced = await kubewall(netns, stateDir, [...NFT, '--role', 'worker', '--allow-dropping-ssh-session'], { SSH_CONNECTION: '203.0.113.9 50122 10.10.0.21 22' });
        assert.is(forced.exitCode, 0, forced.stderr);
        assert.match(forced.stderr, /warning: --allow-dropping-ssh-session: new SSH connections from 203\.0\.113\.9 to port 22 will be dropped/);
        assert.is(await settled(stateDir), 'rolled-back');
        assert.is(await nftRuleset(netns), before);
      });
    });
  });
});

/** apply on a terminal: `script` gives it a pty; the answer is typed once the question is up. */
function applyOnTerminal(netns: string, stateDir: string, args: readonly string[]) {
  const command = ['ip', 'netns', 'exec', netns, process.execPath, BIN, ...args].map((a) => `'${a}'`).join(' ');
  return execa('script', ['-qec', command, '/dev/null'], {
    cwd: REPO_ROOT,
    reject: false,
    env: { NO_COLOR: '1', KUBEWALL_STATE_DIR: stateDir, SSH_CONNECTION: '' },
  });
}

async function untilApplied(stateDir: string): Promise<void> {
  const record = path.join(stateDir, 'pending', 'record.json');
  for (let i = 0; i < 200; i++) {
    const text = await readFile(record, 'utf8').catch(() => '');
    if (text.includes('"phase": "applied"')) return;
    await sleep(50);
  }
  assert.unreachable('the apply never reached phase applied');
}

await describeWithNetns('kubewall apply on a terminal, in a namespace', ['nft', 'script'], () => {
  test('"yes" keeps the rules; any other answer restores at once', async () => {
    await withNetns('apply-tty', async (netns) => {
      await withStateDir(async (stateDir) => {
        const before = await nftRuleset(netns);
        const yes = applyOnTerminal(netns, stateDir, [...NFT, '--role', 'worker', '--confirm-timeout', '30']);
        await untilApplied(stateDir);
        yes.stdin!.write('yes\n');
        const kept = await yes;
        assert.is(kept.exitCode, 0, String(kept.stdout));
        assert.match(String(kept.stdout), /Keep the new rules\? Type yes within 30 s[^]*confirmed: the new rules stay/);
        const applied = await nftRuleset(netns);
        assert.not.equal(applied, before);

        const no = applyOnTerminal(netns, stateDir, [...NFT, '--role', 'control-plane', '--confirm-timeout', '30']);
        await untilApplied(stateDir);
        no.stdin!.write('no\n');
        const refused = await no;
        assert.is(refused.exitCode, 1, String(refused.stdout));
        assert.match(String(refused.stdout), /not confirmed: the state before this apply is restored/);
        assert.is(await nftRuleset(netns), applied);
      });
    });
  });

  test('while the question is up, kubewall confirm from another shell ends it', async () => {
    await withNetns('apply-tty', async (netns) => {
      await withStateDir(async (stateDir) => {
        const asking = applyOnTerminal(netns, stateDir, [...NFT, '--role', 'worker', '--confirm-timeout', '30']);
        await untilApplied(stateDir);
        assert.is((await kubewall(netns, stateDir, ['confirm'])).exitCode, 0);
        const ended = await asking;
        assert.is(ended.exitCode, 0, String(ended.stdout));
        assert.match(String(ended.stdout), /confirmed from elsewhere: the new rules stay/);
        assert.match(await nftRuleset(netns), /table inet kubewall/);
      });
    });
  });

  test('no answer: the watcher restores at the deadline and apply says so, exit 1', async () => {
    await withNetns('apply-tty', async (netns) => {
      await withStateDir(async (stateDir) => {
        const before = await nftRuleset(netns);
        const silent = await applyOnTerminal(netns, stateDir, [...NFT, '--role', 'worker']);
        assert.is(silent.exitCode, 1, String(silent.stdout));
        assert.match(String(silent.stdout), /not confirmed in time: the state before this apply is restored/);
        assert.is(await nftRuleset(netns), before);
      });
    });
  });
});

await describeWithNetns('kubewall apply with rollback, iptables, in a namespace', ['iptables-nft-save', 'iptables-legacy-save', 'ipset'], () => {
  for (const variant of ['nft', 'legacy'] as const) {
    const IPT = ['apply', '--backend', 'iptables', '--iptables-variant', variant, '--confirm-timeout', CONFIRM_SECONDS, '--cluster', 'examples/cluster.yaml'];

    test(`${variant}: not confirmed: chains, jumps (at their old positions) and ipsets come back exactly; foreign ones untouched`, async () => {
      await withNetns('apply-ipt', async (netns) => {
        await withStateDir(async (stateDir) => {
          for (const command of [`iptables-${variant}`, `ip6tables-${variant}`]) {
            await inNetns(netns, command, ['-A', 'INPUT', '-p', 'tcp', '--dport', '9999', '-j', 'DROP']);
            await inNetns(netns, command, ['-t', 'mangle', '-A', 'PREROUTING', '-p', 'udp', '--dport', '9999', '-j', 'ACCEPT']);
          }
          await inNetns(netns, 'ipset', ['create', 'FOREIGN', 'hash:ip']);
          const empty = await iptablesState(netns, variant);

          assert.is((await kubewall(netns, stateDir, [...IPT, '--role', 'worker'])).exitCode, 0);
          assert.not.equal(await iptablesState(netns, variant), empty);
          assert.is(await settled(stateDir), 'rolled-back');
          assert.fixture(await iptablesState(netns, variant), empty);

          // An applied state with a foreign rule inserted above kubewall's jump since.
          assert.is((await kubewall(netns, stateDir, [...IPT, '--role', 'worker', ...CONFIRMED_IN_TIME])).exitCode, 0);
          assert.is((await kubewall(netns, stateDir, ['confirm'])).exitCode, 0);
          await inNetns(netns, `iptables-${variant}`, ['-I', 'INPUT', '1', '-p', 'tcp', '--dport', '9998', '-j', 'DROP']);
          const before = await iptablesState(netns, variant);
          const applied = await kubewall(netns, stateDir, [...IPT, '--role', 'control-plane']);
          assert.is(applied.exitCode, 0, applied.stderr);
          assert.not.equal(await iptablesState(netns, variant), before);
          assert.is(await settled(stateDir), 'rolled-back');
          assert.fixture(await iptablesState(netns, variant), before);
        });
      });
    });
  }

  test('nft, nothing before: the tables iptables-nft created for kubewall are gone again, the ruleset is empty', async () => {
    await withNetns('apply-ipt', async (netns) => {
      await withStateDir(async (stateDir) => {
        const IPT = ['apply', '--backend', 'iptables', '--iptables-variant', 'nft', '--confirm-timeout', CONFIRM_SECONDS, '--cluster', 'examples/cluster.yaml'];
        assert.is(await nftRuleset(netns), '');
        assert.is((await kubewall(netns, stateDir, [...IPT, '--role', 'worker'])).exitCode, 0);
        assert.match(await nftRuleset(netns), /table ip mangle/);
        assert.is(await settled(stateDir), 'rolled-back');
        assert.is(await nftRuleset(netns), '');
        assert.is((await inNetns(netns, 'ipset', ['save'])).stdout, '');
      });
    });
  });

  test('nft: confirmed, the rules stay; a rejected restore input mid-script restores the saved ipsets and chains', async () => {
    await withNetns('apply-ipt', async (netns) => {
      await withStateDir(async (stateDir) => {
        const IPT = ['apply', '--backend', 'iptables', '--iptables-variant', 'nft', '--confirm-timeout', CONFIRM_SECONDS, '--cluster', 'examples/cluster.yaml'];
        await inNetns(netns, 'iptables-nft', ['-A', 'INPUT', '-p', 'tcp', '--dport', '9999', '-j', 'DROP']);
        assert.is((await kubewall(netns, stateDir, [...IPT, '--role', 'control-plane', ...CONFIRMED_IN_TIME])).exitCode, 0);
        assert.is((await kubewall(netns, stateDir, ['confirm'])).exitCode, 0);
        await sleep(Number(CONFIRM_SECONDS) * 1000 + 500);
        const before = await iptablesState(netns, 'nft');
        assert.match(before, /-A INPUT -j KUBEWALL-INPUT/);

        // The ipsets are swapped in step 1; then iptables-restore rejects its input.
        const templates = path.join(path.dirname(stateDir), 'templates');
        await cp(path.join(REPO_ROOT, 'templates'), templates, { recursive: true });
        const script = path.join(templates, 'iptables', 'kubewall.sh.hbs');
        const template = await readFile(script, 'utf8');
        // The here-document that feeds iptables-restore (its options may change: match the delimiter).
        const heredoc = /^\{\{command\}\}[^\n]*<<'\{\{delimiter\}\}'\n/m;
        assert.match(template, heredoc);
        await writeFile(script, template.replace(heredoc, (line) => `${line}-A NO-SUCH-CHAIN -j ACCEPT\n`));
        const failed = await kubewall(netns, stateDir, [...IPT, '--role', 'worker', '--templates', templates]);
        assert.is(failed.exitCode, 1);
        assert.match(failed.stderr, /kubewall: apply failed: sh .*kubewall\.sh failed with exit code \d+: .*; the state saved before it was restored/);
        assert.fixture(await iptablesState(netns, 'nft'), before);
        assert.not.ok(existsSync(path.join(stateDir, 'pending')));
      });
    });
  });
});

/** firewalld's view of everything (runtime and permanent), its nftables table, and every permanent XML file. */
async function firewalldState(netns: string, daemon: FirewalldDaemon): Promise<string> {
  const cmd = async (...args: string[]) => (await daemon.exec('firewall-cmd', args)).stdout;
  const files: string[] = [];
  for (const folder of ['zones', 'ipsets']) {
    const dir = path.join(daemon.configDir, folder);
    const names = existsSync(dir) ? await readdir(dir) : [];
    for (const name of names.filter((n) => n.endsWith('.xml')).sort()) files.push(`${folder}/${name}:\n${await readFile(path.join(dir, name), 'utf8')}`);
  }
  return [await cmd('--list-all-zones'), await cmd('--get-ipsets'), await cmd('--permanent', '--list-all-zones'), await cmd('--permanent', '--get-ipsets'), await nftRuleset(netns), ...files].join('\n');
}

await describeWithNetns('kubewall apply with rollback, firewalld, in a namespace', ['firewalld', 'firewall-cmd', 'dbus-daemon', 'nft'], () => {
  const FWD = ['apply', '--backend', 'firewalld', '--confirm-timeout', CONFIRM_SECONDS, '--cluster', 'examples/cluster.yaml'];

  test('not confirmed: zone kubewall and its ipsets come back (absent, then as applied), permanent and runtime; confirm keeps them', async () => {
    await withNetns('apply-fwd', async (netns) => {
      await withFirewalld(netns, async (daemon) => {
        await withStateDir(async (stateDir) => {
          const before = await firewalldState(netns, daemon);
          const applied = await kubewall(netns, stateDir, [...FWD, '--role', 'worker'], daemon.env);
          assert.is(applied.exitCode, 0, applied.stderr);
          assert.match(await firewalldState(netns, daemon), /kubewall-admin-v4/);
          assert.is(await settled(stateDir), 'rolled-back');
          assert.fixture(await firewalldState(netns, daemon), before);

          assert.is((await kubewall(netns, stateDir, [...FWD, '--role', 'worker', ...CONFIRMED_IN_TIME], daemon.env)).exitCode, 0);
          assert.is((await kubewall(netns, stateDir, ['confirm'])).exitCode, 0);
          const confirmed = await firewalldState(netns, daemon);
          assert.is((await kubewall(netns, stateDir, [...FWD, '--role', 'control-plane'], daemon.env)).exitCode, 0);
          assert.not.equal(await firewalldState(netns, daemon), confirmed);
          assert.is(await settled(stateDir), 'rolled-back');
          assert.fixture(await firewalldState(netns, daemon), confirmed);
        });
      });
    });
  });
});

/** ufw's whole state as an operator sees it: status, rules, every file it keeps, and what it loaded into iptables (both families). */
async function ufwState(netns: string): Promise<string> {
  const files = ['/etc/ufw/user.rules', '/etc/ufw/user6.rules', '/etc/default/ufw', '/etc/ufw/ufw.conf', '/etc/ufw/after.rules', '/etc/ufw/after6.rules'];
  const parts = [(await inNetns(netns, 'ufw', ['status', 'verbose'])).stdout, (await inNetns(netns, 'ufw', ['show', 'added'])).stdout];
  for (const file of files) parts.push(`${file}:\n${(await inNetns(netns, 'cat', [file])).stdout}`);
  for (const save of ['iptables-nft-save', 'ip6tables-nft-save']) parts.push(stripCounters((await inNetns(netns, save, [])).stdout));
  return parts.join('\n--\n');
}

await describeWithNetns('kubewall apply with rollback, ufw, in a namespace', ['ufw', 'iptables-nft-save', 'ip6tables-nft-save'], () => {
  // A first ufw apply runs one ufw process per rule (seconds): long timeouts, ended by rollback or confirm where the watcher is not the point.
  const UFW = ['apply', '--backend', 'ufw', '--cluster', 'examples/cluster.yaml', '--confirm-timeout', '20'];

  test('ufw inactive, default allow, a foreign rule and a foreign iptables rule: not confirmed, the watcher restores everything exactly', async () => {
    await withUfwNetns('apply-ufw', async (netns) => {
      await withStateDir(async (stateDir) => {
        await inNetns(netns, 'iptables-nft', ['-A', 'INPUT', '-p', 'tcp', '--dport', '9998', '-j', 'ACCEPT']);
        await inNetns(netns, 'ufw', ['allow', '9999/tcp']);
        await inNetns(netns, 'ufw', ['default', 'allow', 'incoming']);
        const before = await ufwState(netns);
        assert.match(before, /Status: inactive/);

        const applied = await kubewall(netns, stateDir, [...UFW, '--role', 'worker', '--confirm-timeout', '3']);
        assert.is(applied.exitCode, 0, applied.stderr);
        const live = await ufwState(netns);
        assert.match(live, /Status: active[^]*Default: deny \(incoming\)[^]*# kubewall nodeport-services\/tcp\/any port 30000:32767 from any/);
        assert.is(await settled(stateDir), 'rolled-back');
        assert.match(await readFile(path.join(stateDir, 'last', 'watcher.log'), 'utf8'), /deadline passed without confirmation/);
        assert.fixture(await ufwState(netns), before);
      });
    });
  });

  test('confirmed, then a foreign rule: an unconfirmed apply of another role comes back to exactly that (kubewall rules at their places)', async () => {
    await withUfwNetns('apply-ufw', async (netns) => {
      await withStateDir(async (stateDir) => {
        await inNetns(netns, 'ufw', ['allow', '9999/tcp']);
        assert.is((await kubewall(netns, stateDir, [...UFW, '--role', 'worker', ...CONFIRMED_IN_TIME])).exitCode, 0);
        assert.is((await kubewall(netns, stateDir, ['confirm'])).exitCode, 0);
        await inNetns(netns, 'ufw', ['allow', '8888/tcp']);
        const confirmed = await ufwState(netns);
        assert.match(confirmed, /9999\/tcp {2,}ALLOW IN {4}Anywhere *\n22\/tcp .*# kubewall ssh[^]*# kubewall nodeport-services\/udp[^\n]*\n8888\/tcp /, 'the foreign rules around kubewall\'s');

        const applied = await kubewall(netns, stateDir, [...UFW, '--role', 'control-plane']);
        assert.is(applied.exitCode, 0, applied.stderr);
        const live = await ufwState(netns);
        assert.match(live, /# kubewall kube-apiserver\/tcp\/any port 6443/);
        // kube-proxy's health check is a worker's (NodePorts are served on control-plane nodes too).
        assert.not.match(live, /# kubewall kube-proxy\//);
        const rollback = await kubewall(netns, stateDir, ['rollback']);
        assert.is(rollback.exitCode, 0, rollback.stderr);
        assert.match(rollback.stderr, /rolled back: kubewall's ufw rules are as they were before/);
        assert.fixture(await ufwState(netns), confirmed);
        assert.is(await settled(stateDir), 'rolled-back');

        // Restoring again (the saved state is kept in last/) changes nothing.
        const again = await kubewall(netns, stateDir, ['rollback']);
        assert.is(again.exitCode, 1);
        assert.fixture(await ufwState(netns), confirmed);
      });
    });
  });

  test('enabled but not running (ENABLED=yes, stopped): the rollback stops ufw again and keeps ENABLED=yes', async () => {
    await withUfwNetns('apply-ufw', async (netns) => {
      await withStateDir(async (stateDir) => {
        // The rules are in place first: ufw 0.36 refuses `ufw allow` while enabled but stopped ("ERROR: problem running").
        assert.is((await kubewall(netns, stateDir, [...UFW, '--role', 'worker'])).exitCode, 0);
        assert.is((await kubewall(netns, stateDir, ['confirm'])).exitCode, 0);
        await inNetns(netns, '/lib/ufw/ufw-init', ['stop']);
        const before = await ufwState(netns);
        assert.match(before, /Status: inactive[^]*ENABLED=yes/);
        const applied = await kubewall(netns, stateDir, [...UFW, '--role', 'worker']);
        assert.is(applied.exitCode, 0, applied.stderr);
        assert.match(await ufwState(netns), /Status: active/);
        assert.is((await kubewall(netns, stateDir, ['rollback'])).exitCode, 0);
        assert.fixture(await ufwState(netns), before);
      });
    });
  });

  test('the script fails after adding rules to a running ufw: exit 1, the message, the old state, nothing pending', async () => {
    await withUfwNetns('apply-ufw', async (netns) => {
      await withStateDir(async (stateDir) => {
        await inNetns(netns, 'ufw', ['allow', '9999/tcp']);
        await inNetns(netns, 'ufw', ['--force', 'enable']);
        const before = await ufwState(netns);
        assert.match(before, /Status: active/);

        // The SSH rules are added, then ufw refuses a port.
        const templates = path.join(path.dirname(stateDir), 'templates');
        await cp(path.join(REPO_ROOT, 'templates'), templates, { recursive: true });
        const script = path.join(templates, 'ufw', 'kubewall-ufw.sh.hbs');
        const text = await readFile(script, 'utf8');
        assert.ok(text.includes("\n# 2. The plan's ports"));
        await writeFile(script, text.replace("\n# 2. The plan's ports", "\nkw_ufw allow 70000/tcp\n\n# 2. The plan's ports"));
        const failed = await kubewall(netns, stateDir, [...UFW, '--role', 'worker', '--templates', templates]);
        assert.is(failed.exitCode, 1);
        assert.match(failed.stderr, /kubewall: apply failed: sh .*kubewall-ufw\.sh failed with exit code 1: .*; the state saved before it was restored/);
        assert.match(await readFile(path.join(stateDir, 'last', 'snapshot.json'), 'utf8'), /"backend": "ufw"/);
        assert.fixture(await ufwState(netns), before);
        assert.not.ok(existsSync(path.join(stateDir, 'pending')));
      });
    });
  });
});

test('an unknown backend is refused with the list of those apply supports', async () => {
  const result = await execa(process.execPath, [BIN, 'apply', '--backend', 'pf', '--role', 'worker', '--state-dir', '/nonexistent/kubewall'], { reject: false, cwd: REPO_ROOT });
  assert.is(result.exitCode, 2);
  assert.match(result.stderr, /--backend: unknown backend "pf" \(expected nftables, iptables, firewalld, ufw\)/);
});

test.run();
