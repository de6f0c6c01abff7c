import { flavourOf, webhookBody } from '../../src/domain/notification';

const notice = { kind: 'failure' as const, code: 'AcmeRateLimited', message: 'Wait.', detail: 'too many', hostname: 'a.example.com', instanceId: 'certificate-a.example.com', failedStep: 'GetAcmeOrderStep' };

describe('webhook payloads', () => {
  it('chooses the format by the URL', () => {
    expect(flavourOf(new URL('https://hooks.slack.com/services/T/B/x'))).toBe('slack');
    expect(flavourOf(new URL('https://contoso.webhook.office.com/webhookb2/x'))).toBe('teams');
    expect(flavourOf(new URL('https://prod-01.westeurope.logic.azure.com/workflows/x'))).toBe('teams');
    expect(flavourOf(new URL('https://tickets.example.com/hook'))).toBe('json');
  });

  it('sends Slack and Teams a readable text with the code, step, detail and instance', () => {
    const slack = webhookBody(new URL('https://hooks.slack.com/services/T/B/x'), notice) as { text: string };
    expect(slack.text).toBe('Certificate request failed for a.example.com at GetAcmeOrderStep: AcmeRateLimited. Wait.\nDetail: too many\nInstance: certificate-a.example.com');
    const teams = webhookBody(new URL('https://contoso.webhook.office.com/x'), notice) as Record<string, string>;
    expect(teams['@type']).toBe('MessageCard');
    expect(teams.text).toBe(slack.text);
  });

  it('sends anything else the record itself as JSON', () => {
    expect(webhookBody(new URL('https://tickets.example.com/hook'), notice)).toEqual({ source: 'appgw-certbot', ...notice });
  });
});
