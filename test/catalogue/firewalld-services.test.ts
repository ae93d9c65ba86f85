import { XMLParser } from 'fast-xml-parser';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { entriesForRoles } from '../../src/catalogue/catalogue.js';
import { loadCatalogue } from '../../src/catalogue/load-catalogue.js';
import type { Role } from '../../src/model.js';

// The firewalld package ships Kubernetes service definitions; kubewall's kubeadm
// catalogue is held against them, and every difference must have a reason here.
const SERVICES = '/usr/lib/firewalld/services';

type Row = string; // "10250/tcp"

function servicePorts(name: string, seen = new Set<string>()): Row[] {
  if (seen.has(name)) return [];
  seen.add(name);
  const xml = readFileSync(`${SERVICES}/${name}.xml`, 'utf8');
  const service = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (tag) => tag === 'port' || tag === 'include' }).parse(xml)
    .service as { port?: { protocol: string; port: string }[]; include?: { service: string }[] };
  return [
    ...(service.port ?? []).map((p) => `${p.port}/${p.protocol}`),
    ...(service.include ?? []).flatMap((i) => servicePorts(i.service, seen)),
  ];
}

/** Expands firewalld's "2379"+"2380" and kubewall's "2379-2380" to single ports, so they compare. */
function expand(rows: readonly Row[]): string[] {
  return [
    ...new Set(
      rows.flatMap((row) => {
        const [ports = '', protocol] = row.split('/');
        const [from, to = from] = ports.split('-').map(Number);
        if (to! - from! > 16) return [`${from}-${to}/${protocol}`]; // a range stays a range (NodePorts)
        return Array.from({ length: to! - from! + 1 }, (_, i) => `${from! + i}/${protocol}`);
      }),
    ),
  ].sort();
}

async function kubewallPorts(role: Role): Promise<string[]> {
  const catalogue = await loadCatalogue();
  const rows = entriesForRoles(catalogue, [role]).flatMap((e) => e.protocols.map((p) => `${e.ports.map((r) => (r.from === r.to ? r.from : `${r.from}-${r.to}`)).join(',')}/${p}`));
  return expand(rows);
}

// Each known difference, with its reason (DOMAIN.md §3.7 and the seed page).
const KNOWN: Record<string, { onlyKubewall: Record<string, string>; onlyFirewalld: Record<string, string> }> = {
  'kube-control-plane-secure': {
    onlyKubewall: {
      '10250/tcp': 'the kubelet runs on control-plane nodes too; the seed lists it in the control plane table',
      '30000-32767/tcp': 'kube-proxy runs on every node (kubeadm DaemonSet), so control-plane nodes serve NodePorts too',
      '30000-32767/udp': 'NodePort Services can be UDP, on control-plane nodes too',
    },
    onlyFirewalld: {},
  },
  'kube-control-plane': {
    onlyKubewall: {
      '10250/tcp': 'the kubelet runs on control-plane nodes too',
      '30000-32767/tcp': 'kube-proxy runs on every node (kubeadm DaemonSet), so control-plane nodes serve NodePorts too',
      '30000-32767/udp': 'NodePort Services can be UDP, on control-plane nodes too',
      '10257/tcp': 'kube-controller-manager\'s secure port; the plain firewalld service still has the removed insecure 10252',
      '10259/tcp': 'kube-scheduler\'s secure port; the plain firewalld service still has the removed insecure 10251',
    },
    onlyFirewalld: {
      '10251/tcp': 'kube-scheduler\'s insecure port, removed from Kubernetes (stale catalogue, DOMAIN.md §3.7)',
      '10252/tcp': 'kube-controller-manager\'s insecure port, removed from Kubernetes (stale catalogue)',
    },
  },
  'kube-worker': {
    onlyKubewall: {
      '10256/tcp': 'kube-proxy\'s health check, probed by load balancers (seed: worker table); firewalld has no service for it',
      '30000-32767/udp': 'NodePort Services can be UDP (the English page lists TCP and UDP); firewalld opens TCP only',
    },
    onlyFirewalld: {},
  },
};

const ROLE_OF: Record<string, Role> = { 'kube-control-plane-secure': 'control-plane', 'kube-control-plane': 'control-plane', 'kube-worker': 'worker' };

if (!existsSync(`${SERVICES}/kube-worker.xml`)) {
  if (process.env['CI'] === 'true') {
    test('firewalld service definitions are installed', () => {
      throw new Error(`${SERVICES}/kube-*.xml missing: .ci/run must install firewalld`);
    });
  } else {
    process.stderr.write(`SKIP firewalld cross-check: ${SERVICES}/kube-*.xml not installed (apt-get install firewalld; in CI a skip is a failure)\n`);
  }
} else {
  for (const [service, known] of Object.entries(KNOWN)) {
    test(`the kubeadm catalogue matches firewalld's ${service} service, but for the listed differences`, async () => {
      const ours = await kubewallPorts(ROLE_OF[service]!);
      const theirs = expand(servicePorts(service));
      assert.equal(ours.filter((p) => !theirs.includes(p)), Object.keys(known.onlyKubewall).sort(), `only in kubewall (${ROLE_OF[service]})`);
      assert.equal(theirs.filter((p) => !ours.includes(p)), Object.keys(known.onlyFirewalld).sort(), `only in firewalld's ${service}`);
    });
  }

  test('etcd nodes: firewalld\'s etcd-client and etcd-server services are exactly kubewall\'s etcd role', async () => {
    assert.equal(await kubewallPorts('etcd'), expand([...servicePorts('etcd-client'), ...servicePorts('etcd-server')]));
  });
}

test.run();
