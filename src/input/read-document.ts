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
 * Every string token of a JSON text, with the colon after it when it is a
 * key. Outside strings JSON has no quote, so scanning from the start meets
 * each string token exactly once, whole (escapes included).
 */
const JSON_STRING_TOKEN = /"[^"\\]*(?:\\.[^"\\]*)*"([ \t\n\r]*:)?/g;

/** Keys written in a JSON text that JSON.parse accepted. */
function countKeyTokens(text: string): number {
  JSON_STRING_TOKEN.lastIndex = 0;
  let count = 0;
  for (let match = JSON_STRING_TOKEN.exec(text); match !== null; match = JSON_STRING_TOKEN.exec(text)) {
    if (match[1] !== undefined) count++;
  }
  return count;
}

/** Own keys of every object in parsed JSON data. */
function countKeys(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0;
  let count = 0;
  if (Array.isArray(value)) {
    for (const item of value) count += countKeys(item);
    return count;
  }
  for (const key of Object.keys(value)) count += 1 + countKeys((value as Record<string, unknown>)[key]);
  return count;
}

/**
 * True when some object in the JSON text names a key twice: JSON.parse keeps
 * the last of them, so its objects hold fewer keys than the text writes
 * (equal keys spelled differently, "a" and "\u0061", count as one there too).
 * The yaml library then refuses the duplicate with its line and column.
 * Counting costs a 50,000-node file about 30 ms, a quarter of what walking
 * it with a JSON scanner (jsonc-parser) did.
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
