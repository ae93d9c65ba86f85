/**
 * Finding the top-level items of `nft -j list ruleset` without parsing the
 * whole dump (a kube-proxy host's is 60 MB), and marking those worth
 * parsing. What the items mean is parse.ts's job.
 */
import type { ReadDumpBytes } from '../../host/saved-dump.js';
import { NFT_TABLE } from './view.js';

/** Hooks where another table's drop defeats kubewall's accepts (a drop anywhere on a hook wins). */
export const SHADOWING_HOOKS = new Set(['input', 'prerouting']);

export type Json = unknown;
export type JsonObject = Record<string, Json>;

export function isObject(value: Json): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** One top-level item of `nft -j list ruleset`: `{"rule": {...}}`, its kind and its text. */
export interface Item {
  readonly kind: string;
  readonly start: number;
  readonly end: number;
}

export class NftJsonError extends Error {}

/** Top-level kinds; nft writes each as `{"<kind>": {"family": "...` (compact), and no nested statement of these kinds so. */
const ITEM_KINDS = new Set(['table', 'chain', 'rule', 'set', 'map', 'element', 'flowtable', 'counter', 'quota', 'limit', 'ct helper', 'ct timeout', 'ct expectation', 'synproxy', 'secmark']);
const FAMILY_KEY = '{"family": "';

function isSpace(c: number): boolean {
  return c === 32 || c === 10 || c === 13 || c === 9;
}

/** Words that make an item worth parsing: ours, a base chain, ufw's chains, a drop. */
export const MARK = { ours: 1, hook: 2, ufw: 4, drop: 8 } as const;
const MARK_WORDS = /kubewall"|hook"|ufw|drop"|reject"/g;

/**
 * Marks the items that contain one of `MARK_WORDS`, in one regular
 * expression pass over the whole dump instead of searches per item (items
 * are sorted and disjoint). A mark only says "parse this"; the parsed item
 * is checked again.
 */
export function markItems(text: string, items: readonly Item[]): Uint8Array {
  const marks = new Uint8Array(items.length);
  let k = 0;
  MARK_WORDS.lastIndex = 0;
  for (let m = MARK_WORDS.exec(text); m && k < items.length; m = MARK_WORDS.exec(text)) {
    while (k < items.length && items[k]!.end <= m.index) k++;
    if (k === items.length || items[k]!.start > m.index) continue;
    const word = m[0];
    marks[k]! |= word === 'kubewall"' ? MARK.ours : word === 'hook"' ? MARK.hook : word === 'ufw' ? MARK.ufw : MARK.drop;
  }
  return marks;
}

/**
 * The fast path for large dumps: item starts found with indexOf on nft's
 * compact `{"family": "` instead of walking every character. Exact for nft's
 * output: a JSON string cannot hold an unescaped quote, so the needle only
 * matches structure; a nested statement with a family (dnat) is told apart
 * by its key. Returns undefined when the text does not look like that
 * (pretty-printed, another writer), and the careful scanner runs instead.
 */
export function findNftItemsFast(text: string, head: number): Item[] | undefined {
  const tail = /\]\s*\}\s*$/.exec(text.slice(-64));
  if (!tail) return undefined;
  const end = text.length - 64 + tail.index;
  const starts: { start: number; kind: string }[] = [];
  for (let p = text.indexOf(FAMILY_KEY, head); p !== -1; p = text.indexOf(FAMILY_KEY, p + FAMILY_KEY.length)) {
    // Preceded by `{"<kind>": ` with a top-level kind, or it is a nested statement (dnat).
    if (text.charCodeAt(p - 1) !== 32 || text.charCodeAt(p - 2) !== 58 || text.charCodeAt(p - 3) !== 34) continue;
    const open = text.lastIndexOf('"', p - 4);
    const kind = text.slice(open + 1, p - 3);
    if (open > head && text.charCodeAt(open - 1) === 123 && ITEM_KINDS.has(kind)) starts.push({ start: open - 1, kind });
  }
  if (starts.length === 0) return undefined;
  const items: Item[] = [];
  // Whatever precedes the first item (metainfo) is small: the careful scanner reads it.
  const prefix = text.slice(head, starts[0]!.start).replace(/,\s*$/, '');
  if (/\S/.test(prefix)) {
    const shift = head - '{"nftables": ['.length;
    items.push(...scanNftItems(`{"nftables": [${prefix}]}`).map((item) => ({ kind: item.kind, start: item.start + shift, end: item.end + shift })));
  }
  for (let k = 0; k < starts.length; k++) {
    const last = k + 1 === starts.length;
    let stop = last ? end : starts[k + 1]!.start;
    // Between two items only `}`, `,` and whitespace; before the closing `]` only `}` and whitespace.
    while (stop > 0 && isSpace(text.charCodeAt(stop - 1))) stop--;
    if (!last) {
      if (text[stop - 1] !== ',') return undefined;
      stop--;
      while (isSpace(text.charCodeAt(stop - 1))) stop--;
    }
    if (text[stop - 1] !== '}') return undefined;
    items.push({ kind: starts[k]!.kind, start: starts[k]!.start, end: stop });
  }
  return items;
}

