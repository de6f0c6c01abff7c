/**
 * When a certificate is due for renewal: `renewBeforeDays` before it expires, or, for certificates
 * too short-lived for that (lifetime up to three times the window), once two thirds of its
 * lifetime have passed (the rule Let's Encrypt recommends for short-lived certificates).
 */
export interface Validity {
  notBefore: Date;
  notAfter: Date;
}

const DAY_MS = 24 * 60 * 60 * 1000;

export function renewalDate(validity: Validity, renewBeforeDays: number): Date {
  const lifetime = validity.notAfter.getTime() - validity.notBefore.getTime();
  const window = renewBeforeDays * DAY_MS;
  if (lifetime > 3 * window) return new Date(validity.notAfter.getTime() - window);
  return new Date(validity.notBefore.getTime() + (2 * lifetime) / 3);
}

export function isDue(validity: Validity, renewBeforeDays: number, now: Date): boolean {
  return now.getTime() >= renewalDate(validity, renewBeforeDays).getTime();
}

export function daysLeft(validity: Validity, now: Date): number {
  return Math.floor((validity.notAfter.getTime() - now.getTime()) / DAY_MS);
}
