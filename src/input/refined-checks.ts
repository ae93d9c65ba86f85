import { ipVersion, isIpv4Mapped, parseNetwork } from '../addresses.js';
import { parsePortRange, parsePortSpec, type PortSpec } from '../ports.js';

/** A host address without prefix or zone. */
export function isHostAddress(value: string): boolean {
  const version = ipVersion(value);
  return version === 4 || (version === 6 && !isIpv4Mapped(value));
}

/**
 * The checks JSON Schema cannot express, as yes-or-no answers from the same
 * parsers the zod refinements of src/input/schema-parts.ts and
 * src/cluster/schema.ts report with. The generated cluster validator
 * (scripts/cluster-validator.ts) calls them by these names; zod, loaded only
 * when one says no, says why. A value reaching a check has passed the JSON
 * Schema's type test (a string, or the port types).
 */
export const REFINED_CHECKS = {
  hostAddress: (value: string): boolean => isHostAddress(value),
  network: (value: string): boolean => typeof parseNetwork(value) !== 'string',
  ports: (value: PortSpec): boolean => typeof parsePortSpec(value) !== 'string',
  portRange: (value: number | string): boolean => typeof parsePortRange(value) !== 'string',
} as const;

export type RefinedCheck = keyof typeof REFINED_CHECKS;
