import type { Command, CommanderError } from 'commander';
import { KubewallError } from '../errors.js';
import type { PlanFromFilesOptions, ProfileFlags } from '../load-plan.js';
import { KUBE_PROXY_MODES, ROLE_ALIASES, ROLES, type Role } from '../model.js';
import { unknownValueMessage } from '../suggest.js';
import { escapeTerminalLine } from '../text/terminal.js';

/** Commander collector: `--role a,b --role c` → ['a', 'b', 'c']. */
export function collectList(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(',').map((v) => v.trim()).filter((v) => v !== '')];
}

/** Commander collector for repeatable options. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function parseRoles(values: readonly string[] | undefined): Role[] {
  if (!values || values.length === 0) {
    throw new KubewallError('USAGE', `--role is required (expected one or more of ${ROLES.join(', ')}, e.g. --role control-plane or --role worker,control-plane)`);
  }
  const unknown = values.filter((v) => !(ROLES as readonly string[]).includes(v));
  if (unknown.length > 0) {
    throw new KubewallError('USAGE', `--role: ${unknownValueMessage('role', unknown[0]!, ROLES, ROLE_ALIASES)}`);
  }
  return ROLES.filter((role) => values.includes(role));
}

export function parseChoice<T extends string>(option: string, value: string, choices: readonly T[]): T {
  if (!(choices as readonly string[]).includes(value)) {
    throw new KubewallError('USAGE', `${option}: ${unknownValueMessage('value', value, choices)}`);
  }
  return value as T;
}

/** A backend is required; checked in the action, so that commander reports an unknown option first. */
export function requireBackend(backend: string | undefined, names: readonly string[]): string {
  if (backend === undefined || backend === '') throw new KubewallError('USAGE', `--backend is required (expected ${names.join(', ')}, e.g. --backend nftables)`);
  return backend;
}

/** Warnings go to stderr, one line each, so stdout stays a clean script. */
export function printWarnings(warnings: readonly string[]): void {
  for (const warning of warnings) process.stderr.write(`kubewall: warning: ${escapeTerminalLine(warning)}\n`);
}

/** The catalogue profile options, shared by the commands that plan. */
export function addProfileOptions(command: Command): Command {
  return command
    .option('--distribution <name>', 'add a distribution\'s ports: kubeadm (default), k3s, rke2')
    .option('--cni <name[:modes]>', 'add a CNI\'s ports: calico, calico:vxlan, cilium:geneve+wireguard, flannel, canal, none')
    .option('--addon <names>', 'add add-ons\' ports: metrics-server, metallb, keepalived, node-local-dns (comma-separated or repeated)', collectList);
}

export function profileFlags(flags: { distribution?: string; cni?: string; addon?: string[] }): ProfileFlags {
  return { distribution: flags.distribution, cni: flags.cni, addons: flags.addon };
}

/** The flags `addPlanOptions` declares, as commander names them. */
export interface PlanInputFlags {
  role?: string[];
  cluster?: string;
  catalogue?: string[];
  allowLockout?: boolean;
  distribution?: string;
  cni?: string;
  addon?: string[];
  kubeProxy?: string;
}

/**
 * The inputs of a plan, declared once for every command that builds one
 * (render, plan, apply, diff): a host applied with some options must diff
 * with the same options, or it diffs against another plan.
 */
export function addPlanOptions(command: Command): Command {
  return addProfileOptions(command)
    .option('-r, --role <roles>', 'node role(s): control-plane, worker, etcd; comma-separated or repeated', collectList)
    .option('-c, --cluster <file>', 'cluster file (YAML/JSON): nodes, load balancers, admin networks, overrides; without it the embedded default is used')
    .option('--catalogue <glob>', "extra catalogue fragments, e.g. 'ports.d/*.yaml' (repeatable)", collect)
    .option('--kube-proxy <mode>', `kube-proxy mode: ${KUBE_PROXY_MODES.join(', ')} (default: the cluster file's kubeProxy, an inventory's kube_proxy_mode, else iptables)`)
    .option('--allow-lockout', 'go on even if no SSH rule would remain (you have console access)');
}

/** What `addPlanOptions`' flags say, for planFromFiles (roles are parsed by each command: render may go without). */
export function planInputs(flags: PlanInputFlags): Omit<PlanFromFilesOptions, 'roles'> {
  return {
    clusterFile: flags.cluster,
    cataloguePatterns: flags.catalogue,
    allowLockout: flags.allowLockout,
    profiles: profileFlags(flags),
    kubeProxy: flags.kubeProxy === undefined ? undefined : parseChoice('--kube-proxy', flags.kubeProxy, KUBE_PROXY_MODES),
  };
}

/**
 * Commander's `error: unknown option '--oout'\n(Did you mean --out?)` as one
 * line in kubewall's style, with where to find the usage.
 */
export function formatCommanderError(error: CommanderError & { commandName?: string }): string {
  const lines = error.message.replace(/^error: /, '').split('\n').map((line) => line.trim()).filter(Boolean);
  const [first = 'usage error', ...rest] = lines;
  const hints = rest.map((line) => line.replace(/^\((.*)\)$/, '$1').replace(/^Did you mean/, 'did you mean'));
  const help = `run kubewall${error.commandName ? ` ${error.commandName}` : ''} --help for usage`;
  // The option text is the user's argv: escaped like every other value on the terminal.
  return escapeTerminalLine(`${first} (${[...hints, help].join('; ')})`);
}
