import type { ChallengeType } from './config';

/**
 * What the webhook (FailureWebhookUrl) is told: failures and overdue renewals (on by default), and
 * successful issuances and renewals when NotificationEvents opts in. The words and facts of a
 * notice are decided here once; src/notify shapes them for the receiver (Teams, Slack, JSON).
 */

/** The events NotificationEvents may list; the default keeps the behaviour from before the setting. */
export const NoticeKinds = ['failure', 'overdue', 'issued', 'renewed'] as const;
export type NoticeKind = (typeof NoticeKinds)[number];
export const DEFAULT_NOTICE_KINDS: readonly NoticeKind[] = ['failure', 'overdue'];

/** A failed request (its failure record) or a renewal that is overdue. */
export interface FailureNotice {
  kind: 'failure' | 'overdue';
  code: string;
  message: string;
  detail?: string;
  hostname?: string;
  hostnames?: string[];
  instanceId?: string;
  failedStep?: string;
}

/** A certificate that went live on the gateway; names and dates only, never key material. */
export interface CertificateFacts {
  hostname: string;
  /** Every DNS name of a certificate for several names, `hostname` first. */
  names?: string[];
  /** The Key Vault certificate's name. */
  certificateName: string;
  /** Its expiry (ISO 8601). */
  notAfter: string;
  /** How it was proven; an imported certificate was not. */
  challengeType: ChallengeType | 'import';
}

/** Certificates issued (or imported) and bound for the first time, or renewed (a new version of one). */
export interface SuccessNotice {
  kind: 'issued' | 'renewed';
  message: string;
  hostnames: string[];
  certificates: CertificateFacts[];
  instanceId: string;
}

export type Notice = FailureNotice | SuccessNotice;

/** What an operation bound: the NotifySuccess activity's input. */
export interface SuccessReport {
  instanceId: string;
  /**
   * The operation was started as a renewal (renew-now, the renewal timer): its certificates are
   * `renewed`; without it they are `issued`. Intent, carried from the orchestration's input, not
   * read from Key Vault: a hostname removed without purge and issued again is recovered with its
   * old versions, and a failed run may have merged a version the gateway never served.
   */
  renewal?: true;
  certificates: CertificateFacts[];
}

/**
 * Issued or renewed, by the operation's intent: renewed only when it was started as a renewal (an
 * imported certificate is the user's, never a renewal by this app); a report from before the flag
 * existed says issued.
 */
export function successKindOf(report: Pick<SuccessReport, 'renewal' | 'certificates'>): SuccessNotice['kind'] {
  return report.renewal === true && report.certificates.every((c) => c.challengeType !== 'import') ? 'renewed' : 'issued';
}

export function isSuccess(notice: Notice): notice is SuccessNotice {
  return notice.kind === 'issued' || notice.kind === 'renewed';
}

export type WebhookFlavour = 'slack' | 'teams' | 'json';

/**
 * The receiver the URL names: Slack incoming webhooks, Teams Workflows ("When a Teams webhook
 * request is received": Logic Apps / Power Platform hosts) and the retired Office 365 connectors'
 * host; anything else is a JSON receiver.
 */
export function flavourOf(url: URL): WebhookFlavour {
  if (url.hostname === 'hooks.slack.com') return 'slack';
  if (/\.webhook\.office\.com$|\.logic\.azure\.com$|\.powerplatform\.com$/.test(url.hostname)) return 'teams';
  return 'json';
}

/** At most this many names are spelled out in a title; the rest are counted. */
const NAMED_IN_TITLE = 3;

function subjectOf(notice: Notice): string {
  const names = isSuccess(notice) ? notice.hostnames : (notice.hostnames ?? (notice.hostname ? [notice.hostname] : []));
  if (names.length === 0) return 'certificates';
  const shown = names.slice(0, NAMED_IN_TITLE).join(', ');
  return names.length > NAMED_IN_TITLE ? `${shown} and ${names.length - NAMED_IN_TITLE} more` : shown;
}

/** One line that says what happened, to whom. */
export function titleOf(notice: Notice): string {
  const subject = subjectOf(notice);
  switch (notice.kind) {
    case 'overdue':
      return `Renewal overdue for ${subject}`;
    case 'issued':
      return `Certificate issued for ${subject}`;
    case 'renewed':
      return `Certificate renewed for ${subject}`;
    default:
      return `Certificate request failed for ${subject}`;
  }
}

export interface Fact {
  title: string;
  value: string;
}

/** The failure's facts: where, which code, which instance to read. */
export function failureFacts(notice: FailureNotice): Fact[] {
  const hostnames = notice.hostnames ?? (notice.hostname ? [notice.hostname] : []);
  return [
    ...(hostnames.length ? [{ title: hostnames.length > 1 ? 'Hostnames' : 'Hostname', value: hostnames.join(', ') }] : []),
    { title: 'Code', value: notice.code },
    ...(notice.failedStep ? [{ title: 'Step', value: notice.failedStep }] : []),
    ...(notice.instanceId ? [{ title: 'Instance', value: notice.instanceId }] : []),
  ];
}

/** One certificate's facts: its names, where it is in Key Vault, when it expires, how it was proven. */
export function certificateFacts(certificate: CertificateFacts): Fact[] {
  const names = certificate.names ?? [certificate.hostname];
  return [
    { title: names.length > 1 ? 'Hostnames' : 'Hostname', value: names.join(', ') },
    { title: 'Key Vault certificate', value: certificate.certificateName },
    { title: 'Expires', value: certificate.notAfter },
    { title: 'Challenge', value: certificate.challengeType },
  ];
}

/** The plain-text summary: Slack's notification fallback, and what a log would say. */
export function summaryOf(notice: Notice): string {
  if (isSuccess(notice)) {
    const expiries = notice.certificates.map((c) => `${c.hostname} until ${c.notAfter}`).join('; ');
    return `${titleOf(notice)}. ${notice.message} ${expiries}.\nInstance: ${notice.instanceId}`;
  }
  const step = notice.failedStep ? ` at ${notice.failedStep}` : '';
  return `${titleOf(notice)}${step}: ${notice.code}. ${notice.message}${notice.detail ? `\nDetail: ${notice.detail}` : ''}${notice.instanceId ? `\nInstance: ${notice.instanceId}` : ''}`;
}

/**
 * Cuts text to at most `max` characters, ending in an ellipsis when cut; never between the two
 * halves of a surrogate pair (which would leave invalid UTF-16 in the JSON).
 */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = Math.max(0, max - 1);
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${text.slice(0, end)}…`;
}

/**
 * Text escaped for a receiver, cut to at most `max` characters: cut before escaping (with `clip`),
 * so that no escape is cut in half.
 */
export function clipEscaped(text: string, max: number, escape: (text: string) => string): string {
  let raw = text;
  let escaped = escape(raw);
  while (escaped.length > max) {
    raw = clip(raw, Math.max(1, raw.length - (escaped.length - max)));
    escaped = escape(raw);
  }
  return escaped;
}
