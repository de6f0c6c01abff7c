import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KnownBlock } from '@slack/types';
import type * as AdaptiveCardsSdk from 'adaptivecards';
import { DEFAULT_NOTICE_KINDS, FailureNotice, flavourOf, Notice, NoticeKind, successKindOf, SuccessNotice } from '../../src/domain/notification';
import { webhookBody } from '../../src/notify/payload';
import { escapeMrkdwn, SLACK_LIMITS, SlackMessage, slackMessageOf } from '../../src/notify/slack';
import { ADAPTIVE_CARD_CONTENT_TYPE, escapeMarkdown, TEAMS_MESSAGE_LIMIT_BYTES, TeamsMessage } from '../../src/notify/teams';
import { postNotice } from '../../src/notify/webhook';

// Microsoft's Adaptive Cards SDK. Its package main is ES modules, which jest (CommonJS) does not
// load; the package's UMD bundle is the same SDK and needs no DOM to parse and serialise a card.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const AdaptiveCards = require('adaptivecards/dist/adaptivecards.js') as typeof AdaptiveCardsSdk;

const SLACK = new URL('https://hooks.slack.com/services/T000/B000/secret');
const TEAMS = new URL('https://prod-01.westeurope.logic.azure.com/workflows/abc/triggers/manual/paths/invoke?sig=secret');
const JSON_RECEIVER = new URL('https://tickets.example.com/hook');

const failure: FailureNotice = { kind: 'failure', code: 'AcmeRateLimited', message: 'Wait.', detail: 'too many', hostname: 'a.example.com', instanceId: 'certificate-a.example.com', failedStep: 'GetAcmeOrderStep' };
const overdue: FailureNotice = { kind: 'overdue', code: 'RenewalOverdue', message: 'The certificate expires in 5 days and its last renewal failed.', hostname: 'b.example.com', instanceId: 'certificate-b.example.com' };
const issued: SuccessNotice = {
  kind: 'issued',
  message: 'The certificate is in Key Vault and bound to the Application Gateway.',
  hostnames: ['c.example.com'],
  certificates: [{ hostname: 'c.example.com', names: ['c.example.com', 'www.c.example.com'], certificateName: 'c-example-com-1a2b', notAfter: '2026-12-01T00:00:00.000Z', challengeType: 'http-01' }],
  instanceId: 'certificate-c.example.com',
};
const renewed: SuccessNotice = {
  kind: 'renewed',
  message: 'A new version of the certificate is in Key Vault and bound to the Application Gateway.',
  hostnames: ['*.d.example.com'],
  certificates: [{ hostname: '*.d.example.com', certificateName: 'wildcard-d-example-com-3c4d', notAfter: '2026-12-02T00:00:00.000Z', challengeType: 'dns-01' }],
  instanceId: 'renewals-20260901T030000',
};
const notices: [NoticeKind, Notice][] = [
  ['failure', failure],
  ['overdue', overdue],
  ['issued', issued],
  ['renewed', renewed],
];

/** What Microsoft's SDK says about a card: parse warnings, and what it drops when writing the card back out. */
function adaptiveCardProblems(card: unknown): string[] {
  const parsed = new AdaptiveCards.AdaptiveCard();
  const context = new AdaptiveCards.SerializationContext();
  parsed.parse(card, context);
  const problems: string[] = [];
  for (let i = 0; i < context.eventCount; i++) problems.push(context.getEventAt(i).message);
  for (const event of parsed.validateProperties().validationEvents) problems.push(event.message);
  // Written back for the card's own version, every property the SDK knows survives; one it does
  // not know (a typo, another host's extension, a property newer than the version) is dropped.
  const version = (card as { version?: string }).version ?? '';
  const written = parsed.toJSON(new AdaptiveCards.SerializationContext(AdaptiveCards.Version.parse(version, new AdaptiveCards.SerializationContext())));
  if (JSON.stringify(sortKeys(written)) !== JSON.stringify(sortKeys(card))) problems.push(`the SDK does not write the card back as it was: ${JSON.stringify(written)}`);
  return problems;
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, sortKeys(v)]));
  return value;
}

