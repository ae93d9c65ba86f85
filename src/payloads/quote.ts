/** Quoting for the grammars the fleet formats write: POSIX sh, YAML, heredocs. */

const SAFE_SH_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** One sh word: left bare when it is plainly safe, else single-quoted. */
export function shQuote(word: string): string {
  if (SAFE_SH_WORD.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** A YAML double-quoted scalar (JSON strings are valid YAML). */
export function yamlString(text: string): string {
  return JSON.stringify(text);
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
  // eslint-disable-next-line no-control-regex
  if (/^[ \n]/.test(text) || /[\u0000-\u0008\u000b-\u001f\u007f\u2028\u2029]/.test(text)) return { header: yamlString(text), lines: [] };
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
