// A fast reader for the plain YAML that cluster files are written in: block
// mappings and sequences, one-line flow sequences of scalars, plain scalars,
// comments. The `yaml` library builds a document with positions for every
// node, which cost a 50,000-node cluster file seconds; this reads it in tens
// of milliseconds. Anything outside that subset (anchors, tags, block or
// multi-line scalars, quotes with escapes, tabs, duplicate keys, odd
// indentation, numbers other than plain integers) returns undefined, and the
// caller parses with the `yaml` library, which stays the one judge of what a
// file means and of every error message.

/** Thrown inside the reader to give up; never escapes parsePlainYaml. */
const GIVE_UP = Symbol('not plain YAML');

interface Line {
  readonly indent: number;
  readonly text: string;
}

const KEY = /^[A-Za-z_][\w./-]*$/;
const PLAIN_INT = /^(?:0|[1-9]\d{0,14})$/;
/** Everything the YAML 1.2 core schema resolves to a number (or would, with a sign or a dot). */
const NUMBER_LIKE = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$|^0x[0-9a-fA-F]+$|^0o[0-7]+$|^[-+]?\.(?:inf|Inf|INF)$|^\.(?:nan|NaN|NAN)$/;
const NULL = /^(?:~|null|Null|NULL)$/;
const TRUE = /^(?:true|True|TRUE)$/;
const FALSE = /^(?:false|False|FALSE)$/;
/** A plain scalar may not start with an indicator (or '-', which the int check handles). */
const INDICATOR_START = /^[-?:,[\]{}#&*!|>'"%@`]/;

function giveUp(): never {
  throw GIVE_UP;
}

function scalar(text: string, flow: boolean): unknown {
  if (text === '' || NULL.test(text)) return null;
  if (TRUE.test(text)) return true;
  if (FALSE.test(text)) return false;
  if (PLAIN_INT.test(text)) return Number(text);
  if (NUMBER_LIKE.test(text)) giveUp();
  const quote = text[0];
  if (quote === '"' || quote === "'") {
    const body = text.slice(1, -1);
    if (text.length < 2 || text[text.length - 1] !== quote || body.includes(quote) || body.includes('\\')) giveUp();
    return body;
  }
  if (INDICATOR_START.test(text) || text.endsWith(':') || text.includes(': ') || text.includes(' #')) giveUp();
  if (flow && /[[\]{},]/.test(text)) giveUp();
  return text;
}

function value(text: string): unknown {
  if (text.startsWith('[')) {
    if (!text.endsWith(']')) giveUp();
    const body = text.slice(1, -1).trim();
    if (body === '') return [];
    return body.split(',').map((item) => {
      const trimmed = item.trim();
      if (trimmed === '') giveUp();
      return scalar(trimmed, true);
    });
  }
  if (text === '{}') return {};
  if (text.startsWith('{')) giveUp();
  return scalar(text, false);
}

/** Splits the text into lines without comments or blanks; undefined when a line needs the full parser. */
function readLines(text: string): Line[] {
  const lines: Line[] = [];
  for (const raw of text.split('\n')) {
    if (raw.includes('\t') || raw.includes('\r')) giveUp();
    let body = raw;
    const hash = raw.indexOf('#');
    if (hash !== -1 && raw.trimStart().startsWith('#')) continue;
    if (hash !== -1) {
      // A '#' inside quotes is text, not a comment: leave such lines to the full parser.
      if (raw.includes('"') || raw.includes("'")) giveUp();
      if (hash > 0 && raw[hash - 1] !== ' ') giveUp();
      body = raw.slice(0, hash);
    }
    const trimmed = body.trimEnd();
    const content = trimmed.trimStart();
    if (content === '') continue;
    if (content.startsWith('---') || content.startsWith('...') || content.startsWith('%')) giveUp();
    lines.push({ indent: trimmed.length - content.length, text: content });
  }
  return lines;
}

class Reader {
  private index = 0;
  constructor(private readonly lines: Line[]) {}

  done(): boolean {
    return this.index >= this.lines.length;
  }

  /** The block starting at the current line, which must be indented exactly `indent`. */
  block(indent: number): unknown {
    const line = this.lines[this.index]!;
    if (line.indent !== indent) giveUp();
    return line.text === '-' || line.text.startsWith('- ') ? this.sequence(indent) : this.mapping(indent, line.text);
  }

  private sequence(indent: number): unknown[] {
    const items: unknown[] = [];
    for (let line = this.lines[this.index]; line && line.indent === indent; line = this.lines[this.index]) {
      if (line.text !== '-' && !line.text.startsWith('- ')) break;
      const rest = line.text.slice(1).trimStart();
      if (rest === '') {
        this.index++;
        items.push(this.nested(indent, false));
      } else if (rest === '-' || rest.startsWith('- ')) {
        giveUp();
      } else if (this.isMappingEntry(rest)) {
        // `- key: value`: a mapping whose first key sits where `rest` starts.
        items.push(this.mapping(indent + line.text.length - rest.length, rest));
      } else {
        this.index++;
        items.push(value(rest));
      }
    }
    return items;
  }

  private isMappingEntry(text: string): boolean {
    const colon = text.indexOf(':');
    return colon > 0 && (colon === text.length - 1 || text[colon + 1] === ' ') && KEY.test(text.slice(0, colon));
  }

  /** A mapping at `indent`; the first line's text is `first` (it may follow a `- `). */
  private mapping(indent: number, first: string): Record<string, unknown> {
    const map: Record<string, unknown> = {};
    let text = first;
    for (;;) {
      const colon = text.indexOf(':');
      if (colon <= 0 || (colon !== text.length - 1 && text[colon + 1] !== ' ')) giveUp();
      const key = text.slice(0, colon);
      if (!KEY.test(key) || key === '__proto__' || NULL.test(key) || TRUE.test(key) || FALSE.test(key) || Object.hasOwn(map, key)) giveUp();
      const rest = text.slice(colon + 1).trim();
      this.index++;
      map[key] = rest === '' ? this.nested(indent, true) : value(rest);
      const next: Line | undefined = this.lines[this.index];
      if (!next || next.indent < indent) return map;
      if (next.indent > indent) giveUp();
      if (next.text === '-' || next.text.startsWith('- ')) {
        // A sequence item at the mapping's own indent ends a mapping nested in a sequence item.
        return map;
      }
      text = next.text;
    }
  }

  /** The value under a `key:` or `-` with nothing after it: a deeper block, a same-indent sequence (keys only), or null. */
  private nested(indent: number, sameIndentSequence: boolean): unknown {
    const next = this.lines[this.index];
    if (!next || next.indent < indent) return null;
    if (next.indent > indent) return this.block(next.indent);
    if (sameIndentSequence && (next.text === '-' || next.text.startsWith('- '))) return this.sequence(indent);
    return null;
  }
}

/**
 * The data of a plain block-style YAML document, or undefined when the text
 * uses anything beyond that subset (the caller then uses the full parser).
 */
export function parsePlainYaml(text: string): { data: unknown } | undefined {
  try {
    const lines = readLines(text);
    if (lines.length === 0 || lines[0]!.indent !== 0) return undefined;
    const reader = new Reader(lines);
    const data = reader.block(0);
    return reader.done() ? { data } : undefined;
  } catch (error) {
    if (error === GIVE_UP) return undefined;
    throw error;
  }
}
