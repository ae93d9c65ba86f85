/** nftables limits comments to 128 bytes and has no escape for `"` inside a quoted string. */
const NFT_COMMENT_MAX = 128;

/**
 * Makes text safe as an nftables quoted string: only printable ASCII without
 * quote, backslash or `$` (variable expansion), cut to the comment limit.
 */
export function quoteNftString(text: string): string {
  const safe = text.replace(/[^\x20-\x7e]|["\\$]/g, '_');
  const cut = safe.length > NFT_COMMENT_MAX ? `${safe.slice(0, NFT_COMMENT_MAX - 3)}...` : safe;
  return `"${cut}"`;
}

/** Set and chain names come from fixed words, but a wrong one must never reach the script. */
export function assertNftIdentifier(name: string): string {
  if (!/^[a-z][a-z0-9-]{0,30}$/.test(name)) throw new Error(`not a safe nftables identifier: ${JSON.stringify(name)}`);
  return name;
}

/** Addresses reach the rules already parsed; anything but address characters must never reach the script. */
export function assertNftAddress(text: string): string {
  if (!/^[0-9a-fA-F.:]+(\/\d{1,3})?$/.test(text)) throw new Error(`not a safe nftables address: ${JSON.stringify(text)}`);
  return text;
}
