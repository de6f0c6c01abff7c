import { FailureNotice, webhookBody } from '../domain/notification';

/**
 * Posts a notice to the webhook; never throws (a failed webhook must not fail certificate work)
 * and never logs the URL (Slack and Teams put their secret in it).
 */
export async function postNotice(url: URL | undefined, notice: FailureNotice): Promise<boolean> {
  if (!url) return false;
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(webhookBody(url, notice)),
      signal: AbortSignal.timeout(10_000),
    });
    if (!response.ok) console.warn(`FailureWebhookUrl answered HTTP ${response.status}; notice ${notice.code} not delivered.`);
    return response.ok;
  } catch (error) {
    console.warn(`FailureWebhookUrl could not be reached (${(error as Error).name}); notice ${notice.code} not delivered.`);
    return false;
  }
}
