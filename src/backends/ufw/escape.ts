/**
 * Escaping for the ufw backend's one grammar: a POSIX sh script whose words
 * become `ufw` arguments. Everything from input passes through here.
 */

/** Quotes one word for a POSIX shell: single quotes, with `'` written as `'\''`. */
export function quoteSh(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * A ufw rule comment, also kubewall's ownership tag. ufw refuses `'` in a
 * comment, and the script matches tags as whole lines inside `'...'` from
 * `ufw show added`, so only a plain set of characters survives.
 */
export function ufwCommentText(text: string): string {
  return text.replace(/[^A-Za-z0-9 ._,:/+=@()-]/g, '_').replace(/ {2,}/g, ' ').trim();
}

/** An address or CIDR from the plan; anything else must never reach a root shell. */
export function assertUfwAddress(address: string): string {
  if (!/^(?:[0-9.]+|[0-9a-fA-F:.]+)(?:\/\d{1,3})?$/.test(address) || !/[.:]/.test(address)) {
    throw new Error(`not a safe ufw address: ${JSON.stringify(address)}`);
  }
  return address;
}
