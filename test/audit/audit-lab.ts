import path from 'node:path';
import type { ConformanceAdapter } from '../conformance/adapter.js';
import { ALLOWED_NODEPORT, NODE_LOCAL_DNS, TRAFFIC_CLUSTER, TRAFFIC_ROLES, type TrafficLab } from '../conformance/cluster-traffic.js';
import { planJson, renderOutput } from '../conformance/harness.js';
import { BIN, REPO_ROOT } from '../helpers/paths.js';

/**
 * The audit scenario in the cluster-traffic lab (test/conformance/cluster-traffic.ts):
 * the node is a control-plane node of cluster-traffic.yaml, rendered WITHOUT
 * the node-local-dns add-on (the flag replaces the file's add-ons). Two
 * would-be drops: an outsider's TCP to NodePort 30080 (only load balancers may
 * use it: the file's override), and a pod's DNS to NodeLocal DNSCache's
 * address. With --audit both get through and `kubewall audit` (run in the
 * node namespace, as on a node) lists both with the right fix; with the
 * enforcing render both are dropped and nothing is recorded.
 */

/** The plan options of every render and audit here: the file's add-ons minus node-local-dns. */
export const AUDIT_PLAN_ARGS = ['--addon', 'metrics-server,keepalived'] as const;

export interface AuditRun {
  /** Probe status of the outsider → NodePort and the pod → NodeLocal DNS. */
  readonly outsider: string;
  readonly podDns: string;
  readonly exitCode: number;
  readonly report: { records: { source: string; protocol: string; port: number | null; packets: number | null; kind: string; fix: string }[] } | null;
  readonly stderr: string;
  readonly outsiderAddress: string;
  readonly podAddress: string;
}

/** Renders (with --audit or not) with the lab's cluster, applies it in the node namespace. */
export async function applyRender(lab: TrafficLab, adapter: ConformanceAdapter, audit: boolean): Promise<void> {
  const plan = await planJson(TRAFFIC_CLUSTER, TRAFFIC_ROLES, AUDIT_PLAN_ARGS);
  const ctx = { ...lab.ctx, plans: new Map([[TRAFFIC_ROLES.join('+'), plan]]) };
  const dir = path.join(lab.workDir, `${adapter.backend}-${audit ? 'audit' : 'enforce'}-${Date.now()}`);
  const output = await renderOutput(adapter, ctx, TRAFFIC_ROLES, dir, [...AUDIT_PLAN_ARGS, ...(audit ? ['--audit'] : [])]);
  if (audit && !output.main.content.includes('AUDIT MODE')) throw new Error('the audit render does not say AUDIT MODE');
  await lab.apply(output);
  // Earlier probes leave conntrack entries; a probe must meet the rules.
  await lab.adapterContext.exec('conntrack', ['-F'], { reject: false });
}

async function probe(lab: TrafficLab, from: 'outsider' | 'pod', protocol: 'tcp' | 'udp', host: string, port: number): Promise<string> {
  let status = 'error';
  for (const timeoutMs of lab.probeTimeoutsMs) {
    const [result] = await lab.topo.agent(from).probe([{ key: 'k', protocol, host, port }], timeoutMs);
    status = result!.status;
    if (status === 'open') return status;
  }
  return status;
}

/** Sends the two flows, then runs `kubewall audit --format json` inside the node namespace. */
export async function sendAndAudit(lab: TrafficLab, backend: string): Promise<AuditRun> {
  const outsider = await probe(lab, 'outsider', 'tcp', lab.topo.lab.node.ipv4, ALLOWED_NODEPORT);
  const podDns = await probe(lab, 'pod', 'udp', NODE_LOCAL_DNS, 53);
  const result = await lab.adapterContext.exec(
    'node',
    [BIN, 'audit', '--backend', backend, '--role', TRAFFIC_ROLES.join(','), '--cluster', path.join(REPO_ROOT, TRAFFIC_CLUSTER), ...AUDIT_PLAN_ARGS, '--format', 'json'],
    { reject: false },
  );
  let report: AuditRun['report'] = null;
  try {
    report = JSON.parse(result.stdout) as AuditRun['report'];
  } catch {
    report = null;
  }
  return {
    outsider,
    podDns,
    exitCode: result.exitCode,
    report,
    stderr: result.stderr,
    outsiderAddress: lab.topo.address('outsider', 'ipv4'),
    podAddress: lab.topo.address('pod', 'ipv4'),
  };
}

/** What is wrong with an audit run, one line each (empty: both flows got through and are listed with the right fix). */
export function auditProblems(run: AuditRun): string[] {
  const out: string[] = [];
  if (run.outsider !== 'open') out.push(`outsider → NodePort ${ALLOWED_NODEPORT}/tcp: expected through (audit), observed ${run.outsider}`);
  if (run.podDns !== 'open') out.push(`pod → ${NODE_LOCAL_DNS}:53/udp: expected through (audit), observed ${run.podDns}`);
  if (run.exitCode !== 2) out.push(`kubewall audit: expected exit 2 (something recorded), got ${run.exitCode}: ${run.stderr.trim()}`);
  const records = run.report?.records ?? [];
  const lb = records.find((r) => r.source === run.outsiderAddress && r.protocol === 'tcp' && r.port === ALLOWED_NODEPORT);
  if (!lb) out.push(`no record of ${run.outsiderAddress} tcp ${ALLOWED_NODEPORT}`);
  else if (lb.kind !== 'peer-missing' || lb.fix !== `add ${run.outsiderAddress} to loadBalancers`) out.push(`${run.outsiderAddress} tcp ${ALLOWED_NODEPORT}: wrong explanation ${JSON.stringify(lb)}`);
  const dns = records.find((r) => r.source === run.podAddress && r.protocol === 'udp' && r.port === 53);
  if (!dns) out.push(`no record of ${run.podAddress} udp 53`);
  else if (dns.kind !== 'profile' || dns.fix !== '--addon node-local-dns') out.push(`${run.podAddress} udp 53: wrong explanation ${JSON.stringify(dns)}`);
  if (lb && (lb.packets ?? 0) < 1) out.push(`${run.outsiderAddress} tcp ${ALLOWED_NODEPORT}: no packets counted`);
  return out;
}
