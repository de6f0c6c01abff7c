/** Dates as the operator reads them: the day in ISO form (sortable, unambiguous across locales). */
export function day(iso: string | null | undefined): string {
  return iso ? iso.slice(0, 10) : '—';
}

export function daysLeftText(days: number | null): string {
  if (days === null) return '';
  if (days < 0) return `expired ${-days} d ago`;
  return `${days} d left`;
}

export function gatewayText(gateway: { listener: boolean; rule: boolean }): string {
  if (gateway.listener && gateway.rule) return 'Listener and rule';
  if (gateway.listener) return 'Listener, no rule';
  return 'Not on the gateway';
}

export function challengeText(challengeType: string | null, source: string): string {
  return source === 'import' ? 'Imported' : (challengeType ?? 'http-01');
}
