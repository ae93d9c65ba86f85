import path from 'node:path';
import { parseSourceDocument } from '../input/read-document.js';
import { readTextFile } from '../input/read-file.js';
import { buildCluster, type Cluster } from './cluster.js';
import { validateCluster } from './validate-cluster.js';

/**
 * Parses and validates cluster file text; `file` is how messages name it.
 * Async because the validator with the messages (zod) is loaded only for a
 * document that needs one.
 */
export async function parseCluster(text: string, file: string): Promise<Cluster> {
  const doc = parseSourceDocument(text, file, 'CLUSTER');
  const { input, nodeAddresses } = await validateCluster(doc);
  return buildCluster(input, file, doc.locate, nodeAddresses);
}

/** Reads a cluster file (YAML or JSON). */
export async function loadCluster(file: string, cwd = process.cwd()): Promise<Cluster> {
  const text = await readTextFile(path.resolve(cwd, file), 'CLUSTER', 'cluster file');
  return parseCluster(text, file);
}
