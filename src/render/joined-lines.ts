/**
 * Many items as template-ready lines in one string: `prefix item suffix` a
 * line (`lastSuffix` on the last), every line ending in a newline ('' for no
 * items). A template writes it as `{{field}}` at the start of a line where
 * it would otherwise iterate `{{#each}}` over the lines: a 100,000-address
 * set was 100,000 line strings and as many Handlebars iterations (each a
 * frame object and a string concatenation), which made rendering a
 * 50,000-node cluster cost several times its output in memory.
 */
export function joinedLines(items: readonly string[], prefix = '', suffix = '', lastSuffix = suffix): string {
  if (items.length === 0) return '';
  return `${prefix}${items.join(`${suffix}\n${prefix}`)}${lastSuffix}\n`;
}

/** The lines of a text joinedLines made without prefix or suffix: back to the list, for the list fields kept beside the text. */
export function splitJoinedLines(text: string): string[] {
  return text === '' ? [] : text.slice(0, -1).split('\n');
}
