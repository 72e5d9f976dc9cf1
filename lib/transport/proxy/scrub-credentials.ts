/**
 * Keeps the proxy's credential out of anything built from what the proxy sends back. A proxy may echo our
 * Proxy-Authorization header into its status text, a header or its body; whatever of that reaches an error, an event
 * or a log goes through {@link credentialScrubber} first.
 */
import type { ResolvedProxy } from './proxy-settings.js';

/** Stands in for a credential that was removed. */
export const REDACTED = '[redacted]';

/** Longest proxy-supplied text kept in a message (a status line is short; anything longer is noise or hostile). */
const MAX_TEXT = 200;

/**
 * A function that removes every form of `proxy`'s credential from a text — `user:password`, the password alone, their
 * Basic (base64) encoding, and their URL-encoded forms — and shows control characters escaped, within a bounded length.
 */
export function credentialScrubber(proxy: Pick<ResolvedProxy, 'username' | 'password'>): (text: string) => string {
  const secrets = new Set<string>();
  if (proxy.username !== undefined) {
    const pair = `${proxy.username}:${proxy.password ?? ''}`;
    secrets.add(pair);
    secrets.add(Buffer.from(pair, 'utf8').toString('base64'));
    secrets.add(Buffer.from(pair, 'utf8').toString('base64').replace(/=+$/, ''));
    secrets.add(`${encodeURIComponent(proxy.username)}:${encodeURIComponent(proxy.password ?? '')}`);
    if (proxy.password !== undefined && proxy.password !== '') {
      secrets.add(proxy.password);
      secrets.add(encodeURIComponent(proxy.password));
    }
  }
  // Longest first, so that the pair is removed whole rather than around its password.
  const ordered = [...secrets].filter((s) => s !== '' && s !== ':').sort((a, b) => b.length - a.length);
  return (text) => {
    let out = text;
    for (const secret of ordered) out = out.split(secret).join(REDACTED);
    // eslint-disable-next-line no-control-regex
    out = out.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
    return out.length > MAX_TEXT ? `${out.slice(0, MAX_TEXT)}…` : out;
  };
}
