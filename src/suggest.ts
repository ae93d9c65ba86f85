/** Levenshtein distance, for "did you mean" hints. */
function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = current;
    }
  }
  return row[b.length]!;
}

/** The candidate a mistyped word most likely meant: within a few edits, else undefined. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const best = candidates.map((c) => ({ c, d: editDistance(word.toLowerCase(), c.toLowerCase()) })).sort((x, y) => x.d - y.d)[0];
  return best && best.d <= Math.max(2, Math.floor(word.length / 3)) ? best.c : undefined;
}

/**
 * What to suggest for an unknown value: a known alias (`master` is kubewall's
 * control-plane), the only candidate the word begins (`nft` → nftables), else
 * the closest by edits (`wroker` → worker).
 */
export function suggestValue(word: string, candidates: readonly string[], aliases: Readonly<Record<string, string>> = {}): string | undefined {
  const lower = word.toLowerCase();
  if (Object.hasOwn(aliases, lower) && candidates.includes(aliases[lower]!)) return aliases[lower];
  const prefixed = lower.length >= 2 ? candidates.filter((c) => c.toLowerCase().startsWith(lower)) : [];
  if (prefixed.length === 1) return prefixed[0];
  // Two letters are too few to guess from: "pf" is two edits from ufw.
  return lower.length >= 3 ? closest(word, candidates) : undefined;
}

/** `unknown value "x" (did you mean "y"? expected a, b, c)`: the one shape every unknown value takes. */
export function unknownValueMessage(what: string, word: string, candidates: readonly string[], aliases?: Readonly<Record<string, string>>): string {
  const suggestion = suggestValue(word, candidates, aliases);
  return `unknown ${what} ${JSON.stringify(word)} (${suggestion ? `did you mean "${suggestion}"? ` : ''}expected ${candidates.join(', ')})`;
}
