import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { formatClusterBlock, formatDetectJson, formatDetectTable } from '../../detect/format-detect.js';
import { DETECT_COMMANDS, gatherDetectCapture, parseDetectCapture, type DetectCapture } from '../../detect/gather.js';
import { buildSnapshot } from '../../detect/parse-snapshot.js';
import { buildDetectReport } from '../../detect/run-detect.js';
import { KubewallError } from '../../errors.js';
import { createExecaRunner, DEFAULT_COMMAND_TIMEOUT_MS } from '../../host/execa-runner.js';
import { guardReadOnly } from '../../host/read-only.js';
import { addProfileOptions, collect, collectList, parseChoice, parseRoles, printWarnings, profileFlags } from '../options.js';

interface DetectFlags {
  role?: string[];
  cluster?: string;
  catalogue?: string[];
  format: string;
  from?: string;
  capture?: boolean;
  timeout: string;
  distribution?: string;
  cni?: string;
  addon?: string[];
}

async function readCapture(from: string): Promise<{ capture: DetectCapture; source: string }> {
  let text: string;
  if (from === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    text = Buffer.concat(chunks).toString('utf8');
  } else {
    try {
      text = readFileSync(from, 'utf8');
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
      throw new KubewallError('HOST_READ', `--from ${from}: cannot read the capture: ${reason}`, { cause: error });
    }
  }
  const source = from === '-' ? 'stdin' : from;
  return { capture: parseDetectCapture(text, source), source };
}

export function registerDetect(program: Command): void {
  addProfileOptions(program.command('detect'))
    .description("read-only: read this node and say what kubewall's inputs should be (kube-proxy mode, CNI, add-ons) and which listening ports the plan would drop")
    .option('-r, --role <roles>', 'check the sockets against this role (default: detected from the listeners)', collectList)
    .option('-c, --cluster <file>', 'cluster file (YAML/JSON) for the plan the sockets are checked against')
    .option('--catalogue <glob>', "extra catalogue fragments, e.g. 'ports.d/*.yaml' (repeatable)", collect)
    .option('-f, --format <format>', 'table, json (versioned shape, apiVersion kubewall.dev/detect/v1), or cluster (only the cluster-file block)', 'table')
    .option('--capture', 'print what the read-only commands answered (JSON) instead of a report, to detect elsewhere with --from')
    .option('--from <file>', "detect from a saved --capture instead of this host ('-' reads stdin)")
    .option('--timeout <seconds>', 'give up on a host command after this long', String(DEFAULT_COMMAND_TIMEOUT_MS / 1000))
    .addHelpText(
      'after',
      `
Examples:
  $ sudo kubewall detect
  $ sudo kubewall detect --role worker --cluster cluster.yaml --format json
  $ sudo kubewall detect --format cluster >> cluster.yaml     # then review it
  $ ssh node-1 sudo kubewall detect --capture > node-1.json
  $ kubewall detect --from node-1.json --cluster cluster.yaml

Reads only: ${Object.values(DETECT_COMMANDS).map((argv) => argv.join(' ')).join(', ')},
and, for a nat table that exists, {ip,ip6}tables-{nft,legacy} -t nat -S KUBE-SERVICES 1 (one
rule, never a dump). Every command goes through the guard diff uses, which refuses anything else.
A finding never changes the host, and detect exits 0 whatever it finds (1 on an error).
The --distribution, --cni and --addon options replace the detected ones in the plan the
sockets are checked against. Run as root: without it ss shows no process names.`,
    )
    .action(async (flags: DetectFlags) => {
      const format = parseChoice('--format', flags.format, ['table', 'json', 'cluster'] as const);
      const roles = flags.role === undefined ? undefined : parseRoles(flags.role);
      const timeout = Number(flags.timeout);
      if (!/^\d+(\.\d+)?$/.test(flags.timeout) || timeout <= 0) throw new KubewallError('USAGE', `--timeout: expected seconds > 0, e.g. 10 or 0.5, not ${JSON.stringify(flags.timeout)}`);
      if (flags.capture && flags.from !== undefined) throw new KubewallError('USAGE', '--capture reads this host; --from reads a saved capture: give one of them');
      const { capture, source } =
        flags.from === undefined
          ? { capture: await gatherDetectCapture(guardReadOnly(createExecaRunner({ timeoutMs: timeout * 1000 }))), source: 'live' }
          : await readCapture(flags.from);
      if (flags.capture) {
        process.stdout.write(`${JSON.stringify(capture, null, 2)}\n`);
        return;
      }
      const report = await buildDetectReport(buildSnapshot(capture, source), {
        roles,
        clusterFile: flags.cluster,
        cataloguePatterns: flags.catalogue,
        profiles: profileFlags(flags),
      });
      if (format === 'json') process.stdout.write(formatDetectJson(report));
      else if (format === 'cluster') {
        printWarnings(report.warnings);
        process.stdout.write(formatClusterBlock(report.clusterFile, { kubeProxyUnknown: report.kubeProxy.mode === null ? report.kubeProxy.evidence[0] : undefined, noCni: report.cni.name === null }));
      } else process.stdout.write(formatDetectTable(report));
    });
}
