import { copyFile, cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import type { AdapterContext, ConformanceAdapter } from '../adapter.js';
import { splitIptablesSave, stripCounters } from '../normalize.js';

/** ufw's chains are ufw-* (IPv4) and ufw6-* (IPv6). */
const PREFIXES = ['ufw-', 'ufw6-'];
/** ufw sets the built-in filter chains' policies (default deny incoming, the forward policy): those lines are its own. */
const BUILTIN_POLICY = /^:(INPUT|FORWARD|OUTPUT) (ACCEPT|DROP)$/;

/** What the ufw header tells operators to set for Kubernetes; kubewall itself never writes /etc/default/ufw. */
export const UFW_LAB_SETTINGS: Readonly<Record<string, string>> = { IPV6: 'yes', DEFAULT_FORWARD_POLICY: '"ACCEPT"' };

/** `iptables-save` text split into ufw's chains (plus the built-in policies it sets) and everything else. */
export function splitUfwSave(save: string): { own: string; foreign: string } {
  let rest = stripCounters(save);
  const own: string[] = [];
  for (const prefix of PREFIXES) {
    const split = splitIptablesSave(rest, prefix);
    if (split.own) own.push(split.own);
    rest = split.foreign;
  }
  const foreign: string[] = [];
  let table = '';
  for (const line of rest.split('\n')) {
    if (line.startsWith('*')) table = line;
    (table === '*filter' && BUILTIN_POLICY.test(line) ? own : foreign).push(line);
  }
  return { own: own.join('\n'), foreign: foreign.join('\n').trim() };
}

async function readIfThere(file: string): Promise<string> {
  return readFile(file, 'utf8').catch(() => '');
}

/**
 * ufw, inside the node namespace with its own /etc/ufw and /etc/default
 * (bind-mounted from ctx.etcDir by ip netns exec): Debian's shipped
 * configuration, plus IPV6=yes and DEFAULT_FORWARD_POLICY="ACCEPT" as the
 * script's header asks. The rendered script is run as an operator would.
 */
export const ufwAdapter: ConformanceAdapter = {
  backend: 'ufw',
  tools: ['sh', 'ufw', 'iptables-nft-save', 'ip6tables-nft-save'],
  async setup(ctx) {
    const etc = ctx.etcDir;
    await mkdir(etc, { recursive: true });
    await cp('/etc/ufw', `${etc}/ufw`, { recursive: true, preserveTimestamps: true });
    await cp('/etc/default', `${etc}/default`, { recursive: true, preserveTimestamps: true });
    // Whatever the host's ufw holds stays out: start from what the package ships.
    for (const name of ['before.rules', 'before6.rules', 'after.rules', 'after6.rules', 'user.rules', 'user6.rules']) {
      await copyFile(`/usr/share/ufw/iptables/${name}`, `${etc}/ufw/${name}`);
    }
    await copyFile('/usr/share/ufw/ufw.conf', `${etc}/ufw/ufw.conf`);
    let defaults = await readFile(`${etc}/default/ufw`, 'utf8');
    for (const [key, value] of Object.entries(UFW_LAB_SETTINGS)) defaults = defaults.replace(new RegExp(`^${key}=.*$`, 'm'), `${key}=${value}`);
    await writeFile(`${etc}/default/ufw`, defaults);
  },
  async apply(ctx, output) {
    // One ufw process per missing rule: a first apply takes seconds, not milliseconds.
    await ctx.exec('sh', [output.main.path], { timeoutMs: 300_000 });
  },
  async snapshot(ctx: AdapterContext) {
    const [v4, v6] = await Promise.all([ctx.exec('iptables-nft-save', []), ctx.exec('ip6tables-nft-save', [])]);
    const parts = [v4, v6].map((r) => splitUfwSave(r.stdout));
    // ufw's own record of its rules (empty before setup: the namespace still sees the host's /etc then, which is not read).
    const files = await Promise.all(['user.rules', 'user6.rules'].map((f) => readIfThere(`${ctx.etcDir}/ufw/${f}`)));
    return {
      own: [...parts.map((p) => p.own), ...files.map((f) => f.trim())].join('\n--\n'),
      foreign: parts.map((p) => p.foreign).join('\n--\n'),
    };
  },
  knownGaps: [
    {
      reason:
        "ufw: NodePorts restricted to peers are filtered in INPUT only; kube-proxy's DNAT in PREROUTING comes first, so DNATed NodePorts reach the pod from every source (ufw cannot filter before DNAT)",
      assertion: 'nodeport-dnat',
      cells: (cell, scope) =>
        cell.dnat && scope.plan.rules.some((r) => r.filterBeforeDnat && r.peer !== 'any' && r.peer !== 'self' && r.protocol === cell.protocol),
    },
  ],
};
