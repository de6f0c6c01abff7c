import type { CertbotConfig } from '../domain/config';
import type { Notice } from '../domain/notification';
import { webhookBody } from './payload';

/** Where notices go and which of them: FailureWebhookUrl and NotificationEvents. */
export type WebhookTarget = Pick<CertbotConfig, 'failureWebhookUrl' | 'notificationEvents'>;

/** Whether a notice of this kind would be posted at all (a URL is set and the event is enabled). */
export function wants(target: WebhookTarget, kind: Notice['kind']): boolean {
  return !!target.failureWebhookUrl && target.notificationEvents.includes(kind);
}

/**
 * Posts a notice to the webhook when its event is enabled; never throws (a failed webhook must not
 * fail certificate work) and never logs the URL (Slack and Teams put their secret in it).
 */
export async function postNotice(target: WebhookTarget, notice: Notice): Promise<boolean> {
  const url = target.failureWebhookUrl;
  if (!url || !wants(target, notice.kind)) return false;
  const what = 'code' in notice ? notice.code : notice.kind;
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(webhookBody(url, notice)),
      signal: AbortSignal.timeout(10_000),
    });
    if (!response.ok) console.warn(`FailureWebhookUrl answered HTTP ${response.status}; notice ${what} not delivered.`);
    return response.ok;
  } catch (error) {
    console.warn(`FailureWebhookUrl could not be reached (${(error as Error).name}); notice ${what} not delivered.`);
    return false;
  }
}
