import { certificateFacts, clipEscaped, Fact, failureFacts, isSuccess, Notice, titleOf } from '../domain/notification';

/**
 * A notice as Microsoft Teams Workflows take it: an Adaptive Card in a message envelope. The
 * retired Office 365 connectors' MessageCard is refused by Workflows ("When a Teams webhook request
 * is received" posts Adaptive Cards only); the envelope is the one Learn gives (Microsoft Learn,
 * Teams platform, "Create and send messages" / "Send Adaptive Cards using an incoming webhook":
 * `type` "message", `attachments` of contentType application/vnd.microsoft.card.adaptive,
 * contentUrl null, `content` the card). Teams renders Adaptive Cards up to version 1.5 (Learn,
 * Copilot Studio "Adaptive Cards overview": "Teams is also limited to version 1.5"); this card uses
 * 1.4, and only elements and properties from 1.0-1.2 (TextBlock, FactSet). Learn's incoming-webhook
 * page: "The message size limit is 28 KB"; the clipping below keeps any notice far below it.
 *
 * Text is Markdown to Teams: a TextBlock's text and a Fact's title and value render "a subset of
 * Commonmark" (Learn, Adaptive Cards "Text features": **bold**, _italic_, `- ` and `1. ` lists,
 * [Title](url) links; Teams platform "Format cards in Teams": Markdown in TextBlock, Fact.Title and
 * Fact.Value, no HTML), and `{{DATE(...)}}`/`{{TIME(...)}}` are replaced in it ("Text features",
 * Date/Time formatting). Everything not ours (hostnames such as *.example.com, a CA's detail,
 * messages) is escaped with CommonMark's backslash escapes, so it shows as written and never
 * becomes a link, emphasis, a list or a date.
 */

/** Characters that open Markdown anywhere in a line: emphasis, links and autolinks, code, strikethrough, entities, date functions, and the escape itself. */
const MARKDOWN_INLINE = /[\\`*_[\]<>{}~&]/g;
/**
 * What opens a block only at the start of a line, followed by a space or the line's end: a heading
 * (`#`), a bullet (`-`, `+`), a setext underline or thematic break (`===`, `---`)...
 */
const BLOCK_MARKER = /^([ \t]*)([#+=-])(?=[ \t#=-]|$)/gm;
/** ...and a numbered item (`1.`, `1)`; at most 9 digits), whose digits stay as they are: `1.example.com` is no list. */
const NUMBERED_ITEM = /^([ \t]*\d{1,9})([.)])(?=[ \t]|$)/gm;

/**
 * Text shown as written by a CommonMark renderer: a backslash before every ASCII punctuation
 * character that could start markup (CommonMark 0.31, "Backslash escapes": any ASCII punctuation
 * may be escaped, and is then a literal character). `^` also matches after `\r`, which Adaptive
 * Cards take as a line break too.
 */
export function escapeMarkdown(text: string): string {
  return text.replace(MARKDOWN_INLINE, (c) => `\\${c}`).replace(BLOCK_MARKER, '$1\\$2').replace(NUMBERED_ITEM, '$1\\$2');
}

/** Untrusted text for a TextBlock or a Fact: escaped, at most `max` characters. */
const markdownWithin = (text: string, max: number): string => clipEscaped(text, max, escapeMarkdown);

export const ADAPTIVE_CARD_VERSION = '1.4';
export const ADAPTIVE_CARD_CONTENT_TYPE = 'application/vnd.microsoft.card.adaptive';
/** Learn's limit for a webhook message (the whole JSON envelope). */
export const TEAMS_MESSAGE_LIMIT_BYTES = 28 * 1000;

/** Certificates listed one by one (a renewal run may renew hundreds); the rest are named in one line. */
export const LISTED_CERTIFICATES = 10;
const TITLE_CHARS = 200;
const MESSAGE_CHARS = 1000;
const DETAIL_CHARS = 2000;
const FACT_VALUE_CHARS = 300;
const MORE_CHARS = 1000;

export interface TextBlock {
  type: 'TextBlock';
  text: string;
  wrap: true;
  size?: 'Medium';
  weight?: 'Bolder';
  color?: 'Attention' | 'Good';
  isSubtle?: true;
  separator?: true;
}

export interface FactSet {
  type: 'FactSet';
  facts: Fact[];
  separator?: true;
}

export interface AdaptiveCard {
  $schema: 'http://adaptivecards.io/schemas/adaptive-card.json';
  type: 'AdaptiveCard';
  version: typeof ADAPTIVE_CARD_VERSION;
  body: (TextBlock | FactSet)[];
}

export interface TeamsMessage {
  type: 'message';
  attachments: { contentType: typeof ADAPTIVE_CARD_CONTENT_TYPE; contentUrl: null; content: AdaptiveCard }[];
}

const factSet = (facts: Fact[], separator = false): FactSet => ({
  type: 'FactSet',
  // Titles are this app's words; values are names, codes and ids from elsewhere.
  facts: facts.map((fact) => ({ title: fact.title, value: markdownWithin(fact.value, FACT_VALUE_CHARS) })),
  ...(separator ? { separator: true as const } : {}),
});

const text = (value: string, extra: Partial<TextBlock> = {}): TextBlock => ({ type: 'TextBlock', text: value, wrap: true, ...extra });

export function adaptiveCardOf(notice: Notice): AdaptiveCard {
  const title = text(markdownWithin(titleOf(notice), TITLE_CHARS), { size: 'Medium', weight: 'Bolder', color: isSuccess(notice) ? 'Good' : 'Attention' });
  const body: AdaptiveCard['body'] = [title, text(markdownWithin(notice.message, MESSAGE_CHARS))];
  if (isSuccess(notice)) {
    const listed = notice.certificates.slice(0, LISTED_CERTIFICATES);
    for (const certificate of listed) body.push(factSet(certificateFacts(certificate), true));
    const rest = notice.certificates.slice(LISTED_CERTIFICATES);
    if (rest.length) body.push(text(markdownWithin(`…and ${rest.length} more: ${rest.map((c) => c.hostname).join(', ')}`, MORE_CHARS), { isSubtle: true }));
    body.push(factSet([{ title: 'Instance', value: notice.instanceId }], true));
  } else {
    if (notice.detail) body.push(text(markdownWithin(notice.detail, DETAIL_CHARS), { isSubtle: true }));
    body.push(factSet(failureFacts(notice)));
  }
  return { $schema: 'http://adaptivecards.io/schemas/adaptive-card.json', type: 'AdaptiveCard', version: ADAPTIVE_CARD_VERSION, body };
}

export function teamsMessageOf(notice: Notice): TeamsMessage {
  return { type: 'message', attachments: [{ contentType: ADAPTIVE_CARD_CONTENT_TYPE, contentUrl: null, content: adaptiveCardOf(notice) }] };
}
