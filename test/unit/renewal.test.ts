import { certificateState, daysLeft, isDue, isOverdue, nextRenewal, renewalDate, renewalTimeInWindow } from '../../src/domain/renewal';

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

describe('renewal inside the CA\'s suggested window (RFC 9773)', () => {
  const window = { start: at(60), end: at(62) };
  const ninetyDays = { notBefore: at(0), notAfter: at(90) };
  const isDueByWindow = (w: typeof window, certificateId: string, now: Date): boolean =>
    isDue({ notBefore: at(0), notAfter: at(3650) }, 30, now, { window: w, certificateId });

  it('picks one time inside the window per certificate and keeps it from run to run', () => {
    const chosen = renewalTimeInWindow(window, 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE');
    expect(chosen.getTime()).toBeGreaterThanOrEqual(window.start.getTime());
    expect(chosen.getTime()).toBeLessThan(window.end.getTime());
    expect(renewalTimeInWindow(window, 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE')).toEqual(chosen);
    expect(isDueByWindow(window, 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE', new Date(chosen.getTime() - 1))).toBe(false);
    expect(isDueByWindow(window, 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE', chosen)).toBe(true);
  });

  it('spreads many certificates over the whole window', () => {
    const fractions = Array.from({ length: 400 }, (_, i) => (renewalTimeInWindow(window, `key.serial${i}`).getTime() - window.start.getTime()) / (2 * day));
    const quarters = [0, 1, 2, 3].map((q) => fractions.filter((f) => f >= q / 4 && f < (q + 1) / 4).length);
    // Uniform would be 100 each; a stuck or skewed choice would leave a quarter (nearly) empty.
    for (const count of quarters) expect(count).toBeGreaterThan(60);
  });

  it('is due at once when the window lies in the past, and not before it opens', () => {
    expect(isDueByWindow(window, 'any.id', at(63))).toBe(true);
    expect(isDueByWindow(window, 'any.id', at(59.9))).toBe(false);
  });

  it('takes the earlier of the date rules and the CA\'s window', () => {
    const early = { window: { start: at(10), end: at(11) }, certificateId: 'x.y' };
    const late = { window: { start: at(80), end: at(81) }, certificateId: 'x.y' };
    expect(nextRenewal(ninetyDays, 30, early).getTime()).toBeLessThan(at(11).getTime());
    expect(nextRenewal(ninetyDays, 30, late)).toEqual(at(60));
    expect(nextRenewal(ninetyDays, 30)).toEqual(at(60));
    expect(isDue(ninetyDays, 30, at(11), early)).toBe(true);
    expect(isDue(ninetyDays, 30, at(11), late)).toBe(false);
  });
});

describe('when a check starts a renewal', () => {
  const ninetyDays = { notBefore: at(0), notAfter: at(90) };

  it('renews when the renewal time has passed, whatever the next check', () => {
    expect(isDue(ninetyDays, 30, at(61))).toBe(true);
    expect(isDue(ninetyDays, 30, at(61), undefined, at(62))).toBe(true);
  });

  it('renews now when the time falls before the next check, else leaves it to a later check', () => {
    expect(isDue(ninetyDays, 30, at(59.5), undefined, at(60.5))).toBe(true);
    expect(isDue(ninetyDays, 30, at(59.5), undefined, at(59.9))).toBe(false);
    // Without knowing the next check, only a time already past counts.
    expect(isDue(ninetyDays, 30, at(59.5))).toBe(false);
  });

  it('catches a CA window shorter than the check interval between two daily checks', () => {
    const advice = { window: { start: at(40.2), end: at(40.4) }, certificateId: 'short.window' };
    expect(isDue(ninetyDays, 30, at(40), advice, at(41))).toBe(true);
    expect(isDue(ninetyDays, 30, at(40), advice)).toBe(false);
    expect(isDue(ninetyDays, 30, at(39), advice, at(40))).toBe(false);
  });
});

describe('what the list says of a certificate', () => {
  const issued = { notBefore: at(0), notAfter: at(90) };

  it('is valid or expired by its issued version, whatever is pending beside it', () => {
    expect(certificateState(issued, undefined, at(10))).toBe('valid');
    expect(certificateState(issued, 'inProgress', at(10))).toBe('valid');
    expect(certificateState(issued, undefined, at(90))).toBe('expired');
  });

  it('is pending or failed when never issued, never valid for the policy\'s year', () => {
    expect(certificateState(undefined, 'inProgress', at(0))).toBe('pending');
    expect(certificateState(undefined, 'failed', at(0))).toBe('failed');
    expect(certificateState(undefined, 'cancelled', at(0))).toBe('failed');
    expect(certificateState(undefined, 'none', at(0))).toBe('failed');
  });

  it('counts a renewal overdue when a create is left unmerged, or a day after its renewal time, unless one is running', () => {
    expect(isOverdue({ renewalAt: at(60), unmergedCreate: true, running: false, now: at(10) })).toBe(true);
    expect(isOverdue({ renewalAt: at(60), unmergedCreate: true, running: true, now: at(10) })).toBe(false);
    expect(isOverdue({ renewalAt: at(60), unmergedCreate: false, running: false, now: at(60.5) })).toBe(false);
    expect(isOverdue({ renewalAt: at(60), unmergedCreate: false, running: false, now: at(61.5) })).toBe(true);
    expect(isOverdue({ renewalAt: at(60), unmergedCreate: false, running: true, now: at(70) })).toBe(false);
  });
});
