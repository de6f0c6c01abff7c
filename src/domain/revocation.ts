/**
 * Revocation reasons: the RFC 5280 section 5.3.1 CRLReason names a subscriber may give. Let's
 * Encrypt's documentation (https://letsencrypt.org/docs/revoking/) and Boulder
 * (revocation/reasons.go, UserAllowedReasons) accept unspecified (0), keyCompromise (1),
 * superseded (4) and cessationOfOperation (5) and reject every other code; older Boulder and the
 * Mozilla policy also allowed affiliationChanged (3). Where they disagree the stricter list holds,
 * so a request any Let's Encrypt-like CA would refuse is refused here first.
 */
export const RevocationReasons = {
  unspecified: 0,
  keyCompromise: 1,
  superseded: 4,
  cessationOfOperation: 5,
} as const;

export type RevocationReason = keyof typeof RevocationReasons;

export const RevocationReasonNames = Object.keys(RevocationReasons) as RevocationReason[];

export function isRevocationReason(value: unknown): value is RevocationReason {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(RevocationReasons, value);
}

/**
 * What a revocation does besides revoking, decided by what the reason says (RFC 5280 section
 * 5.3.1; Let's Encrypt's revoking page):
 * - keyCompromise: the key is no longer ours alone; a new certificate with a NEW key replaces it
 *   on the gateway at once (the old one is revoked first, so it is not trusted a moment longer);
 * - superseded: "replaced by a new certificate" by definition, so the app makes that replacement
 *   (a new key too: every create here makes one);
 * - cessationOfOperation, unspecified: revoke only. The gateway keeps serving the revoked
 *   certificate until it is renewed or removed (DELETE /api/certificates/{hostname}): the site is
 *   being retired, or the caller has not said why, and only they know what should serve next.
 */
export function replacesCertificate(reason: RevocationReason): boolean {
  return reason === 'keyCompromise' || reason === 'superseded';
}

/** requests.ts' Parsed, spelled out: this module stays free of Node imports, as the dashboard imports it. */
type Parsed<T> = { ok: true; value: T } | { ok: false; errors: { field: string; reason: string }[] };

/** `{"reason": "<CRLReason name>"}`; the reason is required (an empty or absent body names it). */
export function parseRevocationRequest(body: unknown): Parsed<{ reason: RevocationReason }> {
  const choices = RevocationReasonNames.join(', ');
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { ok: false, errors: [{ field: '(body)', reason: 'must be a JSON object like {"reason": "keyCompromise"}' }] };
  const { reason } = body as Record<string, unknown>;
  if (reason === undefined) return { ok: false, errors: [{ field: 'reason', reason: `is required: one of ${choices}` }] };
  if (!isRevocationReason(reason)) {
    const said = typeof reason === 'string' ? `"${reason.slice(0, 40)}"` : reason === null ? 'null' : `a ${Array.isArray(reason) ? 'list' : typeof reason}`;
    return { ok: false, errors: [{ field: 'reason', reason: `is ${said}; must be one of ${choices} (the RFC 5280 reasons Let's Encrypt accepts from a subscriber)` }] };
  }
  return { ok: true, value: { reason } };
}
