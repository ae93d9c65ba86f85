import type { SourceDocument } from '../input/read-document.js';
import { refuseProtoKeys, validateDocument } from '../input/validate-document.js';
import { parseExactHostAddress, type Network } from '../addresses.js';
import { ClusterSchema, type ClusterInput, type ClusterNodeInput } from './schema.js';
import validateNodeShapes from './validate-nodes.generated.js';

/**
 * Validates a cluster document. zod stays the one source of truth (and of
 * every message), but walking 5,000 nodes through it cold cost more than
 * the rest of a render. So the node list first meets ajv's generated code
 * for the very JSON Schema zod emits for ClusterNodeSchema, plus the same
 * address check; when that says yes, zod validates the rest of the document
 * with an empty node list. Any no falls back to zod on the whole document,
 * which then reports every problem with its place in the file.
 * test/cluster/validate-cluster.test.ts holds the two paths to the same answers.
 */
export function validateCluster(doc: SourceDocument): ClusterInput {
  return validateClusterParsingAddresses(doc).input;
}

/**
 * validateCluster, plus every node's addresses parsed when the fast path took
 * them: checking an address is parsing it, and the planner would otherwise
 * parse all of them a second time (a third of a 50,000-node render's planning).
 */
export function validateClusterParsingAddresses(doc: SourceDocument): { input: ClusterInput; nodeAddresses?: Network[][] } {
  refuseProtoKeys(doc, 'CLUSTER');
  const checked = nodesIfWellFormed(doc.data);
  if (checked) {
    const rest = ClusterSchema.safeParse({ ...(doc.data as object), nodes: [] });
    if (rest.success) return { input: { ...rest.data, nodes: checked.nodes }, nodeAddresses: checked.addresses };
  }
  return { input: validateDocument(ClusterSchema, doc, 'CLUSTER') };
}

/** The document's nodes, and their addresses parsed, when the generated shape check and the address parse accept them all. */
export function nodesIfWellFormed(data: unknown): { nodes: ClusterNodeInput[]; addresses: Network[][] } | undefined {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return undefined;
  const nodes = (data as { nodes?: unknown }).nodes;
  if (!Array.isArray(nodes) || !(validateNodeShapes(nodes) as boolean)) return undefined;
  const addresses: Network[][] = [];
  for (const node of nodes as ClusterNodeInput[]) {
    const parsed: Network[] = [];
    for (const address of node.addresses) {
      const network = parseExactHostAddress(address);
      if (network === undefined) return undefined;
      parsed.push(network);
    }
    addresses.push(parsed);
  }
  return { nodes: nodes as ClusterNodeInput[], addresses };
}
