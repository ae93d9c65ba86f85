/**
 * Escaping for the two grammars the firewalld backend writes: POSIX sh (the
 * `firewall-cmd` script) and XML (firewalld's permanent configuration).
 */

/** Characters XML 1.0 cannot hold at all, line breaks that would end a comment line (U+0085 in YAML 1.1), C1 and bidi marks. */
// eslint-disable-next-line no-control-regex
const NOT_ONE_LINE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Quotes one word for a POSIX shell: single quotes, with `'` written as `'\''`. */
export function quoteSh(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** Text for one `# ...` line of a shell script: nothing that ends the line. */
export function shCommentText(text: string): string {
  return text.replace(NOT_ONE_LINE, ' ');
}

/** Element text and attribute values (always written in double quotes). */
export function escapeXml(text: string): string {
  return text
    .replace(NOT_ONE_LINE, ' ')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/**
 * Text inside `<!-- ... -->`: XML forbids `--` in a comment and a `-` right
 * before its end, and entities are not expanded there, so they are broken up.
 */
export function xmlCommentText(text: string): string {
  let safe = text.replace(NOT_ONE_LINE, ' ');
  while (safe.includes('--')) safe = safe.replace(/--/g, '- -');
  return safe.endsWith('-') ? `${safe} ` : safe;
}

/**
 * Zone and ipset names come from fixed words, but a wrong one must never
 * reach a shell or an XML file name. firewalld caps zone names at 17
 * characters; kernel ipset names (iptables backend) at 31.
 */
export function assertFirewalldName(name: string, kind: 'zone' | 'ipset'): string {
  const max = kind === 'zone' ? 17 : 31;
  if (!/^[a-z][a-z0-9-]*$/.test(name) || name.length > max) {
    throw new Error(`not a safe firewalld ${kind} name (lowercase, digits and -, at most ${max} characters): ${JSON.stringify(name)}`);
  }
  return name;
}
