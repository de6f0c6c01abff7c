import { certificateFacts, clip, clipEscaped, Fact, failureFacts, isSuccess, Notice, summaryOf, titleOf } from '../domain/notification';

/**
 * A notice as a Slack incoming webhook takes it: Block Kit blocks, and `text` as the fallback
 * Slack shows in notifications. Limits from Slack's Block Kit reference
 * (api.slack.com/reference/block-kit/blocks): a header's plain_text at most 150 characters; a
 * section's text at most 3000, its fields at most 10 of at most 2000 each; a context block at most
 * 10 elements; a message at most 50 blocks. Text in mrkdwn escapes &, < and > as HTML entities,
 * which Slack reads as control characters ("Formatting text for app surfaces", Escaping text):
 * a hostname or a CA's detail can never become a link or an @channel mention.
 */

export const SLACK_LIMITS = { headerChars: 150, sectionChars: 3000, fields: 10, fieldChars: 2000, contextElements: 10, blocks: 50 } as const;

/** Certificates listed one by one (a renewal run may renew hundreds); the rest are named in one line. */
export const LISTED_CERTIFICATES = 10;

export interface PlainText {
  type: 'plain_text';
  text: string;
}

export interface Mrkdwn {
  type: 'mrkdwn';
  text: string;
}

export type SlackBlock =
  | { type: 'header'; text: PlainText }
  | { type: 'section'; text: Mrkdwn }
  | { type: 'section'; fields: Mrkdwn[] }
  | { type: 'context'; elements: Mrkdwn[] };

export interface SlackMessage {
  text: string;
  blocks: SlackBlock[];
}

export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Escaped text of at most `max` characters: cut before escaping, so that no entity is cut in half. */
export function escapedWithin(text: string, max: number): string {
  return clipEscaped(text, max, escapeMrkdwn);
}

const mrkdwn = (text: string, max: number = SLACK_LIMITS.sectionChars): Mrkdwn => ({ type: 'mrkdwn', text: escapedWithin(text, max) });

/** A field shows its title in bold over its value (the title is ours, the value escaped). */
function field({ title, value }: Fact): Mrkdwn {
  const head = `*${title}*\n`;
  return { type: 'mrkdwn', text: head + escapedWithin(value, SLACK_LIMITS.fieldChars - head.length) };
}

const fieldsSection = (facts: Fact[]): SlackBlock => ({ type: 'section', fields: facts.slice(0, SLACK_LIMITS.fields).map(field) });

export function slackMessageOf(notice: Notice): SlackMessage {
  const blocks: SlackBlock[] = [{ type: 'header', text: { type: 'plain_text', text: clip(titleOf(notice), SLACK_LIMITS.headerChars) } }];
  if (isSuccess(notice)) {
    blocks.push({ type: 'section', text: mrkdwn(notice.message) });
    for (const certificate of notice.certificates.slice(0, LISTED_CERTIFICATES)) blocks.push(fieldsSection(certificateFacts(certificate)));
    const rest = notice.certificates.slice(LISTED_CERTIFICATES);
    if (rest.length) blocks.push({ type: 'section', text: mrkdwn(`…and ${rest.length} more: ${rest.map((c) => c.hostname).join(', ')}`) });
    blocks.push({ type: 'context', elements: [mrkdwn(`appgw-certbot · instance ${notice.instanceId}`)] });
  } else {
    blocks.push({ type: 'section', text: mrkdwn(notice.detail ? `${notice.message}\n${notice.detail}` : notice.message) });
    blocks.push(fieldsSection(failureFacts(notice)));
    blocks.push({ type: 'context', elements: [mrkdwn('appgw-certbot')] });
  }
  return { text: escapedWithin(summaryOf(notice), SLACK_LIMITS.sectionChars), blocks };
}
