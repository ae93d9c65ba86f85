// Where a one-process `npm test` spends its time (printed after the totals).

/**
 * Seconds per test file in a one-process run: uvu prints a file's name when
 * its first test starts, so a file lasts until the next name (or the end).
 * The summary names the slowest files, to show where a suite's time goes.
 */
export function createFileTimer(now: () => number = () => performance.now()): { push(line: string): void; summary(count: number): string } {
  const starts: { file: string; at: number }[] = [];
  return {
    push(line) {
      const text = line.replace(/\x1b\[[0-9;]*m/g, '').trim();
      if (/^\S+\.test\.m?js$/.test(text)) starts.push({ file: text, at: now() });
    },
    summary(count) {
      if (starts.length === 0) return '';
      const end = now();
      const seconds = starts.map(({ file, at }, i) => ({ file, seconds: ((starts[i + 1]?.at ?? end) - at) / 1000 }));
      const slowest = seconds.sort((a, b) => b.seconds - a.seconds).slice(0, count);
      const total = (end - starts[0]!.at) / 1000;
      return `\n  Slowest files (of ${starts.length}, ${total.toFixed(0)} s from the first test):\n${slowest
        .map((entry) => `  ${entry.seconds.toFixed(1).padStart(7)} s  ${entry.file}\n`)
        .join('')}`;
    },
  };
}
