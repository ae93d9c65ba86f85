import { copyFile, cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { findGoldenCase, listGoldenCases, renderGoldenCase, rendersWith, type GoldenCase } from '../helpers/golden.js';
import { describeWithNetns, inNetns, withNetns } from '../helpers/netns.js';

// ufw keeps its state in /etc/ufw and reads /etc/default/ufw: every test runs
// in a namespace whose /etc/ufw and /etc/default come from /etc/netns/NAME/
// (bind-mounted by ip netns exec), reset to Debian's shipped defaults.

const SCRIPT = 'ufw/kubewall-ufw.sh';
const KUBE_PROXY_NAT = `*nat
:PREROUTING ACCEPT [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-NODEPORTS - [0:0]
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS
-A KUBE-NODEPORTS -p tcp -m tcp --dport 30080 -j DNAT --to-destination 10.244.1.10:8080
COMMIT
`;

interface UfwNetns {
  readonly netns: string;
  /** The namespace's /etc, as seen from the host. */
  readonly etc: string;
  run(args: readonly string[], reject?: boolean): Promise<{ exitCode: number; stdout: string; stderr: string }>;
  script(goldenCase: GoldenCase, args?: readonly string[]): Promise<{ exitCode: number; stdout: string; stderr: string }>;
}

const scripts = new Map<string, string>();
let scratch: string | undefined;

async function scriptFile(goldenCase: GoldenCase): Promise<string> {
  scratch ??= await mkdtemp(path.join(tmpdir(), 'kubewall-ufw-'));
  const file = path.join(scratch, `${goldenCase.name}.sh`);
  if (!scripts.has(file)) {
    const content = (await renderGoldenCase(goldenCase)).get(SCRIPT);
    assert.ok(content, `${goldenCase.name}: no ufw output`);
    await writeFile(file, content!);
    scripts.set(file, content!);
  }
  return file;
}

/** A namespace with Debian's default ufw configuration of its own; both are removed afterwards, also on failure. */
async function withUfwNetns<T>(what: string, settings: Record<string, string>, fn: (ns: UfwNetns) => Promise<T>): Promise<T> {
  return withNetns(what, async (netns) => {
    const etc = `/etc/netns/${netns}`;
    try {
      await mkdir(etc, { recursive: true });
      await cp('/etc/ufw', `${etc}/ufw`, { recursive: true, preserveTimestamps: true });
      await cp('/etc/default', `${etc}/default`, { recursive: true, preserveTimestamps: true });
      // The host's own rules and ENABLED state must not leak in: start from what the package ships.
      for (const name of ['before.rules', 'before6.rules', 'after.rules', 'after6.rules', 'user.rules', 'user6.rules']) {
        await copyFile(`/usr/share/ufw/iptables/${name}`, `${etc}/ufw/${name}`);
      }
      await copyFile('/usr/share/ufw/ufw.conf', `${etc}/ufw/ufw.conf`);
      let defaults = await readFile(`${etc}/default/ufw`, 'utf8');
      for (const [key, value] of Object.entries(settings)) defaults = defaults.replace(new RegExp(`^${key}=.*$`, 'm'), `${key}=${value}`);
      await writeFile(`${etc}/default/ufw`, defaults);
      const run = async (args: readonly string[], reject = true) => {
        const result = await inNetns(netns, args[0]!, args.slice(1), { reject });
        return { exitCode: result.exitCode ?? -1, stdout: result.stdout, stderr: result.stderr };
      };
      return await fn({
        netns,
        etc,
        run,
        script: async (goldenCase, args = []) => run(['sh', await scriptFile(goldenCase), ...args], false),
      });
    } finally {
      await rm(etc, { recursive: true, force: true });
    }
  });
}

/** iptables-save without its timestamped comment lines and without counters. */
function withoutComments(text: string): string {
  return text.split('\n').filter((l) => !l.startsWith('#')).map((l) => l.replace(/\[\d+:\d+\]/g, '[0:0]')).join('\n');
}

async function readState(ns: UfwNetns): Promise<string> {
  const strip = withoutComments;
  const parts = [
    strip((await ns.run(['iptables-save'])).stdout),
    strip((await ns.run(['ip6tables-save'])).stdout),
    await readFile(`${ns.etc}/ufw/user.rules`, 'utf8'),
    await readFile(`${ns.etc}/ufw/user6.rules`, 'utf8'),
    await readFile(`${ns.etc}/ufw/ufw.conf`, 'utf8'),
    await readFile(`${ns.etc}/default/ufw`, 'utf8'),
  ];
  return parts.join('\n--\n');
}

function tags(script: string): string[] {
  return script
    .split('\n')
    .map((line) => /^kw_allow '([^']*)'/.exec(line)?.[1])
    .filter((tag): tag is string => tag !== undefined)
    .sort();
}

