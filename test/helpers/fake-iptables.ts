import type { CommandOutcome } from '../../src/host/types.js';

/**
 * What `iptables -t TABLE -S CHAIN` prints on a host whose iptables-save
 * output is `save`: a fake host for the iptables reader, from the captured
 * dumps. A built-in chain of a table the dump lacks lists its ACCEPT policy
 * (as iptables-nft does); a missing user chain exits 1 with no output.
 */
export function listChainFromSave(save: string, table: string, chain: string): CommandOutcome {
  const start = save.search(new RegExp(`^\\*${table}$`, 'm'));
  const section = start === -1 ? '' : save.slice(start, save.indexOf('\nCOMMIT', start));
  const head = section.split('\n').find((line) => line.startsWith(`:${chain} `));
  if (!head) {
    const builtIn = /^[A-Z]+$/.test(chain) && !chain.includes('-');
    return builtIn ? { status: 'exited', exitCode: 0, stdout: `-P ${chain} ACCEPT\n`, stderr: '' } : { status: 'exited', exitCode: 1, stdout: '', stderr: `iptables: chain \`${chain}' in table \`${table}' is incompatible, use 'nft' tool.\n` };
  }
  const policy = head.split(' ')[1]!;
  const rules = section.split('\n').filter((line) => line.startsWith(`-A ${chain} `));
  return { status: 'exited', exitCode: 0, stdout: [policy === '-' ? `-N ${chain}` : `-P ${chain} ${policy}`, ...rules, ''].join('\n'), stderr: '' };
}

/** The `-t TABLE -S CHAIN` arguments, or undefined for any other command line. */
export function listChainArgs(args: readonly string[]): { table: string; chain: string } | undefined {
  return args.length === 4 && args[0] === '-t' && args[2] === '-S' ? { table: args[1]!, chain: args[3]! } : undefined;
}
