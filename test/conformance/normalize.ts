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
