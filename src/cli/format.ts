/** The CLI's text output (what `--json` prints instead is the answer's own JSON). */
import type { HostnameResult, OperationStatus } from './operations';
import { stepText } from './operations';

/** A plain table: a header row, columns padded to their widest cell. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** One managed certificate as GET /api/certificates lists it (only what the table shows is typed). */
export interface ListedCertificate {
  hostname: string;
  source: string;
  hostnames?: string[];
  challengeType?: string | null;
  state: string;
  expiresOn: string | null;
  daysLeft: number | null;
  nextRenewal: string | null;
  overdue: boolean;
  gateway?: { listener: boolean; rule: boolean };
  /** The current version was revoked through the app (POST .../revoke). */
  revoked?: { reason: string; at: string; serialNumber: string } | null;
}

const day = (iso: string | null): string => (iso ? iso.slice(0, 10) : '-');

export function certificatesTable(certificates: ListedCertificate[]): string {
  if (certificates.length === 0) return 'No certificates are managed yet.';
  return table(
    ['HOSTNAME', 'STATE', 'SOURCE', 'CHALLENGE', 'EXPIRES', 'DAYS', 'RENEWAL', 'GATEWAY', 'NAMES'],
    certificates.map((c) => [
      c.hostname,
      c.revoked ? `${c.state}, revoked (${c.revoked.reason})` : c.state,
      c.source,
      c.challengeType ?? '-',
      day(c.expiresOn),
      c.daysLeft === null ? '-' : String(c.daysLeft),
      c.nextRenewal ? `${day(c.nextRenewal)}${c.overdue ? ' overdue' : ''}` : c.overdue ? 'overdue' : '-',
      c.gateway ? (c.gateway.listener && c.gateway.rule ? 'bound' : c.gateway.listener ? 'listener only' : 'not bound') : '-',
      (c.hostnames ?? [c.hostname]).length > 1 ? (c.hostnames ?? []).join(',') : '',
    ]),
  );
}

/** An operation's status in lines (the `status` command, and the end of a wait). */
export function statusLines(status: OperationStatus): string[] {
  const lines = [
    `instance:  ${status.instanceId}`,
    `name:      ${status.name}`,
    `status:    ${status.runtimeStatus}`,
    `step:      ${stepText(status)}`,
    `created:   ${status.createdTime}`,
    `updated:   ${status.lastUpdatedTime}`,
  ];
  const progress = status.customStatus?.progress;
  if (progress) lines.push(`progress:  ${Object.entries(progress).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  return lines;
}

/** Each certificate's outcome; a failure with its typed code, message, detail and step. */
export function resultLines(results: HostnameResult[]): string[] {
  return results.flatMap((r) => {
    if (r.status === 'Completed') return [`✔ ${r.hostname}: Completed`];
    const lines = [`✖ ${r.hostname}: ${r.status}${r.code ? ` ${r.code}` : ''}${r.message ? ` - ${r.message}` : ''}`];
    if (r.detail) lines.push(`    ${r.detail}`);
    if (r.failedStep) lines.push(`    failed step: ${r.failedStep}`);
    return lines;
  });
}
