/**
 * Seeded hostile strings for the input-safety tests. A small generator of
 * our own rather than fast-check: the tests need one fixed, reproducible
 * sample per run (validators are slow, so cases are batched and few), no
 * shrinking, and no new dependency; a failure prints the seed and the case.
 */

/** mulberry32: a tiny, well-known 32-bit PRNG; the same seed gives the same sequence everywhere. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Pieces that break out of some grammar kubewall writes: shell, YAML 1.1, Jinja, nft, XML, terminals. */
export const HOSTILE_PIECES: readonly string[] = [
  '"', "'", '`', '\\', '$', '$(touch CANARY)', '`touch CANARY`', '${IFS}', ';', '&&', '|', '\n', '\r', '\r\n', '\t',
  '{{', '}}', "{{ lookup('pipe', 'touch CANARY') }}", '{% raw %}', '{% endraw %}', '{#', '%', '%s', '%n',
  '\u0000', '\u0007', '\u001b', '\u001b[31m', '\u001b]0;title\u0007', '\u007f', '\u0080', '\u0085', '\u009b', '\u009f',
  '\u2028', '\u2029', '\u200e', '\u200f', '\u202e', '\u2066', '\u2069', '\u061c', '\ufeff', '\ufffd',
  '\nbootcmd: [touch CANARY]\n', '\u0085bootcmd: [touch CANARY]', '\u2028runcmd: [touch CANARY]', '\n- hosts: all\n',
  ': ', '- ', '#', '&a', '*a', '!!python/object', '---', '...', '<', '>', '&', '&amp;', ']]>', '<!--', '-->',
  'comment "x"', '}; flush ruleset; {', '\\x85', 'é', '日本', '😀', ' ', '  ',
];

const PLAIN = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .-_/';

/** Hostile text of up to `maxPieces` pieces, never empty and never only whitespace (schemas want non-empty strings). */
export function hostileString(random: () => number, maxPieces = 8): string {
  const count = 1 + Math.floor(random() * maxPieces);
  let text = PLAIN[Math.floor(random() * 26)]!;
  for (let i = 0; i < count; i++) {
    text += random() < 0.7 ? HOSTILE_PIECES[Math.floor(random() * HOSTILE_PIECES.length)]! : PLAIN[Math.floor(random() * PLAIN.length)]!;
  }
  return text;
}

/** ~100 KB of hostile text: what a limit that is not there lets through. */
export function hugeHostileString(random: () => number): string {
  let text = '';
  while (text.length < 100_000) text += hostileString(random, 16);
  return text;
}

/** The characters no human-readable output may carry raw (tab and newline aside). */
// eslint-disable-next-line no-control-regex
export const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\u061c]/;
