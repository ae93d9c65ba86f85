import type { Family } from '../model.js';

/** The versioned shape of `kubewall audit --format json`; bump on any incompatible change. */
export const AUDIT_API_VERSION = 'kubewall.dev/audit/v1';

/** One would-be drop an audit render recorded: who sent what to which port, and how often. */
export interface AuditRecord {
  readonly family: Family;
  /** The source address as the host printed it. */
  readonly source: string;
  /** `tcp`, `udp`, `icmp`, ... or the protocol number as text when the host printed one. */
  readonly protocol: string;
  /** The destination port; null for a protocol without ports (recorded as port 0). */
  readonly port: number | null;
  /** Packets counted for this record since it was added; null when the dump has no counter. */
  readonly packets: number | null;
  /** Seconds until the record times out, when the dump says. */
  readonly expiresInSeconds: number | null;
}

/** What a backend's audit reader returns: the records, and notes on what it could not read. */
export interface AuditReadResult {
  readonly records: readonly AuditRecord[];
  readonly notes: readonly string[];
}
