import { parseRevocationRequest, replacesCertificate, RevocationReasonNames, RevocationReasons } from '../../src/domain/revocation';
import { revocationInstanceIdFor } from '../../src/domain/requests';

describe('revocation reasons', () => {
  it('are the RFC 5280 codes Let\'s Encrypt accepts from a subscriber', () => {
    expect(RevocationReasons).toEqual({ unspecified: 0, keyCompromise: 1, superseded: 4, cessationOfOperation: 5 });
  });

  it.each(RevocationReasonNames)('accepts %s', (reason) => {
    expect(parseRevocationRequest({ reason })).toEqual({ ok: true, value: { reason } });
  });

  it.each([
    [{ reason: 'affiliationChanged' }, 'is "affiliationChanged"; must be one of unspecified, keyCompromise, superseded, cessationOfOperation'],
    [{ reason: 'privilegeWithdrawn' }, 'must be one of'],
    [{ reason: 'KeyCompromise' }, 'is "KeyCompromise"'],
    [{ reason: 1 }, 'is a number; must be one of'],
    [{ reason: ['keyCompromise'] }, 'is a list'],
    [{ reason: null }, 'is null; must be one of'],
    [{}, 'is required: one of unspecified, keyCompromise, superseded, cessationOfOperation'],
  ])('refuses %j naming reason', (body, said) => {
    const parsed = parseRevocationRequest(body);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) {
      expect(parsed.errors).toHaveLength(1);
      expect(parsed.errors[0].field).toBe('reason');
      expect(parsed.errors[0].reason).toContain(said);
    }
  });

  it.each([null, [], 'keyCompromise'])('refuses a body that is not an object (%j)', (body) => {
    const parsed = parseRevocationRequest(body);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.errors[0].field).toBe('(body)');
  });

  it('quotes a long unknown reason only in part', () => {
    const parsed = parseRevocationRequest({ reason: 'x'.repeat(500) });
    expect(!parsed.ok && parsed.errors[0].reason.length).toBeLessThan(200);
  });

  it('replaces the certificate for keyCompromise and superseded only', () => {
    expect(RevocationReasonNames.filter(replacesCertificate)).toEqual(['keyCompromise', 'superseded']);
  });

  it('runs each hostname\'s revocation under its own instance id', () => {
    expect(revocationInstanceIdFor('www.example.com')).toBe('revocation-www.example.com');
    expect(revocationInstanceIdFor(`${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(60)}.example`).length).toBeLessThanOrEqual(256);
  });
});
