import { showValue } from '../text/terminal.js';
/**
 * Ansible host ranges: `node[01:20]`, `node[1:9:2]`, `rack-[a:c]-[1:2]` —
 * numeric (zero-padded when the start is) or single letters, an optional
 * stride, several ranges in one name. Returns the names or what is wrong.
 */
export const MAX_RANGE_HOSTS = 100_000;

const RANGE = /\[([^\]]*)\]/;

export function expandHostPattern(pattern: string): string[] | string {
  const match = RANGE.exec(pattern);
  if (!match) return [pattern];
  const head = pattern.slice(0, match.index);
  const tail = pattern.slice(match.index + match[0].length);
  const parts = match[1]!.split(':');
  if (parts.length < 2 || parts.length > 3) {
    return `host range [${match[1]}] in ${showValue(pattern)} must be [start:end] or [start:end:stride], e.g. node[01:20]`;
  }
  const [startText = '', endText = '', strideText = '1'] = parts;
  const stride = Number(strideText);
  if (!/^\d+$/.test(strideText) || stride < 1) return `host range stride ${showValue(strideText)} in ${showValue(pattern)} must be a positive integer`;
  let values: string[];
  if (/^[a-zA-Z]$/.test(startText) && /^[a-zA-Z]$/.test(endText)) {
    const from = startText.charCodeAt(0);
    const to = endText.charCodeAt(0);
    if (from > to) return `host range [${match[1]}] in ${showValue(pattern)} runs backwards (start must not be after end)`;
    values = [];
    for (let c = from; c <= to; c += stride) values.push(String.fromCharCode(c));
  } else if (/^\d*$/.test(startText) && /^\d+$/.test(endText)) {
    const from = Number(startText === '' ? '0' : startText);
    const to = Number(endText);
    if (from > to) return `host range [${match[1]}] in ${showValue(pattern)} runs backwards (start must not be after end)`;
    if ((to - from) / stride + 1 > MAX_RANGE_HOSTS) return `host range [${match[1]}] in ${showValue(pattern)} names more than ${MAX_RANGE_HOSTS} hosts`;
    // Ansible pads to the start's width when the start has a leading zero (01 → 01, 02, … 10).
    const width = startText.length > 1 && startText.startsWith('0') ? startText.length : 0;
    values = [];
    for (let n = from; n <= to; n += stride) values.push(String(n).padStart(width, '0'));
  } else {
    return `host range [${match[1]}] in ${showValue(pattern)} must be numbers ([01:20]) or single letters ([a:f])`;
  }
  const rest = expandHostPattern(tail);
  if (typeof rest === 'string') return rest;
  const names: string[] = [];
  for (const value of values) for (const suffix of rest) names.push(`${head}${value}${suffix}`);
  if (names.length > MAX_RANGE_HOSTS) return `host pattern ${showValue(pattern)} names more than ${MAX_RANGE_HOSTS} hosts`;
  return names;
}

/**
 * Splits `host:port` and `[ipv6]:port` as Ansible's parse_address does; a
 * bare IPv6 address (several colons) has no port. Ranges stay in the name.
 */
export function splitHostPort(text: string): { host: string; port?: string } {
  const bracketed = /^\[([0-9a-fA-F]*:[0-9a-fA-F]*:[0-9a-fA-F:.]*)\](?::(\d+))?$/.exec(text);
  if (bracketed) return bracketed[2] === undefined ? { host: bracketed[1]! } : { host: bracketed[1]!, port: bracketed[2] };
  const colons = text.replace(/\[[^\]]*\]/g, '').split(':').length - 1;
  if (colons === 1) {
    const at = text.lastIndexOf(':');
    const port = text.slice(at + 1);
    if (/^\d+$/.test(port)) return { host: text.slice(0, at), port };
  }
  return { host: text };
}