/** Where a top-level item starts if `{"family": "` at `p` opens one (see findNftItemsFast). */
function itemStartAt(text: string, p: number, head: number): { start: number; kind: string } | undefined {
  if (text.charCodeAt(p - 1) !== 32 || text.charCodeAt(p - 2) !== 58 || text.charCodeAt(p - 3) !== 34) return undefined;
  const open = text.lastIndexOf('"', p - 4);
  const kind = text.slice(open + 1, p - 3);
  return open > head && text.charCodeAt(open - 1) === 123 && ITEM_KINDS.has(kind) ? { start: open - 1, kind } : undefined;
}

/**
 * What the sparse finder looks for across the whole dump, with the mark each
 * gives its item. Drops are not searched for everywhere: only a drop in a
 * base chain on a shadowing hook matters, so once those chains are known,
 * their rules are found by their own (long, fast to search) opening.
 */
const SPARSE_NEEDLES: ReadonlyArray<readonly [string, number]> = [
  // Short needles with a rare first letter are the fastest for V8's indexOf
  // (~10 ms per 60 MB, against 30-50 ms for longer ones): a hit only says
  // "parse this item", and the parse checks again. Tables matter only as
  // firewalld's (and ours, which `kubewa` finds).
  ['kubewa', MARK.ours],
  ['hook"', MARK.hook],
  ['ufw', MARK.ufw],
  ['firewa', 0],
];

/** How nft opens each rule of one chain: `{"rule": {"family": "ip", "table": "filter", "chain": "INPUT", `. */
function ruleOpening(chain: JsonObject): string {
  return `{"rule": {"family": ${JSON.stringify(chain['family'])}, "table": ${JSON.stringify(chain['table'])}, "chain": ${JSON.stringify(chain['name'])}, `;
}

/**
 * The path for large dumps (a kube-proxy host's is 60 MB): only the items
 * kubewall reads at all are located — tables, items holding one of the
 * `SPARSE_NEEDLES`, and the rules of other tables' base chains on a
 * shadowing hook — each from one hit of indexOf: back to the
 * `{"<kind>": {"family": "` that opens its item, forward to the next one.
 * Nothing is allocated for the hundreds of thousands of other items, and
 * the parse that follows reaches the same result as the full scan (the
 * tests hold them to it). The dump is checked at both ends, every item
 * located is parsed in full, and text that does not look like nft's compact
 * output returns undefined so the full scan runs instead.
 */
