import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as Yaml from 'yaml';
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

/** What a render is made from: the cluster file and the plan options. */
export interface AuditInputs {
  readonly clusterFile: string;
  readonly planArgs: readonly string[];
}

const LAB_INPUTS: AuditInputs = { clusterFile: TRAFFIC_CLUSTER, planArgs: AUDIT_PLAN_ARGS };

/** Renders (with --audit or not) with the lab's cluster, or other inputs, and applies it in the node namespace. */
export async function applyRender(lab: TrafficLab, adapter: ConformanceAdapter, audit: boolean, inputs: AuditInputs = LAB_INPUTS): Promise<void> {
  const plan = await planJson(inputs.clusterFile, TRAFFIC_ROLES, inputs.planArgs);
  const ctx = { ...lab.ctx, file: inputs.clusterFile, plans: new Map([[TRAFFIC_ROLES.join('+'), plan]]) };
  const dir = path.join(lab.workDir, `${adapter.backend}-${audit ? 'audit' : 'enforce'}-${Date.now()}`);
  const output = await renderOutput(adapter, ctx, TRAFFIC_ROLES, dir, [...inputs.planArgs, ...(audit ? ['--audit'] : [])]);
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

/**
 * The inputs `kubewall audit` suggested, taken as an operator would: each
 * record's fix becomes a cluster-file change (`add 10.1.2.3 to
 * loadBalancers`) or a plan option (`--addon node-local-dns`). A fix this
 * cannot apply is an error: a suggestion an operator cannot follow is a bug.
 */
export async function suggestedInputs(run: AuditRun, workDir: string): Promise<AuditInputs> {
  const cluster = Yaml.parse(await readFile(path.join(REPO_ROOT, TRAFFIC_CLUSTER), 'utf8')) as Record<string, unknown>;
  const addons = AUDIT_PLAN_ARGS[1].split(',');
  for (const record of run.report?.records ?? []) {
    const add = /^add (\S+) to (loadBalancers|adminNetworks|podCIDRs)$/.exec(record.fix);
    const addon = /^--addon (\S+)$/.exec(record.fix);
    if (add) cluster[add[2]!] = [...((cluster[add[2]!] as string[] | undefined) ?? []), add[1]!];
    else if (addon) addons.push(addon[1]!);
    else throw new Error(`kubewall audit suggested a fix this test cannot apply: ${JSON.stringify(record)}`);
  }
  const clusterFile = path.join(workDir, 'cluster-with-suggestions.yaml');
  await writeFile(clusterFile, Yaml.stringify(cluster));
  return { clusterFile, planArgs: ['--addon', [...new Set(addons)].join(',')] };
}
