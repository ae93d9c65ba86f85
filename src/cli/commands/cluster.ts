import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { KubewallError } from '../../errors.js';
import { printWarnings } from '../options.js';

async function readInput(file: string): Promise<{ text: string; origin: string }> {
  if (file === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return { text: Buffer.concat(chunks).toString('utf8'), origin: 'stdin' };
  }
  try {
    return { text: readFileSync(file, 'utf8'), origin: file };
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new KubewallError('CLUSTER', `${file}: cannot read the node list: ${reason}`, { cause: error });
  }
}

export function registerCluster(program: Command): void {
  const cluster = program.command('cluster').description('cluster file helpers');
  cluster
    .command('from-nodes')
    .argument('<file>', "the output of kubectl get nodes -o json ('-' reads stdin)")
    .description("write a cluster file from a running cluster's nodes: InternalIP addresses, roles from node-role labels, spec.podCIDRs")
    .addHelpText(
      'after',
      `
Examples:
  $ kubectl get nodes -o json | kubewall cluster from-nodes - > cluster.yaml
  $ kubectl get nodes -o json > nodes.json && kubewall cluster from-nodes nodes.json

Roles: node-role.kubernetes.io/control-plane or /master -> control-plane, /etcd -> etcd,
/worker -> worker; a node without any of these is a worker. Nodes are sorted by name.
The output is checked against the cluster file schema before it is printed.`,
    )
    .action(async (file: string) => {
      const { text, origin } = await readInput(file);
      // Loaded on demand: it validates with the cluster schema (zod, yaml), which other commands need not load.
      const { clusterFromNodes } = await import('../../cluster/from-nodes.js');
      const { yaml, notes } = await clusterFromNodes(text, origin);
      printWarnings(notes);
      process.stdout.write(yaml);
    });
}