/** Slack's documented Block Kit limits, checked at run time (the types check the shape at compile time). */
function slackProblems(message: SlackMessage): string[] {
  const problems: string[] = [];
  const text = (where: string, t: { type: string; text: string }, max: number): void => {
    if (t.text.length < 1 || t.text.length > max) problems.push(`${where}: ${t.text.length} characters (1..${max})`);
    if (t.type === 'mrkdwn' && /[<>]|&(?!amp;|lt;|gt;)/.test(t.text)) problems.push(`${where}: unescaped &, < or >`);
  };
  if (message.blocks.length > SLACK_LIMITS.blocks) problems.push(`${message.blocks.length} blocks`);
  if (!message.text) problems.push('no fallback text');
  message.blocks.forEach((block, i) => {
    switch (block.type) {
      case 'header':
        if (block.text.type !== 'plain_text') problems.push(`block ${i}: a header takes plain_text`);
        text(`block ${i}`, block.text, SLACK_LIMITS.headerChars);
        break;
      case 'section':
        if ('fields' in block) {
          if (block.fields.length < 1 || block.fields.length > SLACK_LIMITS.fields) problems.push(`block ${i}: ${block.fields.length} fields`);
          block.fields.forEach((f, j) => text(`block ${i} field ${j}`, f, SLACK_LIMITS.fieldChars));
        } else text(`block ${i}`, block.text, SLACK_LIMITS.sectionChars);
        break;
      case 'context':
        if (block.elements.length < 1 || block.elements.length > SLACK_LIMITS.contextElements) problems.push(`block ${i}: ${block.elements.length} elements`);
        block.elements.forEach((e, j) => text(`block ${i} element ${j}`, e, SLACK_LIMITS.sectionChars));
        break;
      default:
        problems.push(`block ${i}: unexpected type ${(block as { type: string }).type}`);
    }
  });
  return problems;
}

/** A batch of 100 certificates of 100 long names each, with a long detail: the largest notice there can be. */
function largest(kind: 'issued' | 'failure'): Notice {
  const long = (i: number, j: number): string => `${'n'.repeat(50)}-${i}-${j}.${'d'.repeat(60)}.example.com`;
  const certificates = Array.from({ length: 100 }, (_, i) => ({ hostname: long(i, 0), names: Array.from({ length: 100 }, (_, j) => long(i, j)), certificateName: `c${i}`.padEnd(127, 'x'), notAfter: '2026-12-01T00:00:00.000Z', challengeType: 'dns-01' as const }));
  if (kind === 'issued') return { kind, message: 'm'.repeat(5000), hostnames: certificates.map((c) => c.hostname), certificates, instanceId: 'renewals-20260901T030000' };
  return { kind, code: 'SomeHostnamesFailed', message: 'Some failed.', detail: '<&>'.repeat(10_000), hostnames: certificates.map((c) => c.hostname), instanceId: 'batch-1', failedStep: 'CreateCertificateStep' };
}

/**
 * Markdown a CommonMark renderer would act on in a card's text (Adaptive Cards "Text features":
 * bold, italic, lists, links; and the DATE()/TIME() functions): every character that opens markup
 * and is not backslash-escaped, and every unescaped block marker at a line's start.
 */
