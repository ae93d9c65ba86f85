/** Quoting for the grammars the fleet formats write: POSIX sh, YAML, heredocs. */

const SAFE_SH_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** One sh word: left bare when it is plainly safe, else single-quoted. */
export function shQuote(word: string): string {
  if (SAFE_SH_WORD.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

// What a YAML double-quoted scalar must escape beyond what JSON.stringify does,
// for the parser on the host: PyYAML (cloud-init, Ansible) is YAML 1.1, where
// U+0085, U+2028 and U+2029 are line breaks (a raw one in a scalar or comment
// starts a new line: a top-level key), and it refuses DEL, C1, U+FFFE/U+FFFF
// and lone surrogates anywhere in the stream.
// eslint-disable-next-line no-control-regex
const YAML_UNSAFE = /[\u007f-\u009f\u2028\u2029\ufeff\ufffe\uffff\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]|[\ud800-\udfff]/gu;

/**
 * A YAML double-quoted scalar that reads back as `text` under YAML 1.1
 * (PyYAML) and 1.2 alike: JSON's escapes plus `\uNNNN` for line separators,
 * C1, bidi marks and anything PyYAML would refuse. The one place text enters
 * the YAML kubewall writes.
 */
export function yamlString(text: string): string {
  // JSON.stringify has already escaped lone surrogates; paired ones (emoji) stay as they are.
  return JSON.stringify(text).replace(YAML_UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * A string from an inventory or cluster file in Ansible YAML: `!unsafe` makes
 * Ansible treat it as data, never as a Jinja template (`{{ lookup('pipe', …) }}`
 * in a group name would otherwise run on the controller).
 */
export function ansibleString(text: string): string {
  return `!unsafe ${yamlString(text)}`;
}

/** True when `text` can go into a YAML literal block as is (PyYAML would not read a line break or refuse a character there). */
function fitsLiteralBlock(text: string): boolean {
  // eslint-disable-next-line no-control-regex
  return !/[\u0000-\u0008\u000b-\u001f]/.test(text) && !new RegExp(YAML_UNSAFE.source, 'u').test(text);
}

/** A heredoc delimiter that no line of `content` equals. */
export function heredocDelimiter(base: string, content: string): string {
  const lines = new Set(content.split('\n'));
  let delimiter = base;
  for (let n = 2; lines.has(delimiter); n++) delimiter = `${base}_${n}`;
  return delimiter;
}

/**
 * A YAML scalar for `text` whose body is indented by `indent` spaces: a
 * literal block (`|` keeps one final newline, `|+` several, `|-` none) that
 * reads like the file it holds, or a double-quoted string where a block
 * cannot hold the text (a leading space, control characters).
 */
export function yamlScalar(text: string, indent: number): { header: string; lines: string[] } {
  if (/^[ \n]/.test(text) || !fitsLiteralBlock(text)) return { header: yamlString(text), lines: [] };
  const trailing = /\n*$/.exec(text)![0].length;
  const chomp = trailing === 0 ? '-' : trailing === 1 ? '' : '+';
  const body = text.slice(0, text.length - trailing);
  const pad = ' '.repeat(indent);
  const lines = body.split('\n').map((line) => (line === '' ? '' : `${pad}${line}`));
  for (let i = 1; i < trailing; i++) lines.push('');
  return { header: `|${chomp}`, lines };
}

/** File modes as Ansible, cloud-init and chmod want them: `0644`. */
export function octalMode(mode: number): string {
  return `0${mode.toString(8).padStart(3, '0')}`;
}
