/** xt_comment keeps at most 255 bytes (256 with the terminating NUL). */
const IPTABLES_COMMENT_MAX = 255;
/** IPSET_MAXNAMELEN is 32 with the terminating NUL. */
const IPSET_NAME_MAX = 31;
/** XT_EXTENSION_MAXNAMELEN is 29 with the terminating NUL. */
const IPTABLES_CHAIN_MAX = 28;

/**
 * Makes text safe as a quoted `--comment` in iptables-restore input: only
 * printable ASCII without quotes, backslash, `$` or backtick (the restore
 * parser treats `"` and `\` specially; the others keep a line pasted into a
 * shell inert), cut to the comment limit.
 */
export function quoteIptablesComment(text: string): string {
  const safe = text.replace(/[^\x20-\x7e]|["'\\$`]/g, '_');
  const cut = safe.length > IPTABLES_COMMENT_MAX ? `${safe.slice(0, IPTABLES_COMMENT_MAX - 3)}...` : safe;
  return `"${cut}"`;
}

/** Chain names come from fixed words, but a wrong one must never reach the script. */
export function assertIptablesChain(name: string): string {
  if (name.length > IPTABLES_CHAIN_MAX || !/^[A-Z][A-Z0-9-]*$/.test(name)) {
    throw new Error(`not a safe iptables chain name: ${JSON.stringify(name)}`);
  }
  return name;
}

/** ipset names appear unquoted in ipset restore input, rules and sh: fixed words only. */
export function assertIpsetName(name: string): string {
  if (name.length > IPSET_NAME_MAX || !/^[A-Z][A-Z0-9-]*$/.test(name)) {
    throw new Error(`not a safe ipset name: ${JSON.stringify(name)}`);
  }
  return name;
}

/** Quotes one word for POSIX sh: single quotes, with `'` written as `'\''`. */
export function quoteShellWord(word: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Addresses reach the rules already parsed; anything but address characters must never reach the restore input. */
export function assertIptablesAddress(text: string): string {
  if (!/^[0-9a-fA-F.:]+(\/\d{1,3})?$/.test(text)) throw new Error(`not a safe iptables address: ${JSON.stringify(text)}`);
  return text;
}
