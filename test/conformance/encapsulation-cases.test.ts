import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { availableProfiles } from '../../src/catalogue/load-catalogue.js';
import { REPO_ROOT } from '../helpers/paths.js';
import {
  casesFor,
  deviceKind,
  ENCAPSULATION_CASES,
  ENCAPSULATION_CLUSTER,
  planOpensBetweenNodes,
  planOpensIpProtocolBetweenNodes,
  tunnelDeviceLines,
  vxlanFdbLines,
  wireProbes,
} from './encapsulation.js';
import { loadEncapsulationContext } from './encapsulation-run.js';

/**
 * The encapsulation suite's table and lab, without root: the plans open
 * every tunnel port of each case between the two nodes and to no outsider,
 * every CNI mode with a tunnel has a case, and the slow backends still get
 * one case per CNI.
 */

/** Modes that send no packets of their own (routes only). */
const MODES_WITHOUT_A_CASE: Readonly<Record<string, string>> = {
  'calico:bgp': 'BGP routes, no encapsulation (179/tcp is in the matrix of profiles.test.ts)',
  'cilium:native': 'native routing, no tunnel',
  'flannel:host-gw': 'host-gw routes, no encapsulation',
};

function modesOf(cni: string): string[] {
  const [, modes = ''] = cni.split(':');
  return modes.split('+').filter(Boolean);
}

test('every CNI mode with a tunnel has an encapsulation case', async () => {
  const { cni: names } = await availableProfiles();
  const uncovered: string[] = [];
  for (const name of names.filter((n) => n !== 'none')) {
    const profile = parse(await readFile(path.join(REPO_ROOT, 'catalogue/profiles/cni', `${name}.yaml`), 'utf8')) as {
      profile: { modes: Record<string, string>; defaultModes: string[] };
    };
    const cases = ENCAPSULATION_CASES.filter((c) => c.cni.split(':')[0] === name);
    const covered = new Set(cases.flatMap((c) => (modesOf(c.cni).length > 0 ? modesOf(c.cni) : profile.profile.defaultModes)));
    for (const mode of Object.keys(profile.profile.modes)) {
      if (!covered.has(mode) && !MODES_WITHOUT_A_CASE[`${name}:${mode}`]) uncovered.push(`${name}:${mode}`);
    }
  }
  assert.equal(uncovered, [], `modes without an encapsulation case: ${uncovered.join(', ')}`);
});

test('ufw and firewalld still get one case per CNI', () => {
  for (const backend of ['ufw', 'firewalld']) {
    const cnis = casesFor(backend).map((c) => c.cni.split(':')[0]);
    assert.equal([...cnis].sort(), ['calico', 'canal', 'cilium', 'flannel'], backend);
  }
  assert.equal(casesFor('nftables'), [...ENCAPSULATION_CASES]);
});

test('each case: at most one kernel tunnel, and no other-mode port that a tunnel uses', () => {
  for (const kase of ENCAPSULATION_CASES) {
    for (const geneve of [true, false]) {
      assert.ok(kase.tunnels.filter((t) => deviceKind(t, geneve) !== null).length <= 1, kase.cni);
      const wirePorts = kase.tunnels.flatMap((t) => wireProbes(t, geneve)).flatMap((p) => ('udp' in p.transport ? [p.transport.udp] : []));
      const devicePorts = kase.tunnels.flatMap((t) => (deviceKind(t, geneve) !== null && 'port' in t ? [t.port] : []));
      for (const port of kase.closedUdpPorts) assert.not.ok([...wirePorts, ...devicePorts].includes(port), `${kase.cni}: ${port}`);
      const ipProtocols = kase.tunnels.flatMap((t) => (t.kind === 'ip-protocol' ? [t.protocol] : []));
      for (const n of kase.closedIpProtocols) assert.not.ok(ipProtocols.includes(n), `${kase.cni}: IP protocol ${n}`);
    }
  }
});

