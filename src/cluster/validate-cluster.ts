import type { SourceDocument } from '../input/read-document.js';
import { refuseProtoKeys, validateDocument } from '../input/validate-document.js';
import { isHostAddress } from '../input/schema-parts.js';
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
  refuseProtoKeys(doc, 'CLUSTER');
  const nodes = nodesIfWellFormed(doc.data);
  if (nodes) {
    const rest = ClusterSchema.safeParse({ ...(doc.data as object), nodes: [] });
    if (rest.success) return { ...rest.data, nodes };
  }
  return validateDocument(ClusterSchema, doc, 'CLUSTER');
}

/** The document's nodes when both the generated shape check and the address check accept them. */
export function nodesIfWellFormed(data: unknown): ClusterNodeInput[] | undefined {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return undefined;
  const nodes = (data as { nodes?: unknown }).nodes;
  if (!Array.isArray(nodes) || !(validateNodeShapes(nodes) as boolean)) return undefined;
  for (const node of nodes as ClusterNodeInput[]) {
    for (const address of node.addresses) if (!isHostAddress(address)) return undefined;
  }
  return nodes as ClusterNodeInput[];
}
