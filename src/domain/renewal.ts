import { createHash } from 'node:crypto';

export interface Validity {
  notBefore: Date;
  notAfter: Date;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * When a certificate is due for renewal by date: `renewBeforeDays` before it expires, or, for
 * certificates too short-lived for that (lifetime up to three times the window), once two thirds
 * of its lifetime have passed (the rule Let's Encrypt recommends for short-lived certificates).
 */
export function renewalDate(validity: Validity, renewBeforeDays: number): Date {
  const lifetime = validity.notAfter.getTime() - validity.notBefore.getTime();
  const window = renewBeforeDays * DAY_MS;
  if (lifetime > 3 * window) return new Date(validity.notAfter.getTime() - window);
  return new Date(validity.notBefore.getTime() + (2 * lifetime) / 3);
}

export function daysLeft(validity: Validity, now: Date): number {
  return Math.floor((validity.notAfter.getTime() - now.getTime()) / DAY_MS);
}

/** The CA's suggested renewal window (ACME Renewal Information, RFC 9773 section 4.2). */
export interface SuggestedWindow {
  start: Date;
  end: Date;
}

/**
 * RFC 9773 section 4.2: renew at a uniformly random time inside the window. The "random" point is
 * derived from the certificate id so that it is stable from one daily run to the next (a fresh
 * draw each day would make early renewal ever more likely) while still spreading certificates
 * evenly over the window.
 */
export function renewalTimeInWindow(window: SuggestedWindow, certificateId: string): Date {
  const fraction = createHash('sha256').update(certificateId).digest().readUInt32BE(0) / 0x1_0000_0000;
  const span = window.end.getTime() - window.start.getTime();
  return new Date(window.start.getTime() + Math.floor(fraction * span));
}

/** What the CA said about one certificate (ARI), when it said anything. */
export interface CaRenewalAdvice {
  window: SuggestedWindow;
  certificateId: string;
}

/** The next renewal: by the date rules, or earlier where the CA's window asks for it. */
export function nextRenewal(validity: Validity, renewBeforeDays: number, advice?: CaRenewalAdvice): Date {
  const byDate = renewalDate(validity, renewBeforeDays);
  if (!advice) return byDate;
  const byCa = renewalTimeInWindow(advice.window, advice.certificateId);
  return byCa < byDate ? byCa : byDate;
}

/**
 * Whether a check at `now` starts the renewal. RFC 9773 section 4.2: a renewal time already past
 * starts at once, and so does one that falls before the next check (when the schedule says when
 * that is), so a window shorter than the check interval is not missed. Renewing then rather than
 * waiting for the exact time keeps no instance parked for hours, blocking renew-now with 409.
 */
export function isDue(validity: Validity, renewBeforeDays: number, now: Date, advice?: CaRenewalAdvice, nextCheck?: Date): boolean {
  const at = nextRenewal(validity, renewBeforeDays, advice).getTime();
  return at <= now.getTime() || (nextCheck !== undefined && at < nextCheck.getTime());
}

/** What the list says of a managed certificate. */
export type CertificateState = 'valid' | 'expired' | 'pending' | 'failed';

/**
 * valid/expired: it has an issued version (an unmerged create beside it is reported apart);
 * pending: never issued, a create in progress; failed: never issued, its create failed, was
 * cancelled, or its operation is gone.
 */
export function certificateState(issued: Validity | undefined, pendingStatus: string | undefined, now: Date): CertificateState {
  if (issued) return issued.notAfter.getTime() <= now.getTime() ? 'expired' : 'valid';
  return pendingStatus === 'inProgress' ? 'pending' : 'failed';
}

/** A renewal that should have happened by the next daily check has a day's grace before it is overdue. */
export const OVERDUE_GRACE_MS = DAY_MS;

/**
 * Whether an ACME certificate's renewal is overdue: nothing is renewing it now (`running`), and
 * either a create is left unmerged in Key Vault (a renewal that crashed or failed part-way), or
 * its renewal time passed more than a day ago (the daily check did not renew it: it failed).
 */
export function isOverdue(input: { renewalAt: Date; unmergedCreate: boolean; running: boolean; now: Date }): boolean {
  if (input.running) return false;
  return input.unmergedCreate || input.now.getTime() - input.renewalAt.getTime() > OVERDUE_GRACE_MS;
}
