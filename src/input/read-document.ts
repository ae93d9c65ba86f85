import * as JsYaml from 'js-yaml';
import * as Yaml from 'yaml';
import { KubewallError, type KubewallErrorCode } from '../errors.js';

/** A parsed YAML/JSON file that can still say where each value came from. */
export interface SourceDocument {
  readonly file: string;
  readonly data: unknown;
  /** The text the data was read from (absent for documents built in code). */
  readonly text?: string;
  /** `file:line:col` for a path inside the document, or just `file`. */
  locate(path: readonly PropertyKey[]): string;
  /** `file:line:col` of a key inside the mapping at `path`. */
  locateKey(path: readonly PropertyKey[], key: string): string;
}

interface Positions {
  readonly doc: Yaml.Document;
  readonly lineCounter: Yaml.LineCounter;
}

function parseWithPositions(text: string, file: string, code: KubewallErrorCode): Positions {
  const { LineCounter, parseDocument } = Yaml;
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const first = doc.errors[0];
  if (first) {
    const pos = lineCounter.linePos(first.pos[0]);
    const detail = first.message.split('\n')[0];
    throw new KubewallError(code, `${file}:${pos.line}:${pos.col}: malformed YAML: ${detail}`, { cause: first });
  }
  return { doc, lineCounter };
}

/**
 * A JSON string token, escapes included. Outside strings JSON has no quote,
 * so scanning from the start meets each string token exactly once, whole.
 */
const JSON_STRING = /"[^"\\]*(?:\\.[^"\\]*)*"/g;

/**
 * Keys written in a JSON text that JSON.parse accepted: the string tokens
 * followed by a colon. `test` and a look at the next character, not `exec`:
 * no match array per string, which made a cold 50,000-node count ten times
 * slower.
 */
function countKeyTokens(text: string): number {
  JSON_STRING.lastIndex = 0;
  let count = 0;
  while (JSON_STRING.test(text)) {
    let at = JSON_STRING.lastIndex;
    let c = text.charCodeAt(at);
    while (c === 32 || c === 10 || c === 13 || c === 9) c = text.charCodeAt(++at);
    if (c === 58 /* : */) count++;
  }
  return count;
}

/**
 * Keys of every object in parsed JSON data. A loop over a stack, not
 * recursion: cold (as in every CLI run) it took a third of the time. for…in
 * also counts an inherited enumerable key, which only makes the counts
 * differ, and the document then goes to the yaml library.
 */
function countKeys(data: unknown): number {
  let count = 0;
  const stack: unknown[] = [data];
  while (stack.length > 0) {
    const value = stack.pop();
    if (typeof value !== 'object' || value === null) continue;
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) stack.push(value[i]);
      continue;
    }
    for (const key in value) {
      count++;
      stack.push((value as Record<string, unknown>)[key]);
    }
  }
  return count;
}

/**
 * True when some object in the JSON text names a key twice: JSON.parse keeps
 * the last of them, so its objects hold fewer keys than the text writes
 * (equal keys spelled differently, "a" and "\u0061", count as one there too).
 * The yaml library then refuses the duplicate with its line and column.
 * Counting costs a 50,000-node file about 40 ms cold, a fifth of what
 * walking it with a JSON scanner (jsonc-parser) did.
 */
function hasDuplicateJsonKey(text: string, data: unknown): boolean {
  return countKeyTokens(text) !== countKeys(data);
}

/**
 * The document's data from a parser that keeps no positions, or undefined
 * when only the full parser may decide. The yaml library composes a
 * position-keeping document for every node, which cost a 5,000-node cluster
 * file most of a render; positions are only needed for a message, and
 * `locate` builds them then. JSON.parse (with a count of keys to refuse
 * duplicates) and js-yaml's YAML 1.2 core schema read the common
 * case. Everything else goes to the yaml library, whose answer stands:
 * every error (so each message keeps its file:line:col), duplicate keys,
 * anchors and aliases (its alias-bomb guard), tags, several documents, an
 * empty file. test/input/read-document.test.ts holds both paths to the same
 * data.
 */
export function parseWithoutPositions(text: string): unknown {
  try {
    const first = /\S/.exec(text)?.[0];
    if (first === '{' || first === '[') {
      const data: unknown = JSON.parse(text);
      return hasDuplicateJsonKey(text, data) ? undefined : data;
    }
    if (/[&*!]/.test(text)) return undefined;
    const data: unknown = JsYaml.load(text, { schema: JsYaml.CORE_SCHEMA });
    return data === undefined || data === null ? undefined : data;
  } catch {
    return undefined;
  }
}

/**
 * Parses YAML, or JSON (which is YAML too), with positions for messages and
 * duplicate keys refused in both.
 */
export function parseSourceDocument(text: string, file: string, code: KubewallErrorCode): SourceDocument {
  let positions: Positions | undefined;
  let data = parseWithoutPositions(text);
  // JSON.parse alone keeps the last of two equal keys (a second
  // adminNetworks: ["0.0.0.0/0"] would silently win): both paths refuse them.
  if (data === undefined) {
    try {
      positions = parseWithPositions(text, file, code);
      data = positions.doc.toJS({ maxAliasCount: 100 });
    } catch (error) {
      if (error instanceof KubewallError) throw error;
      // The yaml library's guard against alias bombs (billion laughs) throws a ReferenceError;
      // nesting thousands deep overflows its recursive reader (RangeError).
      const why = error instanceof RangeError ? 'nested too deeply' : `${(error as Error).message.split('\n')[0]} (YAML aliases may expand to at most 100 nodes each)`;
      throw new KubewallError(code, `${file}: refused: ${why}`, { cause: error });
    }
  }
  const at = () => (positions ??= parseWithPositions(text, file, code));
  const where = (offset: number) => {
    const pos = at().lineCounter.linePos(offset);
    return `${file}:${pos.line}:${pos.col}`;
  };
  const document: SourceDocument = {
    file,
    data,
    text,
    locate(path) {
      const { doc } = at();
      for (let depth = path.length; depth > 0; depth--) {
        const node = doc.getIn(path.slice(0, depth) as unknown[], true) as { range?: [number, number, number] } | undefined;
        if (node && typeof node === 'object' && node.range) return where(node.range[0]);
      }
      return file;
    },
    locateKey(path, key) {
      const { doc } = at();
      const { isMap, isScalar } = Yaml;
      const map = path.length === 0 ? doc.contents : doc.getIn(path as unknown[], true);
      if (isMap(map)) {
        const pair = map.items.find((item) => isScalar(item.key) && item.key.value === key);
        const range = pair && isScalar(pair.key) ? pair.key.range : undefined;
        if (range) return where(range[0]);
      }
      return document.locate(path);
    },
  };
  return document;
}
