import type { AuditReport } from './run-audit.js';

/** `kubewall audit --format json`: the versioned report (apiVersion kubewall.dev/audit/v1), one object. */
export function formatAuditJson(report: AuditReport): string {
  return `${JSON.stringify(
    {
      apiVersion: report.apiVersion,
      backend: report.backend,
      roles: report.roles,
      source: report.source,
      wouldBeDropped: report.findings.length,
      records: report.findings.map((f) => ({
        family: f.record.family,
        source: f.record.source,
        protocol: f.record.protocol,
        port: f.record.port,
        packets: f.record.packets,
        expiresInSeconds: f.record.expiresInSeconds,
        traffic: f.traffic,
        kind: f.kind,
        entry: f.entry,
        explanation: f.explanation,
        fix: f.fix,
      })),
      notes: report.notes,
    },
    null,
    2,
  )}\n`;
}

function pad(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - [...text].length));
}

/** The table: one line per record, then its explanation and fix indented. Strings must already be terminal-escaped. */
export function formatAuditText(report: AuditReport): string {
  const lines: string[] = [];
  for (const note of report.notes) lines.push(`note: ${note}`);
  if (report.findings.length === 0) {
    lines.push(`nothing recorded: the enforcing render (${report.backend}, role ${report.roles.join(', ')}) would have dropped nothing${report.notes.length > 0 ? ' that could be read' : ''} (source: ${report.source})`);
    return `${lines.join('\n')}\n`;
  }
  const rows = report.findings.map((f) => [f.record.source, f.record.protocol, f.record.port === null ? '-' : String(f.record.port), f.record.packets === null ? '?' : String(f.record.packets)]);
  const header = ['SOURCE', 'PROTOCOL', 'PORT', 'PACKETS'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => [...r[i]!].length)));
  lines.push(`${report.findings.length} would-be drop${report.findings.length === 1 ? '' : 's'} recorded (${report.backend}, role ${report.roles.join(', ')}, source: ${report.source}):`, '');
  lines.push(header.map((h, i) => pad(h, widths[i]!)).join('  ').trimEnd());
  report.findings.forEach((f, index) => {
    lines.push(rows[index]!.map((cell, i) => pad(cell, widths[i]!)).join('  ').trimEnd());
    lines.push(`    why: ${f.explanation}`);
    lines.push(`    fix: ${f.fix}`);
  });
  lines.push('', 'Fix the inputs, render without --audit, check with kubewall diff, then apply (see docs/audit.md).');
  return `${lines.join('\n')}\n`;
}
