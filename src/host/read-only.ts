import { KubewallError } from '../errors.js';
import type { CommandRunner } from './types.js';

/**
 * Commands `kubewall diff`, `kubewall detect` and `kubewall audit` may run, each as a predicate
 * over its arguments. Only list/save/status/show forms: nothing here can
 * change a ruleset, a set, a zone, an interface or a daemon's state. A new
 * host reader adds its commands here.
 */
export const READ_ONLY_COMMANDS: Readonly<Record<string, (args: readonly string[]) => boolean>> = {
  // A chain is named only with plain names (NFT_SAFE_NAME): nft joins its arguments into one command line.
  // audit: the two sets an audit render fills, nothing else of the table.
  nft: (args) =>
    /^(-j |--json )?(-[ans] )*list (ruleset|tables|chains|table inet kubewall|chain (ip|ip6|inet|arp|bridge|netdev) [A-Za-z_][\w.-]* [A-Za-z_][\w.-]*)$/.test(args.join(' ')) ||
    /^-j list set inet kubewall audit-v[46]$/.test(args.join(' ')),
  'iptables-save': saveArgs,
  'ip6tables-save': saveArgs,
  'iptables-nft-save': saveArgs,
  'ip6tables-nft-save': saveArgs,
  'iptables-legacy-save': saveArgs,
  'ip6tables-legacy-save': saveArgs,
  iptables: (args) => args.length === 1 && (args[0] === '-V' || args[0] === '--version'),
  // diff: one chain's rules (-S); detect: one rule of kube-proxy's nat chain. Never a dump.
  'iptables-nft': (args) => listChainArgs(args) || natChainProbe(args),
  'ip6tables-nft': (args) => listChainArgs(args) || natChainProbe(args),
  'iptables-legacy': (args) => listChainArgs(args) || natChainProbe(args),
  'ip6tables-legacy': (args) => listChainArgs(args) || natChainProbe(args),
  // detect: interfaces with their details and addresses; listening sockets with their processes.
  ip: (args) => args.join(' ') === '-d -j addr show',
  ss: (args) => args.join(' ') === '-H -lntuwp',
  ipset: (args) => /^(save|list)( -[a-z]+)*( [\w.-]+)?$/.test(args.join(' ')),
  'firewall-cmd': (args) =>
    args.length > 0 && args.every((a) => /^--(state|version|permanent|zone=[\w.-]+|ipset=[\w.-]+|info-(zone|ipset|service)=[\w.-]+|list-all(-zones)?|get-[a-z-]+)$/.test(a)),
  ufw: (args) => /^(status( verbose| numbered)?|show (added|raw|listening))$/.test(args.join(' ')),
  cat: (args) => args.length === 1 && READABLE_FILES.test(args[0]!),
};

/** Files diff may read with cat: the legacy table lists, firewalld's settings, ufw's settings and its user rules. */
const READABLE_FILES = /^(\/proc\/net\/(ip|ip6)_tables_names|\/etc\/firewalld\/firewalld\.conf|\/etc\/default\/ufw|\/etc\/ufw\/user6?\.rules)$/;

function natChainProbe(args: readonly string[]): boolean {
  return args.join(' ') === '-t nat -S KUBE-SERVICES 1';
}

/** `-t TABLE -S CHAIN`: prints one chain's rules, nothing else (-S is --list-rules). */
function listChainArgs(args: readonly string[]): boolean {
  return /^-t (filter|mangle|raw|security) -S [A-Za-z_][\w-]*$/.test(args.join(' '));
}

function saveArgs(args: readonly string[]): boolean {
  return /^((-t|--table) [a-z]+)?$/.test(args.join(' ').replace(/^(-c|--counters) ?/, ''));
}

export function isReadOnlyCommand(command: string, args: readonly string[]): boolean {
  const allowed = Object.hasOwn(READ_ONLY_COMMANDS, command) ? READ_ONLY_COMMANDS[command] : undefined;
  return allowed !== undefined && allowed(args);
}

/**
 * Wraps a runner so that any command outside `READ_ONLY_COMMANDS` is refused
 * before it starts: the diff cannot change the host, whatever a reader does.
 */
export function guardReadOnly(runner: CommandRunner): CommandRunner {
  return {
    run(command, args) {
      if (!isReadOnlyCommand(command, args)) {
        return Promise.reject(
          new KubewallError('HOST_READ', `refusing to run ${[command, ...args].join(' ')}: kubewall diff, detect and audit only run read-only list/save/status/show commands`),
        );
      }
      return runner.run(command, args);
    },
  };
}
