/**
 * A Retry-After header in seconds: delay-seconds or an HTTP-date (RFC 9110 section 10.2.3), as
 * ACME CAs, Key Vault, Storage and ARM send it. Undefined when absent or unreadable.
 */
export function parseRetryAfter(header: unknown, now = Date.now()): number | undefined {
  if (typeof header !== 'string' || !header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, Math.ceil(seconds));
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - now) / 1000));
}
