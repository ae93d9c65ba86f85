import { parseExactHostAddress, parseNetwork } from '../addresses.js';
import { parsePortRange, parsePortSpec, type PortSpec } from '../ports.js';

/**
 * A host address without prefix or zone, nor IPv4 written as IPv6: what
 * parseExactHostAddress parses, so the fast cluster check, which parses node
 * addresses instead of asking this (scripts/cluster-validator.ts), refuses
 * exactly what the schema does.
 */
export function isHostAddress(value: string): boolean {
  return parseExactHostAddress(value) !== undefined;
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
  hostAddress: isHostAddress,
  network: (value: string): boolean => typeof parseNetwork(value) !== 'string',
  ports: (value: PortSpec): boolean => typeof parsePortSpec(value) !== 'string',
  portRange: (value: number | string): boolean => typeof parsePortRange(value) !== 'string',
} as const;

export type RefinedCheck = keyof typeof REFINED_CHECKS;