export function findMarkedItemsSparse(text: string): { items: Item[]; marks: number[] } | undefined {
  const headMatch = /^\s*\{\s*"nftables"\s*:\s*\[/.exec(text);
  const tail = /\]\s*\}\s*$/.exec(text.slice(-64));
  if (!headMatch || !tail) return undefined;
  const head = headMatch[0].length;
  const end = text.length - 64 + tail.index;
  // nft's compact form opens every item with `{"<kind>": {"family": "`; pretty-printed text has none.
  const first = text.indexOf(FAMILY_KEY, head);
  if (first === -1 || !itemStartAt(text, first, head)) return undefined;
  const byStart = new Map<number, { item: Item; mark: number }>();
  /** Locates the item around `at` and marks it; false when the text is not nft's compact form. */
  const locate = (at: number, mark: number, opensItem: boolean): boolean => {
    // A needle that opens an item (a rule's opening) starts it; a word sits inside one, after its opening.
    let opening: { start: number; kind: string } | undefined;
    let openingKey = text.lastIndexOf(FAMILY_KEY, opensItem ? at + FAMILY_KEY.length + 16 : at);
    for (; openingKey > head; openingKey = text.lastIndexOf(FAMILY_KEY, openingKey - 1)) {
      opening = itemStartAt(text, openingKey, head);
      if (opening) break;
    }
    if (!opening) return false; // not nft's compact form (or a word in the metainfo): the full scan decides
    const known = byStart.get(opening.start);
    if (known) {
      known.mark |= mark;
      return true;
    }
    let next: { start: number; kind: string } | undefined;
    for (let p = text.indexOf(FAMILY_KEY, openingKey + FAMILY_KEY.length); p !== -1 && p < end && !next; p = text.indexOf(FAMILY_KEY, p + FAMILY_KEY.length)) {
      next = itemStartAt(text, p, head);
    }
    let stop = next ? next.start : end;
    while (stop > 0 && isSpace(text.charCodeAt(stop - 1))) stop--;
    if (next) {
      if (text[stop - 1] !== ',') return false;
      stop--;
      while (isSpace(text.charCodeAt(stop - 1))) stop--;
    }
    if (text[stop - 1] !== '}') return false;
    byStart.set(opening.start, { item: { kind: opening.kind, start: opening.start, end: stop }, mark });
    return true;
  };
  const findAll = (needle: string, mark: number, opensItem: boolean): boolean => {
    for (let at = text.indexOf(needle, head); at !== -1 && at < end; at = text.indexOf(needle, at + needle.length)) {
      if (!locate(at, mark, opensItem)) return false;
    }
    return true;
  };
  for (const [needle, mark] of SPARSE_NEEDLES) if (!findAll(needle, mark, false)) return undefined;
  // Other tables' filter chains on a shadowing hook: their drops and rejects are what parseItems counts.
  for (const { item, mark } of [...byStart.values()]) {
    if (item.kind !== 'chain' || (mark & MARK.hook) === 0) continue;
    const chain = parseItem(text, item);
    if (chain['family'] === NFT_TABLE.family && chain['table'] === NFT_TABLE.name) continue; // ours: already marked
    if (chain['type'] !== 'filter' || typeof chain['hook'] !== 'string' || !SHADOWING_HOOKS.has(chain['hook'])) continue;
    if (!findAll(ruleOpening(chain), MARK.drop, true)) return undefined;
  }
  const located = [...byStart.values()].sort((a, b) => a.item.start - b.item.start);
  return { items: located.map((l) => l.item), marks: located.map((l) => l.mark) };
}

/**
 * Finds the items of `{"nftables": [ ... ]}` without parsing them: a host
 * with kube-proxy has tens of thousands of rules kubewall only needs to skip.
 * Strings are honoured, so braces inside comments cannot mislead it.
 */