function unescapedMarkdown(text: string): string[] {
  const found: string[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\' && /[!-/:-@[-`{-~]/.test(text[i + 1] ?? '')) i++;
    else if ('\\`*_[]<>{}~&'.includes(text[i])) found.push(`${text[i]} at ${i}`);
  }
  for (const line of text.split(/\r\n|\r|\n/)) {
    if (/^[ \t]*([#+=-]|\d{1,9}[.)])([ \t#=-]|$)/.test(line)) found.push(`block marker in ${JSON.stringify(line)}`);
  }
  return found;
}

/** What a CommonMark renderer shows for escaped text: a backslash before ASCII punctuation is dropped. */
const shownAs = (text: string): string => text.replace(/\\([!-/:-@[-`{-~])/g, '$1');

/** Every text of a card a user sees: TextBlocks, and facts' titles and values. */
function cardTexts(message: TeamsMessage): string[] {
  return message.attachments[0].content.body.flatMap((element) => (element.type === 'TextBlock' ? [element.text] : element.facts.flatMap((f) => [f.title, f.value])));
}

describe('webhook payloads', () => {
  it('chooses the format by the URL', () => {
    expect(flavourOf(SLACK)).toBe('slack');
    expect(flavourOf(new URL('https://contoso.webhook.office.com/webhookb2/x'))).toBe('teams');
    expect(flavourOf(TEAMS)).toBe('teams');
    expect(flavourOf(new URL('https://default123.environment.api.powerplatform.com/powerautomate/x'))).toBe('teams');
    expect(flavourOf(JSON_RECEIVER)).toBe('json');
  });

  it.each(notices)('sends a JSON receiver the %s record itself', (kind, notice) => {
    expect(webhookBody(JSON_RECEIVER, notice)).toEqual({ source: 'appgw-certbot', ...notice });
    expect(webhookBody(JSON_RECEIVER, notice)).toMatchObject({ kind });
  });

  describe('Microsoft Teams (Workflows): an Adaptive Card in a message envelope', () => {
    it.each(notices)('the %s notice is a card the Adaptive Cards SDK reads without a complaint', (_kind, notice) => {
      const message = webhookBody(TEAMS, notice) as TeamsMessage;
      expect(message.type).toBe('message');
      expect(message.attachments).toHaveLength(1);
      expect(message.attachments[0]).toMatchObject({ contentType: ADAPTIVE_CARD_CONTENT_TYPE, contentUrl: null });
      const card = message.attachments[0].content;
      expect(card).toMatchObject({ $schema: 'http://adaptivecards.io/schemas/adaptive-card.json', type: 'AdaptiveCard', version: '1.4' });
      expect(adaptiveCardProblems(card)).toEqual([]);
    });

    it('the validator bites: an unknown element, a bad value, an unknown property and a 1.5 property in a 1.4 card are each reported', () => {
      const card = (webhookBody(TEAMS, failure) as TeamsMessage).attachments[0].content;
      const variants: unknown[] = [
        { ...card, body: [...card.body, { type: 'TextBlok', text: 'x' }] },
        { ...card, body: [{ ...card.body[0], color: 'Purple' }, ...card.body.slice(1)] },
        { ...card, body: [{ ...card.body[0], colour: 'Good' }, ...card.body.slice(1)] },
        { ...card, body: [{ ...card.body[0], style: 'heading' }, ...card.body.slice(1)] },
      ];
      for (const variant of variants) expect(adaptiveCardProblems(variant)).not.toEqual([]);
    });

    it('a failure is an attention-coloured title, the message and detail wrapped, and a fact set of hostname, code, step and instance', () => {
      const card = (webhookBody(TEAMS, failure) as TeamsMessage).attachments[0].content;
      expect(card.body).toEqual([
        { type: 'TextBlock', text: 'Certificate request failed for a.example.com', wrap: true, size: 'Medium', weight: 'Bolder', color: 'Attention' },
        { type: 'TextBlock', text: 'Wait.', wrap: true },
        { type: 'TextBlock', text: 'too many', wrap: true, isSubtle: true },
        {
          type: 'FactSet',
          facts: [
            { title: 'Hostname', value: 'a.example.com' },
            { title: 'Code', value: 'AcmeRateLimited' },
            { title: 'Step', value: 'GetAcmeOrderStep' },
            { title: 'Instance', value: 'certificate-a.example.com' },
          ],
        },
      ]);
      expect((webhookBody(TEAMS, overdue) as TeamsMessage).attachments[0].content.body[0]).toMatchObject({ text: 'Renewal overdue for b.example.com', color: 'Attention' });
    });

    it('a success is a good-coloured title and, per certificate, its names, Key Vault certificate, expiry and challenge', () => {
      const card = (webhookBody(TEAMS, issued) as TeamsMessage).attachments[0].content;
      expect(card.body[0]).toMatchObject({ text: 'Certificate issued for c.example.com', color: 'Good' });
      expect(card.body).toContainEqual({
        type: 'FactSet',
        separator: true,
        facts: [
          { title: 'Hostnames', value: 'c.example.com, www.c.example.com' },
          { title: 'Key Vault certificate', value: 'c-example-com-1a2b' },
          { title: 'Expires', value: '2026-12-01T00:00:00.000Z' },
          { title: 'Challenge', value: 'http-01' },
        ],
      });
      expect(card.body).toContainEqual({ type: 'FactSet', separator: true, facts: [{ title: 'Instance', value: 'certificate-c.example.com' }] });
      // A wildcard's `*` is escaped: shown as written, never emphasis.
      expect((webhookBody(TEAMS, renewed) as TeamsMessage).attachments[0].content.body[0]).toMatchObject({ text: 'Certificate renewed for \\*.d.example.com', color: 'Good' });
    });

    it('escapes Markdown in what is not ours: a CA detail\'s link and a wildcard hostname show as written', () => {
      const notice: FailureNotice = { ...failure, hostname: '*.example.com', detail: 'see [x](https://evil) for *.example.com' };
      const message = webhookBody(TEAMS, notice) as TeamsMessage;
      const body = message.attachments[0].content.body;
      expect(body[0]).toMatchObject({ text: 'Certificate request failed for \\*.example.com' });
      expect(body[2]).toEqual({ type: 'TextBlock', text: 'see \\[x\\](https://evil) for \\*.example.com', wrap: true, isSubtle: true });
      expect(body[3]).toMatchObject({ facts: expect.arrayContaining([{ title: 'Hostname', value: '\\*.example.com' }]) });
      for (const text of cardTexts(message)) expect(unescapedMarkdown(text)).toEqual([]);
      expect(shownAs(String((body[2] as { text: string }).text))).toBe(notice.detail);
    });

    it('escapes every Markdown form a TextBlock renders, and the date functions; the reader sees the text as it was', () => {
      const hostile = [
        '**bold** _italic_ [link](https://evil.example) <https://evil.example> `code` ~~gone~~ a\\b &amp;',
        '- item\r+ item\r1. one\n10) ten\n# heading\n> quote\ntext\n===\n---',
        'on {{DATE(2017-02-14T06:00:00Z, SHORT)}} at {{TIME(2017-02-14T06:00:00Z)}}',
      ].join('\n');
      const hostileNotices: Notice[] = [
        { ...failure, message: hostile, detail: hostile, hostname: hostile, failedStep: hostile, instanceId: hostile },
        { ...issued, message: hostile, hostnames: [hostile], certificates: [{ ...issued.certificates[0], hostname: hostile, names: [hostile, '*.c.example.com'], certificateName: hostile }], instanceId: hostile },
      ];
      for (const notice of hostileNotices) {
        const message = webhookBody(TEAMS, notice) as TeamsMessage;
        const texts = cardTexts(message);
        for (const text of texts) expect(unescapedMarkdown(text)).toEqual([]);
        expect(texts.map(shownAs)).toContain(hostile);
        expect(adaptiveCardProblems(message.attachments[0].content)).toEqual([]);
      }
      // Ordinary names, codes and dates are left as they are.
      expect(escapeMarkdown('1.example.com 2026-12-01T00:00:00.000Z AcmeRateLimited certificate-a.example.com')).toBe('1.example.com 2026-12-01T00:00:00.000Z AcmeRateLimited certificate-a.example.com');
    });

    it('the Markdown check bites: a link, emphasis, a list item and a date function left as they are are each reported', () => {
      for (const text of ['[x](https://evil)', '*.example.com', '- item', 'x\r1. one', '{{DATE(2017-02-14T06:00:00Z)}}', 'a\\\\*b*']) expect(unescapedMarkdown(text)).not.toEqual([]);
    });

    it.each(['issued', 'failure'] as const)('the largest %s notice stays under Teams\' 28 KB and is still a valid card', (kind) => {
      const message = webhookBody(TEAMS, largest(kind)) as TeamsMessage;
      expect(Buffer.byteLength(JSON.stringify(message))).toBeLessThan(TEAMS_MESSAGE_LIMIT_BYTES);
      expect(adaptiveCardProblems(message.attachments[0].content)).toEqual([]);
      if (kind === 'issued') expect(JSON.stringify(message)).toContain('…and 90 more: ');
    });
  });

  describe('Slack: Block Kit with a text fallback', () => {
    it.each(notices)('the %s notice is Block Kit within Slack\'s limits', (_kind, notice) => {
      // Compile-time: the message's blocks are Slack's own block types (@slack/types).
      const message: { text: string; blocks: KnownBlock[] } = slackMessageOf(notice);
      expect(webhookBody(SLACK, notice)).toEqual(message);
      expect(slackProblems(slackMessageOf(notice))).toEqual([]);
    });

    it('the limit check bites: a long header, eleven fields, an unescaped < and an unknown block are each reported', () => {
      const good = slackMessageOf(failure);
      const field = { type: 'mrkdwn' as const, text: 'x' };
      const variants: SlackMessage[] = [
        { ...good, blocks: [{ type: 'header', text: { type: 'plain_text', text: 'h'.repeat(151) } }] },
        { ...good, blocks: [{ type: 'section', fields: Array.from({ length: 11 }, () => field) }] },
        { ...good, blocks: [{ type: 'section', text: { type: 'mrkdwn', text: '<!channel>' } }] },
        { ...good, blocks: [{ type: 'divider' } as unknown as SlackMessage['blocks'][number]] },
      ];
      for (const variant of variants) expect(slackProblems(variant)).not.toEqual([]);
    });

    it('a failure: header, message and detail, fields of hostname, code, step and instance', () => {
      expect(slackMessageOf(failure)).toEqual({
        text: 'Certificate request failed for a.example.com at GetAcmeOrderStep: AcmeRateLimited. Wait.\nDetail: too many\nInstance: certificate-a.example.com',
        blocks: [
          { type: 'header', text: { type: 'plain_text', text: 'Certificate request failed for a.example.com' } },
          { type: 'section', text: { type: 'mrkdwn', text: 'Wait.\ntoo many' } },
          {
            type: 'section',
            fields: [
              { type: 'mrkdwn', text: '*Hostname*\na.example.com' },
              { type: 'mrkdwn', text: '*Code*\nAcmeRateLimited' },
              { type: 'mrkdwn', text: '*Step*\nGetAcmeOrderStep' },
              { type: 'mrkdwn', text: '*Instance*\ncertificate-a.example.com' },
            ],
          },
          { type: 'context', elements: [{ type: 'mrkdwn', text: 'appgw-certbot' }] },
        ],
      });
    });

    it('a success: one section of fields per certificate, and the instance in the context', () => {
      const message = slackMessageOf(renewed);
      expect(message.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: 'Certificate renewed for *.d.example.com' } });
      expect(message.blocks).toContainEqual({
        type: 'section',
        fields: [
          { type: 'mrkdwn', text: '*Hostname*\n*.d.example.com' },
          { type: 'mrkdwn', text: '*Key Vault certificate*\nwildcard-d-example-com-3c4d' },
          { type: 'mrkdwn', text: '*Expires*\n2026-12-02T00:00:00.000Z' },
          { type: 'mrkdwn', text: '*Challenge*\ndns-01' },
        ],
      });
      expect(message.blocks[message.blocks.length - 1]).toEqual({ type: 'context', elements: [{ type: 'mrkdwn', text: 'appgw-certbot · instance renewals-20260901T030000' }] });
    });

    it('escapes &, < and > so that a CA\'s detail can neither link nor mention', () => {
      expect(escapeMrkdwn('a <!channel> & <https://evil.example|click>')).toBe('a &lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;');
      const message = slackMessageOf({ ...failure, detail: '<!channel> R&D' });
      expect(message.blocks[1]).toEqual({ type: 'section', text: { type: 'mrkdwn', text: 'Wait.\n&lt;!channel&gt; R&amp;D' } });
      expect(message.text).toContain('&lt;!channel&gt; R&amp;D');
    });

    it.each(['issued', 'failure'] as const)('the largest %s notice is cut within every limit, never inside an entity', (kind) => {
      const message = slackMessageOf(largest(kind));
      expect(slackProblems(message)).toEqual([]);
      const section = message.blocks[1] as { text: { text: string } };
      expect(section.text.text.endsWith('…')).toBe(true);
    });
  });
});

describe('issued or renewed (the NotifySuccess activity)', () => {
  const certificate = issued.certificates[0];
  it('is renewed only when the operation was started as a renewal (renew-now, the renewal timer)', () => {
    expect(successKindOf({ renewal: true, certificates: [certificate] })).toBe('renewed');
    // A first request, and a report from before the flag (in flight across an upgrade), say issued.
    expect(successKindOf({ certificates: [certificate] })).toBe('issued');
  });

  it('an imported certificate is issued, whatever the report says', () => {
    expect(successKindOf({ renewal: true, certificates: [{ ...certificate, challengeType: 'import' }] })).toBe('issued');
  });
});

describe('posting a notice', () => {
  const received: { path: string; body: unknown }[] = [];
  let answer = 204;
  const receiver = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      received.push({ path: request.url ?? '', body: JSON.parse(body) });
      response.writeHead(answer).end();
    });
  });
  let url: URL;

  beforeAll(async () => {
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    url = new URL(`http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook/secret-token-123`);
  });
  afterAll(() => receiver.close());
  beforeEach(() => {
    received.length = 0;
    answer = 204;
  });

  it('posts only the enabled events: failures and overdue renewals by default, successes when opted in', async () => {
    const defaults = { failureWebhookUrl: url, notificationEvents: [...DEFAULT_NOTICE_KINDS] };
    expect(await postNotice(defaults, failure)).toBe(true);
    expect(await postNotice(defaults, overdue)).toBe(true);
    expect(await postNotice(defaults, issued)).toBe(false);
    expect(await postNotice(defaults, renewed)).toBe(false);
    expect(received.map((r) => (r.body as Notice).kind)).toEqual(['failure', 'overdue']);
    received.length = 0;
    expect(await postNotice({ failureWebhookUrl: url, notificationEvents: ['renewed'] }, renewed)).toBe(true);
    expect(await postNotice({ failureWebhookUrl: url, notificationEvents: ['renewed'] }, failure)).toBe(false);
    expect(received).toEqual([{ path: '/hook/secret-token-123', body: { source: 'appgw-certbot', ...renewed } }]);
    expect(await postNotice({ failureWebhookUrl: undefined, notificationEvents: ['failure'] }, failure)).toBe(false);
  });

  it('a receiver that refuses or cannot be reached is logged without the URL, and never throws', async () => {
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      answer = 500;
      expect(await postNotice({ failureWebhookUrl: url, notificationEvents: ['issued'] }, issued)).toBe(false);
      const closed = new URL('http://127.0.0.1:1/hook/secret-token-123');
      expect(await postNotice({ failureWebhookUrl: closed, notificationEvents: ['failure'] }, failure)).toBe(false);
      const logged = warn.mock.calls.map((call) => call.join(' '));
      expect(logged).toEqual([expect.stringContaining('HTTP 500; notice issued not delivered'), expect.stringContaining('could not be reached')]);
      for (const line of logged) expect(line).not.toContain('secret-token-123');
    } finally {
      warn.mockRestore();
    }
  });
});
