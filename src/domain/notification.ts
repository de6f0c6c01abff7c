/**
 * The webhook payload for a failure or an overdue renewal: the same record a Failed output
 * carries, shaped for the receiver the URL names (Slack and Microsoft Teams incoming webhooks take
 * a text message; anything else gets the record as JSON).
 */
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

export type WebhookFlavour = 'slack' | 'teams' | 'json';

export function flavourOf(url: URL): WebhookFlavour {
  if (url.hostname === 'hooks.slack.com') return 'slack';
  if (/\.webhook\.office\.com$|\.logic\.azure\.com$|\.powerplatform\.com$/.test(url.hostname)) return 'teams';
  return 'json';
}

function summary(notice: FailureNotice): string {
  const subject = notice.hostname ?? notice.hostnames?.join(', ') ?? 'certificates';
  const head = notice.kind === 'overdue' ? `Renewal overdue for ${subject}` : `Certificate request failed for ${subject}`;
  const step = notice.failedStep ? ` at ${notice.failedStep}` : '';
  return `${head}${step}: ${notice.code}. ${notice.message}${notice.detail ? `\nDetail: ${notice.detail}` : ''}${notice.instanceId ? `\nInstance: ${notice.instanceId}` : ''}`;
}

export function webhookBody(url: URL, notice: FailureNotice): unknown {
  switch (flavourOf(url)) {
    case 'slack':
      return { text: summary(notice) };
    case 'teams':
      // Teams workflows and connectors accept a message card with text.
      return { '@type': 'MessageCard', '@context': 'https://schema.org/extensions', summary: notice.code, text: summary(notice) };
    default:
      return { source: 'appgw-certbot', ...notice };
  }
}