export function findNftItems(text: string): Item[] {
  const head = /^\s*\{\s*"nftables"\s*:\s*\[/.exec(text);
  if (!head) throw new NftJsonError('expected {"nftables": [...]} (the output of nft -j list ruleset)');
  return (text.length > 1 << 20 ? findNftItemsFast(text, head[0].length) : undefined) ?? scanNftItems(text);
}

/** The careful scanner: walks the text, honouring strings, so braces inside comments cannot mislead it. */
export function scanNftItems(text: string): Item[] {
  const head = /^\s*\{\s*"nftables"\s*:\s*\[/.exec(text);
  if (!head) throw new NftJsonError('expected {"nftables": [...]} (the output of nft -j list ruleset)');
  const items: Item[] = [];
  let i = head[0].length;
  const n = text.length;
  const skipWhitespace = () => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 32 || c === 10 || c === 13 || c === 9) i++;
      else break;
    }
  };
  for (;;) {
    skipWhitespace();
    if (text.charCodeAt(i) === 93 /* ] */) {
      i++;
      break;
    }
    if (text.charCodeAt(i) !== 123 /* { */) throw new NftJsonError(`expected an object at offset ${i}`);
    const start = i;
    const keyMatch = /^\{\s*"([a-z_]+)"/.exec(text.slice(i, i + 40));
    let depth = 0;
    for (; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c === 34 /* " */) {
        let close = text.indexOf('"', i + 1);
        // A quote preceded by an odd number of backslashes is escaped.
        for (;;) {
          if (close === -1) throw new NftJsonError('unterminated string (truncated output?)');
          let backslashes = 0;
          while (text.charCodeAt(close - 1 - backslashes) === 92) backslashes++;
          if (backslashes % 2 === 0) break;
          close = text.indexOf('"', close + 1);
        }
        i = close;
      } else if (c === 123 || c === 91) depth++;
      else if (c === 125 || c === 93) {
        depth--;
        if (depth === 0) break;
      }
    }
    if (depth !== 0) throw new NftJsonError('unbalanced brackets (truncated output?)');
    i++;
    items.push({ kind: keyMatch?.[1] ?? '', start, end: i });
    skipWhitespace();
    const c = text.charCodeAt(i);
    if (c === 44 /* , */) i++;
    else if (c !== 93) throw new NftJsonError(`expected "," or "]" at offset ${i}`);
  }
  skipWhitespace();
  if (text.charCodeAt(i) !== 125) throw new NftJsonError('expected "}" after the item list (truncated output?)');
  i++;
  skipWhitespace();
  if (i !== n) throw new NftJsonError(`unexpected text after the JSON document at offset ${i}`);
  return items;
}

export function parseItem(text: string, item: Item): JsonObject {
  const value = JSON.parse(text.slice(item.start, item.end)) as Json;
  const body = isObject(value) ? value[item.kind] : undefined;
  if (!isObject(body)) throw new NftJsonError(`item at offset ${item.start} is not {"${item.kind}": {...}}`);
  return body;
}

/** The window a saved dump is read through: large enough that an item (kubewall's sets included) fits, or it grows. */
export const DUMP_WINDOW_BYTES = 8 << 20;
const MAX_WINDOW_BYTES = 1 << 30;

/** `itemStartAt` on bytes: where the item opened by `{"family": "` at `p` starts, if it starts at or after `low`. */
function itemStartInBytes(bytes: Buffer, p: number, low: number): { start: number; kind: string } | undefined {
  if (bytes[p - 1] !== 32 || bytes[p - 2] !== 58 || bytes[p - 3] !== 34) return undefined;
  const open = bytes.lastIndexOf(34, p - 4);
  if (open < 1 || open - 1 < low || bytes[open - 1] !== 123) return undefined;
  const kind = bytes.toString('latin1', open + 1, p - 3);
  return ITEM_KINDS.has(kind) ? { start: open - 1, kind } : undefined;
}

interface Needle {
  readonly text: string;
  readonly mark: number;
  /** The needle is an item's opening (a rule's `{"rule": {"family": ...`), not a word inside one. */
  readonly opensItem: boolean;
}

/**
 * `findMarkedItemsSparse` for a saved dump read through a fixed window
 * instead of held whole: a kube-proxy host's 61 MB dump cost `diff --from`
 * more to read into memory and decode than everything else (each new
 * megabyte of memory is slow to touch on some machines). The window holds
 * whole items only: what follows the last item start in it is carried to the
 * next read. The selected items are decoded and returned as a compact nft
 * document of just them, which parses to the same result as the whole dump
 * (the tests hold them to it). Two passes when other tables have base chains
 * on a shadowing hook: the second finds those chains' rules by their opening,
 * wherever in the dump they are. Returns undefined when the dump does not
 * look like nft's compact output; the caller then reads it whole.
 */
export function selectNftItemsFromDump(read: ReadDumpBytes, size: number, windowBytes = DUMP_WINDOW_BYTES): string | undefined {
  const probe = Buffer.alloc(Math.min(size, 256));
  const headMatch = /^\s*\{\s*"nftables"\s*:\s*\[/.exec(probe.toString('latin1', 0, read(probe, 0, probe.length, 0)));
  const tailBytes = Buffer.alloc(Math.min(size, 64));
  const tailText = tailBytes.toString('latin1', 0, read(tailBytes, 0, tailBytes.length, size - tailBytes.length));
  const tail = /\]\s*\}\s*$/.exec(tailText);
  if (!headMatch || !tail) return undefined;
  const head = headMatch[0].length;
  const end = size - tailText.length + tail.index;
  const found = new Map<number, { kind: string; text: string; mark: number }>();
  let window = Buffer.allocUnsafe(windowBytes);

  /** One pass over the dump; false when it is not nft's compact form. */
  const pass = (needles: readonly Needle[]): boolean => {
    let base = 0; // the dump offset of window[0]
    let filled = 0;
    let low = head; // where the region to search starts (an item start, or the first one's head)
    for (;;) {
      while (filled < window.length && base + filled < size) {
        const n = read(window, filled, window.length - filled, base + filled);
        if (n === 0) return false; // shorter than it was: let the whole read decide
        filled += n;
      }
      const atEnd = base + filled >= size;
      // Only what was read: past it the buffer holds an earlier window's bytes.
      const bytes = window.subarray(0, filled);
      // The region ends where the last item in the window starts (it may be cut), or at the closing `]`.
      let regionEnd = end - base;
      if (!atEnd) {
        let cut: { start: number } | undefined;
        for (let p = bytes.lastIndexOf(FAMILY_KEY); p > low - base && !cut; p = bytes.lastIndexOf(FAMILY_KEY, p - 1)) {
          cut = itemStartInBytes(bytes, p, low - base + 1);
        }
        if (!cut) {
          // One item fills the window: a larger window.
          if (window.length * 2 > MAX_WINDOW_BYTES) return false;
          const larger = Buffer.allocUnsafe(window.length * 2);
          window.copy(larger, 0, 0, filled);
          window = larger;
          continue;
        }
        regionEnd = cut.start;
      }
      if (base === 0) {
        const first = bytes.indexOf(FAMILY_KEY, head);
        if (first === -1 || !itemStartInBytes(bytes, first, head)) return false;
      }
      for (const needle of needles) {
        for (let at = bytes.indexOf(needle.text, low - base); at !== -1 && at < regionEnd; at = bytes.indexOf(needle.text, at + needle.text.length)) {
          if (!locateInWindow(bytes, at, needle, low - base, regionEnd, !atEnd, base, found)) return false;
        }
      }
      if (atEnd) return true;
      window.copy(window, 0, regionEnd, filled);
      filled -= regionEnd;
      base += regionEnd;
      low = base;
    }
  };

  if (!pass(SPARSE_NEEDLES.map(([text, mark]) => ({ text, mark, opensItem: false })))) return undefined;
  // Other tables' filter chains on a shadowing hook: their drops and rejects are what the parse counts.
  const openings: Needle[] = [];
  for (const item of found.values()) {
    if (item.kind !== 'chain' || (item.mark & MARK.hook) === 0) continue;
    const chain = parseItem(item.text, { kind: item.kind, start: 0, end: item.text.length });
    if (chain['family'] === NFT_TABLE.family && chain['table'] === NFT_TABLE.name) continue;
    if (chain['type'] !== 'filter' || typeof chain['hook'] !== 'string' || !SHADOWING_HOOKS.has(chain['hook'])) continue;
    openings.push({ text: ruleOpening(chain), mark: MARK.drop, opensItem: true });
  }
  if (openings.length > 0 && !pass(openings)) return undefined;
  const texts = [...found.entries()].sort(([a], [b]) => a - b).map(([, item]) => item.text);
  return `{"nftables": [${texts.join(', ')}]}`;
}

/** `locate` of findMarkedItemsSparse within a window: finds, decodes and marks the item around `at`. */
function locateInWindow(
  window: Buffer,
  at: number,
  needle: Needle,
  low: number,
  regionEnd: number,
  moreFollows: boolean,
  base: number,
  found: Map<number, { kind: string; text: string; mark: number }>,
): boolean {
  let opening: { start: number; kind: string } | undefined;
  let openingKey = window.lastIndexOf(FAMILY_KEY, needle.opensItem ? at + FAMILY_KEY.length + 16 : at);
  for (; openingKey > low; openingKey = window.lastIndexOf(FAMILY_KEY, openingKey - 1)) {
    opening = itemStartInBytes(window, openingKey, low);
    if (opening) break;
  }
  if (!opening) return false;
  const known = found.get(base + opening.start);
  if (known) {
    known.mark |= needle.mark;
    return true;
  }
  let next: { start: number; kind: string } | undefined;
  for (let p = window.indexOf(FAMILY_KEY, openingKey + FAMILY_KEY.length); p !== -1 && p < regionEnd && !next; p = window.indexOf(FAMILY_KEY, p + FAMILY_KEY.length)) {
    next = itemStartInBytes(window, p, low);
  }
  let stop = next ? next.start : regionEnd;
  while (stop > 0 && isSpace(window[stop - 1]!)) stop--;
  if (next || moreFollows) {
    if (window[stop - 1] !== 44 /* , */) return false;
    stop--;
    while (isSpace(window[stop - 1]!)) stop--;
  }
  if (window[stop - 1] !== 125 /* } */) return false;
  found.set(base + opening.start, { kind: opening.kind, text: window.toString('utf8', opening.start, stop), mark: needle.mark });
  return true;
}
