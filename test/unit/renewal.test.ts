import { daysLeft, isDue, renewalDate } from '../../src/domain/renewal';

const day = 24 * 60 * 60 * 1000;
const at = (days: number): Date => new Date(Date.UTC(2026, 0, 1) + days * day);

describe('renewal dates', () => {
  it('renews a 90-day certificate 30 days before it expires', () => {
    const validity = { notBefore: at(0), notAfter: at(90) };
    expect(renewalDate(validity, 30)).toEqual(at(60));
    expect(isDue(validity, 30, at(59))).toBe(false);
    expect(isDue(validity, 30, at(60))).toBe(true);
  });

  it('renews a one-year certificate RenewBeforeDays before expiry', () => {
    expect(renewalDate({ notBefore: at(0), notAfter: at(365) }, 30)).toEqual(at(335));
  });

  it('renews short-lived certificates after two thirds of their lifetime, not at once', () => {
    const sixDays = { notBefore: at(0), notAfter: at(6) };
    expect(renewalDate(sixDays, 30)).toEqual(at(4));
    expect(isDue(sixDays, 30, at(1))).toBe(false);
  });

  it('counts whole days left', () => {
    expect(daysLeft({ notBefore: at(0), notAfter: at(90) }, at(10.5))).toBe(79);
  });
});
