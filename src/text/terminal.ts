/**
 * Text for a human's terminal. Catalogue fragments, file names, inventory
 * host names and object names read from a kernel can hold ESC, BEL, CR and
 * other controls that would move the cursor, recolour or hide the rest of a
 * line, and bidi marks that reorder it; they are shown as `\xNN`/`\uNNNN`
 * instead, so what is printed is what the input says.
 */

// C0 but tab and newline, DEL, C1, the Unicode line/paragraph separators,
// bidi embeddings/overrides/isolates/marks, BOM, and lone surrogates.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

function escapeOne(c: string): string {
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** Escapes controls visibly; newlines (and tabs) stay, for multi-line output. */
export function escapeTerminal(text: string): string {
  return text.replace(UNSAFE, escapeOne);
}

/** One line for a terminal: newlines escaped too. */
export function escapeTerminalLine(text: string): string {
  return escapeTerminal(text).replace(/[\n\t]/g, (c) => (c === '\n' ? '\\n' : '\\t'));
}

/** How long a quoted value in a message may get before it is cut. */
export const MAX_SHOWN_VALUE = 80;

/**
 * A value as a message shows it: JSON-quoted, controls escaped, cut to a
 * readable length (a 100 KB address must not make a 100 KB error line).
 */
export function showValue(value: unknown, max = MAX_SHOWN_VALUE): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  const cut = text.length > max ? `${text.slice(0, max)}` : text;
  const quoted = typeof value === 'string' ? escapeTerminalLine(JSON.stringify(cut)) : escapeTerminalLine(cut);
  return text.length > max ? `${quoted}… (${text.length} characters)` : quoted;
}

/**
 * A copy of `value` with every string escaped for one terminal line, for
 * human-readable output built from data (tables, diffs) at the CLI's edge:
 * escaping the data before it is laid out keeps the columns aligned.
 */
export function escapeStringsDeep<T>(value: T): T {
  if (typeof value === 'string') return escapeTerminalLine(value) as T;
  if (Array.isArray(value)) return value.map((item: unknown) => escapeStringsDeep(item)) as T;
  if (value instanceof Map) return new Map([...value].map(([k, v]) => [escapeStringsDeep(k), escapeStringsDeep(v)])) as T;
  if (value instanceof Set) return new Set([...value].map((v) => escapeStringsDeep(v))) as T;
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = escapeStringsDeep(v);
    return out as T;
  }
  return value;
}

/** JSON for a terminal: JSON.stringify escapes C0 but not C1, U+2028 or bidi marks; `\uNNNN` is valid JSON for those. */
export function escapeJsonText(json: string): string {
  return json.replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