async function liveTags(ns: UfwNetns): Promise<string[]> {
  const { stdout } = await ns.run(['ufw', 'show', 'added']);
  return stdout
    .split('\n')
    .map((line) => / comment '(kubewall [^']*)'$/.exec(line)?.[1])
    .filter((tag): tag is string => tag !== undefined)
    .sort();
}

function hex(text: string): string {
  return Buffer.from(text, 'utf8').toString('hex');
}

const IPV6_FORWARD = { IPV6: 'yes', DEFAULT_FORWARD_POLICY: '"ACCEPT"' };

await describeWithNetns('ufw output passes ufw --dry-run and applies idempotently', ['ufw', 'iptables-save', 'ip6tables-save'], () => {
  test('every golden ufw script passes ufw --dry-run with a private /etc/ufw, and a dry run changes nothing', async () => {
    const cases = (await listGoldenCases()).filter((c) => rendersWith(c, 'ufw'));
    await withUfwNetns('ufwdry', { IPV6: 'yes' }, async (ns) => {
      const before = await readState(ns);
      for (const goldenCase of cases) {
        const result = await ns.script(goldenCase, ['--dry-run']);
        assert.is(result.exitCode, 0, `${goldenCase.name}: --dry-run failed:\n${result.stderr}\n${result.stdout.slice(-2000)}`);
        assert.not.match(result.stdout + result.stderr, /ERROR|Bad port|problem running|Skipping unsupported/, `${goldenCase.name}: ufw complained`);
        // ufw prints the rules file it would write: each tag must be in it, hex-encoded as ufw stores comments.
        const script = scripts.get(await scriptFile(goldenCase))!;
        for (const tag of tags(script)) assert.ok(result.stdout.includes(`comment=${hex(tag)}`), `${goldenCase.name}: ufw --dry-run shows no rule for ${tag}`);
        assert.match(result.stdout, /would run: ufw --force enable/);
      }
      assert.fixture(await readState(ns), before, 'a --dry-run changed ufw state or the live rules');
    });
  });

  test('IPv6 peers with IPV6=no: the script stops before changing anything', async () => {
    const goldenCase = await findGoldenCase('example-worker');
    await withUfwNetns('ufwv6', { IPV6: 'no' }, async (ns) => {
      const before = await readState(ns);
      const result = await ns.script(goldenCase);
      assert.is(result.exitCode, 1);
      assert.match(result.stderr, /set IPV6=yes in \/etc\/default\/ufw/);
      assert.fixture(await readState(ns), before);
    });
  });

  test('enabled but not running (ENABLED=yes, stopped): the script stops with what to do before changing anything', async () => {
    const goldenCase = await findGoldenCase('example-worker');
    await withUfwNetns('ufwstopped', { IPV6: 'yes' }, async (ns) => {
      await writeFile(`${ns.etc}/ufw/ufw.conf`, (await readFile(`${ns.etc}/ufw/ufw.conf`, 'utf8')).replace(/^ENABLED=.*$/m, 'ENABLED=yes'));
      const before = await readState(ns);
      const result = await ns.script(goldenCase);
      assert.is(result.exitCode, 1, result.stderr);
      assert.match(result.stderr, /kubewall: ufw is enabled \(ENABLED=yes in \/etc\/ufw\/ufw\.conf\) but not running, and then refuses to add rules: start it \(systemctl start ufw/);
      assert.not.match(result.stderr, /problem running/);
      assert.fixture(await readState(ns), before);
    });
  });

  test('an allow-incoming ufw gets default deny incoming, through ufw; the other settings stay', async () => {
    const goldenCase = await findGoldenCase('example-worker');
    await withUfwNetns('ufwpolicy', { ...IPV6_FORWARD, DEFAULT_INPUT_POLICY: '"ACCEPT"' }, async (ns) => {
      const result = await ns.script(goldenCase);
      assert.is(result.exitCode, 0, result.stderr);
      assert.match(result.stdout, /Default incoming policy changed to 'deny'/);
      const defaults = await readFile(`${ns.etc}/default/ufw`, 'utf8');
      assert.match(defaults, /^DEFAULT_INPUT_POLICY="DROP"$/m);
      assert.match(defaults, /^DEFAULT_FORWARD_POLICY="ACCEPT"$/m);
      assert.match(defaults, /^IPV6=yes$/m);
      assert.match((await ns.run(['iptables-save', '-t', 'filter'])).stdout, /^:INPUT DROP/m);
      const again = await ns.script(goldenCase);
      assert.not.match(again.stdout, /Default incoming policy/, 'the policy is set once');
    });
  });

  test('enabled for real: a second run changes nothing, kube-proxy nat rules and the user own rules stay', async () => {
    const goldenCase = (await listGoldenCases()).find((c) => c.name === 'nodeports-control-plane-worker')!;
    await withUfwNetns('ufwapply', IPV6_FORWARD, async (ns) => {
      await inNetns(ns.netns, 'iptables-restore', ['--noflush'], { input: KUBE_PROXY_NAT });
      const natBefore = withoutComments((await ns.run(['iptables-save', '-t', 'nat'])).stdout);
      await ns.run(['ufw', 'allow', 'proto', 'tcp', 'from', '192.0.2.50', 'to', 'any', 'port', '8443']);

      const first = await ns.script(goldenCase);
      assert.is(first.exitCode, 0, `first run failed:\n${first.stderr}\n${first.stdout}`);
      assert.match(first.stdout, /Firewall is active and enabled on system startup/);
      assert.match(first.stderr, /1 ufw rule\(s\) without the kubewall tag are in place/);
      const once = await readState(ns);

      const second = await ns.script(goldenCase);
      assert.is(second.exitCode, 0, `second run failed:\n${second.stderr}`);
      assert.not.match(second.stdout, /Rule|updated|deleted/i, `second run changed rules:\n${second.stdout}`);
      assert.fixture(await readState(ns), once, 'second run changed the live rules or ufw files');

      const script = scripts.get(await scriptFile(goldenCase))!;
      assert.equal(await liveTags(ns), tags(script));
      const natAfter = withoutComments((await ns.run(['iptables-save', '-t', 'nat'])).stdout);
      assert.fixture(natAfter, natBefore, "kube-proxy's nat rules changed");
      const filter = (await ns.run(['iptables-save', '-t', 'filter'])).stdout;
      assert.match(filter, /^:INPUT DROP/m, 'deny incoming is the final drop');
      assert.match(filter, /^-A ufw-user-input -s 10\.99\.0\.0\/24 -p tcp -m tcp --dport 22 -j ACCEPT$/m, 'SSH from the admin network');
      assert.match(filter, /^-A ufw-user-input -s 192\.0\.2\.50\/32 -p tcp -m tcp --dport 8443 -j ACCEPT$/m, 'the user rule stays');
      assert.match((await ns.run(['ufw', 'status'])).stdout, /^Status: active$/m);
    });
  });

  test('a new render replaces the kubewall rules of the old one, and leaves untagged rules alone', async () => {
    const cases = await listGoldenCases();
    const old = cases.find((c) => c.name === 'example-control-plane')!;
    const next = cases.find((c) => c.name === 'example-worker')!;
    await withUfwNetns('ufwstale', IPV6_FORWARD, async (ns) => {
      await ns.run(['ufw', 'allow', 'proto', 'tcp', 'from', '192.0.2.50', 'to', 'any', 'port', '8443']);
      assert.is((await ns.script(old)).exitCode, 0);
      assert.equal(await liveTags(ns), tags(scripts.get(await scriptFile(old))!));
      const replaced = await ns.script(next);
      assert.is(replaced.exitCode, 0, replaced.stderr);
      assert.match(replaced.stdout, /kubewall: deleting stale rule: ufw allow from 10\.10\.0\.11 to any port 2379:2380 proto tcp/);
      assert.equal(await liveTags(ns), tags(scripts.get(await scriptFile(next))!), 'exactly the new render');
      assert.match((await ns.run(['ufw', 'show', 'added'])).stdout, /^ufw allow from 192\.0\.2\.50 to any port 8443 proto tcp$/m);
      const again = await ns.script(next);
      assert.not.match(again.stdout, /Rule|updated|deleted/i);
    });
  });
});

test.after(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

test.run();
