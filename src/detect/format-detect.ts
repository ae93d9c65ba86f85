import { sanitizeCommentLine } from '../render/header.js';
import type { DetectReport, SuggestedClusterFile } from './run-detect.js';

function table(rows: readonly (readonly string[])[], indent = ''): string[] {
  const clean = rows.map((row) => row.map(sanitizeCommentLine));
  const widths: number[] = [];
  for (const row of clean) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return clean.map((row) => indent + row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ').trimEnd());
}

/** A row per finding, its further evidence on the rows below with the first two columns empty. */
function findingRows(name: string, value: string, evidence: readonly string[]): string[][] {
  const [first = '', ...rest] = evidence;
  return [[name, value, first], ...rest.map((e) => ['', '', e])];
}

const yamlScalar = (value: string) => (/^[A-Za-z0-9][A-Za-z0-9.:+_/-]*$/.test(value) && !/^(true|false|null|yes|no|on|off|~)$/i.test(value) ? value : JSON.stringify(value));

/** The suggested keys as a YAML fragment to paste into a cluster file; deterministic. */
export function formatClusterBlock(suggested: SuggestedClusterFile, notes: { kubeProxyUnknown?: string | undefined; noCni?: boolean | undefined } = {}): string {
  const out: string[] = [];
  if (suggested.kubeProxy !== undefined) out.push(`kubeProxy: ${suggested.kubeProxy}`);
  else if (notes.kubeProxyUnknown) out.push(`# kubeProxy: could not tell (${notes.kubeProxyUnknown.replace(/^cannot tell: /, '')})`);
  if (suggested.nodeLocalDNS !== undefined) out.push(`nodeLocalDNS: ${yamlScalar(suggested.nodeLocalDNS)}`);
  const p = suggested.profiles;
  const profileLines: string[] = [];
  if (p.distribution !== undefined) profileLines.push(`  distribution: ${yamlScalar(p.distribution)}`);
  if (p.cni !== undefined) profileLines.push(`  cni: ${yamlScalar(p.cni)}`);
  else if (notes.noCni) profileLines.push('  # cni: no CNI seen on this node; name yours (none: it needs no host ports)');
  if (p.addons !== undefined) profileLines.push(`  addons: [${p.addons.map(yamlScalar).join(', ')}]`);
  if (profileLines.length > 0) out.push('profiles:', ...profileLines);
  if (suggested.overrides !== undefined) {
    out.push('overrides:');
    for (const [id, override] of Object.entries(suggested.overrides)) out.push(`  ${id}:`, `    ports: ${override.ports}`);
  }
  return out.length > 0 ? `${out.join('\n')}\n` : '';
}

export function formatDetectJson(report: DetectReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

/** The `kubewall detect` table: findings with evidence, the sockets against the plan, the cluster-file block. */
export function formatDetectTable(report: DetectReport): string {
  const out: string[] = [];
  out.push(`kubewall detect: ${report.source} (read-only: nothing on the host was changed)`);
  out.push('');
  const rows: string[][] = [['FINDING', 'VALUE', 'EVIDENCE']];
  rows.push(...findingRows('role', `${report.roles.roles.join(', ')}${report.roles.from === '--role' ? ' (--role)' : report.roles.assumed ? ' (assumed)' : ''}`, report.roles.evidence));
  rows.push(...findingRows('distribution', report.distribution.name ?? 'kubeadm (default)', report.distribution.evidence));
  rows.push(...findingRows('kube-proxy', report.kubeProxy.mode ?? 'unknown', report.kubeProxy.evidence));
  rows.push(...findingRows('cni', report.cni.profile ?? 'not seen', report.cni.evidence));
  rows.push(...findingRows('nodelocaldns', report.nodeLocalDNS.address ?? 'not seen', report.nodeLocalDNS.evidence));
  for (const addon of report.addons) rows.push(...findingRows('add-on', addon.suggest ? addon.name : `${addon.name} (not suggested)`, addon.evidence));
  out.push(...table(rows));
  out.push('');
  const planLabel = `plan for ${report.plan.roles.join(' + ')}${report.plan.profiles.length > 0 ? `, ${report.plan.profiles.join('; ')}` : ''}${report.plan.cluster ? `, cluster ${report.plan.cluster}` : ''}`;
  const { unplanned, idle, notChecked } = report.listeners;
  if (unplanned.length === 0) out.push(`Listening sockets: every one the ${planLabel} accepts from some peer (or bound to loopback).`);
  else {
    out.push(`Listening, but the ${planLabel} drops it from every peer but this node:`);
    out.push(
      ...table(
        [
          ['PORT', 'PROTO', 'ADDRESSES', 'PROCESS'],
          ...unplanned.map((u) => [
            String(u.port),
            u.protocol,
            u.addresses.join(', '),
            (u.processes.length > 0 ? u.processes.join(', ') : '(unknown: run as root to see processes)') + (u.selfOnly.length > 0 ? `; planned for self only (${u.selfOnly.join(', ')})` : ''),
          ]),
        ],
        '  ',
      ),
    );
  }
  out.push('');
  if (idle.length === 0) out.push('Planned ports: something listens on every one.');
  else {
    out.push('Planned, but nothing on this node listens:');
    out.push(...table([['PORT', 'PROTO', 'PEERS', 'ENTRY'], ...idle.map((i) => [i.ports, i.protocol, i.peer, i.entry])], '  '));
  }
  for (const note of notChecked) out.push(`  not checked: ${note}`);
  const failed = report.probes.filter((p) => p.status !== 'ok' && p.status !== 'skipped');
  if (report.warnings.length > 0 || failed.length > 0) {
    out.push('');
    out.push('Warnings:');
    for (const warning of report.warnings) out.push(`  ${warning}`);
    for (const probe of failed) out.push(`  could not read: ${probe.command}: ${probe.detail ?? probe.status}`);
  }
  out.push('');
  out.push('For the cluster file:');
  const block = formatClusterBlock(report.clusterFile, {
    kubeProxyUnknown: report.kubeProxy.mode === null ? report.kubeProxy.evidence[0] : undefined,
    noCni: report.cni.name === null,
  });
  out.push(...block.trimEnd().split('\n').map((line) => `  ${line}`));
  return `${out.join('\n')}\n`;
}