test('the plans open each tunnel between the two nodes, to no outsider, and keep other modes closed', async () => {
  const wrong: string[] = [];
  await Promise.all(
    ENCAPSULATION_CASES.map(async (kase) => {
      const { plans, lab } = await loadEncapsulationContext(ENCAPSULATION_CLUSTER, kase.cni);
      for (const tunnel of kase.tunnels) {
        if (tunnel.kind === 'ip-protocol') {
          for (const family of ['ipv4', 'ipv6'] as const) {
            const seen = planOpensIpProtocolBetweenNodes(plans, lab, tunnel.protocol, family);
            if (tunnel.families.includes(family) && !seen.nodes) wrong.push(`${kase.cni}: IP protocol ${tunnel.protocol} ${family} not open between the nodes`);
            if (seen.outsider) wrong.push(`${kase.cni}: IP protocol ${tunnel.protocol} ${family} open to the outsider`);
          }
          continue;
        }
        const ports = tunnel.kind === 'udp' ? [tunnel.ports.ipv4, tunnel.ports.ipv6] : [tunnel.port];
        for (const port of ports) {
          for (const family of ['ipv4', 'ipv6'] as const) {
            const seen = planOpensBetweenNodes(plans, lab, port, family);
            if (!seen.nodes) wrong.push(`${kase.cni}: ${port}/udp ${family} not open between the nodes`);
            if (seen.outsider) wrong.push(`${kase.cni}: ${port}/udp ${family} open to the outsider`);
          }
        }
      }
      for (const n of kase.closedIpProtocols) {
        if (planOpensIpProtocolBetweenNodes(plans, lab, n, 'ipv4').nodes) wrong.push(`${kase.cni}: IP protocol ${n} open though its mode is not chosen`);
      }
      for (const port of kase.closedUdpPorts) {
        if (planOpensBetweenNodes(plans, lab, port, 'ipv4').nodes) wrong.push(`${kase.cni}: ${port}/udp open though its mode is not chosen`);
      }
    }),
  );
  assert.equal(wrong.sort(), []);
});

test('the lab: a control-plane and a worker node of examples/cluster.yaml, the outsider in their subnet, overlay in the pod CIDR', async () => {
  const { lab } = await loadEncapsulationContext(ENCAPSULATION_CLUSTER, 'flannel');
  assert.equal([lab.a.addresses, lab.a.pod, lab.a.overlay], [{ ipv4: '10.10.0.11', ipv6: 'fd00:10::11' }, '10.244.1.10', '10.244.0.1']);
  assert.equal([lab.b.addresses, lab.b.pod, lab.b.overlay], [{ ipv4: '10.10.0.21', ipv6: 'fd00:10::21' }, '10.244.2.10', '10.244.0.2']);
  assert.equal(lab.outsider.addresses, { ipv4: '10.10.0.199', ipv6: 'fd00:10::199' });
  // No node knows the outsider: its packets can only get through the firewall, never be invited.
  assert.equal(tunnelDeviceLines('vxlan', 8472, lab, 'b'), [
    'link add kwtun address 02:6b:77:00:00:02 type vxlan id 42 dstport 8472 local 10.10.0.21 dev eth0 nolearning',
    'addr add 10.244.0.2/24 dev kwtun',
    'link set kwtun up',
    'neigh replace 10.244.0.1 lladdr 02:6b:77:00:00:01 dev kwtun nud permanent',
    'route add 10.244.1.0/24 via 10.244.0.1 dev kwtun',
  ]);
  assert.equal(vxlanFdbLines(lab, 'outsider'), [
    'fdb append 02:6b:77:00:00:01 dev kwtun dst 10.10.0.11 self permanent',
    'fdb append 02:6b:77:00:00:02 dev kwtun dst 10.10.0.21 self permanent',
  ]);
  assert.equal(tunnelDeviceLines('geneve', 6081, lab, 'outsider')[0], 'link add kwtun address 02:6b:77:00:00:99 type geneve id 42 dstport 6081 remote 10.10.0.21');
});

test.run();
