/** Removes packet/byte counters from nft and iptables-save text, so live traffic cannot change a snapshot. */
export function stripCounters(text: string): string {
  return text
    .split('\n')
    .filter((line) => !/^# (Generated|Completed) /.test(line))
    .map((line) =>
      line
        .replace(/ counter packets \d+ bytes \d+/g, ' counter')
        .replace(/^(:\S+ \S+) \[\d+:\d+\]$/, '$1')
        .replace(/^\[\d+:\d+\] /, ''),
    )
    .join('\n');
}

/**
 * Splits `iptables-save` text by chain ownership, for iptables-based
 * adapters: a line is own when it declares, appends to or jumps to a chain
 * whose name starts with `chainPrefix` (e.g. `KUBEWALL`). Table headers and
 * COMMIT lines stay in `foreign` so the foreign text keeps its shape.
 */
export function splitIptablesSave(text: string, chainPrefix: string): { own: string; foreign: string } {
  const own: string[] = [];
  const foreign: string[] = [];
  const escaped = chainPrefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const mine = new RegExp(`^:${escaped}|^-[AI] ${escaped}|\\s-[jg] ${escaped}`);
  for (const line of stripCounters(text).split('\n')) (mine.test(line) ? own : foreign).push(line);
  return { own: own.join('\n').trim(), foreign: foreign.join('\n').trim() };
}
