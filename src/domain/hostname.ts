import { isIP } from 'node:net';
import { domainToASCII } from 'node:url';

/** Why a hostname is refused; the message is shown to the caller as is. */
export type HostnameVerdict = { ok: true; hostname: string } | { ok: false; reason: string };

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/**
 * Normalises a hostname the way a CA will see it (lower case, no trailing dot, IDN as punycode)
 * and refuses what HTTP-01 cannot validate: IP addresses, wildcards, single-label and malformed names.
 */
export function normaliseHostname(input: unknown): HostnameVerdict {
  if (typeof input !== 'string') return { ok: false, reason: 'must be a string' };
  const trimmed = input.trim();
  if (!trimmed) return { ok: false, reason: 'must not be empty' };
  if (trimmed.startsWith('*')) {
    return {
      ok: false,
      reason: 'is a wildcard; HTTP-01 validation cannot prove control of a wildcard name: list each hostname instead',
    };
  }
  const unbracketed = trimmed.replace(/^\[(.*)\]$/, '$1');
  if (isIP(unbracketed)) return { ok: false, reason: 'is an IP address; certificates here are issued for DNS names only' };
  if (/[/:@?#\s]/.test(trimmed)) return { ok: false, reason: 'must be a bare hostname, without scheme, port, path or spaces' };

  const withoutDot = trimmed.endsWith('.') ? trimmed.slice(0, -1) : trimmed;
  const ascii = domainToASCII(withoutDot.toLowerCase());
  if (!ascii) return { ok: false, reason: 'is not a valid DNS name' };
  if (ascii.length > 253) return { ok: false, reason: 'is longer than 253 characters' };
  const labels = ascii.split('.');
  if (labels.length < 2) return { ok: false, reason: 'must be a fully qualified name with at least two labels (e.g. www.example.com)' };
  const bad = labels.find((label) => !LABEL.test(label));
  if (bad !== undefined) {
    return { ok: false, reason: `has an invalid label "${bad}" (letters, digits and inner hyphens, 1 to 63 characters)` };
  }
  return { ok: true, hostname: ascii };
}

/**
 * A stable, readable name for a hostname in places with a narrow alphabet (Key Vault object names
 * allow only letters, digits and dashes; gateway child names allow more). Dots become dashes and a
 * short hash keeps `a-b.example.com` and `a.b-example.com` apart.
 */
export function hostnameSlug(hostname: string, hash: (text: string) => string): string {
  return `${hostname.replace(/\./g, '-')}-${hash(hostname).slice(0, 8)}`;
}
