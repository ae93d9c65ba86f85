import type { SourceDocument } from '../input/read-document.js';
import { refuseProtoKeys, validateDocument } from '../input/validate-document.js';
import { parseExactHostAddress, type Network } from '../addresses.js';
import type { ClusterInput, ClusterNodeInput } from './schema.js';
import validateClusterShape from './validate-cluster.generated.js';

export interface ValidatedCluster {
  readonly input: ClusterInput;
  /** Every node's addresses, parsed, when the fast path checked them (checking an address is parsing it). */
  readonly nodeAddresses?: Network[][];
}

/**
 * Validates a cluster document. zod stays the one source of truth (and of
 * every message), but loading it and walking a document through it cost more
 * than the rest of a small render, and more than planning at 5,000 nodes. So
 * the document first meets ajv's generated code for the very JSON Schema zod
 * emits for ClusterSchema, whose refinements call the predicates zod's use
 * (src/input/refined-checks.ts). Only a no loads zod, which then reports every
 * problem with its place in the file. test/cluster/validate-cluster.test.ts
 * holds the two paths to the same answers.
 */
export async function validateCluster(doc: SourceDocument): Promise<ValidatedCluster> {
  refuseProtoKeys(doc, 'CLUSTER');
  const fast = validateClusterFast(doc.data);
  if (fast) return fast;
  const { ClusterSchema } = await import('./schema.js');
  return { input: validateDocument(ClusterSchema, doc, 'CLUSTER') };
}

/** The document as a valid cluster description, or undefined when anything in it is not (zod says what). */
export function validateClusterFast(data: unknown): ValidatedCluster | undefined {
  if (!(validateClusterShape(data) as boolean)) return undefined;
  const input = data as ClusterInput;
  if (input.nodes === undefined) return { input };
  const nodeAddresses = parseNodeAddresses(input.nodes);
  return nodeAddresses && { input, nodeAddresses };
}

/**
 * Each node's addresses parsed, or undefined when one is not a host address.
 * The generated check leaves node addresses to this parse
 * (scripts/cluster-validator.ts), which refuses what the schema's
 * isHostAddress refuses.
 */
function parseNodeAddresses(nodes: readonly ClusterNodeInput[]): Network[][] | undefined {
  const addresses: Network[][] = [];
  // Indexed loops: a for…of over a fleet in code that runs once (not yet
  // optimised) allocates an iterator result per step.
  for (let n = 0; n < nodes.length; n++) {
    const texts = nodes[n]!.addresses;
    // Sized up front: a pushed-to empty array reserves room for 17 (136 bytes a node).
    const parsed = new Array<Network>(texts.length);
    for (let a = 0; a < texts.length; a++) {
      const network = parseExactHostAddress(texts[a]!);
      if (network === undefined) return undefined;
      parsed[a] = network;
    }
    addresses.push(parsed);
  }
  return addresses;
}
