import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { Sandbox, startSandbox } from '../../sandbox';
import { AcmeIssuanceSteps, StepMessages, StepStatus } from '../../src/domain/status';
import { launchChromium } from '../support/browser';
import { scaledGateway } from '../support/scaledGateway';

interface Listed {
  hostname: string;
  version: string | null;
  lastFailure: { code: string; failedStep: string | null; record: Record<string, unknown> } | null;
  revoked?: { reason: string } | null;
}

/**
 * The dashboard in Debian's Chromium against the sandbox: every figure it shows comes through the
 * public API with the function key, every run is followed through statusQueryGetUri.
 */
describe('the dashboard in a browser', () => {
  let sandbox: Sandbox;
  let stateDir: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let dashboardUrl: string;

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-dashboard-'));
    sandbox = await startSandbox(scaledGateway({ stateDir }));
    browser = await launchChromium();
    dashboardUrl = `${sandbox.endpoints.apiBaseUrl}/dashboard`;
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await sandbox?.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
  });
  afterEach(async () => context?.close());

  /** Opens the dashboard with the key in the fragment (never sent to a server), as `npm start` prints it. */
  async function open(): Promise<void> {
    await page.goto(`${dashboardUrl}#key=${encodeURIComponent(sandbox.endpoints.functionKey)}`);
    await page.getByRole('heading', { name: 'Certificates', exact: true }).waitFor();
    await page.locator('.certificates').waitFor();
  }

  async function listed(): Promise<Listed[]> {
    const response = await fetch(`${sandbox.endpoints.apiBaseUrl}/certificates`, { headers: { 'x-functions-key': sandbox.endpoints.functionKey } });
    return (await response.json()) as Listed[];
  }

  /** The run panel titled `title`, once its run has finished. */
  async function finishedRun(title: string): Promise<Locator> {
    const run = page.locator('section.operation', { has: page.getByRole('heading', { name: title, exact: true }) });
    await run.locator('[data-testid=runtime-status]', { hasText: /^(Completed|Failed|Terminated)$/ }).waitFor({ timeout: 150_000 });
    return run;
  }

  async function rowFor(hostname: string): Promise<Locator> {
    const row = page.locator(`tr[data-hostname="${hostname}"]`);
    await row.waitFor({ timeout: 30_000 });
    return row;
  }

  async function seriousViolations(): Promise<string[]> {
    const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']).analyze();
    return results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join('; ')})`);
  }

  it('serves its files with a policy that allows nothing from elsewhere, and keeps the key out of the address bar', async () => {
    const response = await fetch(dashboardUrl);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(response.headers.get('content-security-policy')).toMatch(/default-src 'none'; script-src 'self'/);
    const script = await fetch(`${dashboardUrl}/app.js`);
    expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
    const again = await fetch(`${dashboardUrl}/app.js`, { headers: { 'if-none-match': String(script.headers.get('etag')) } });
    expect(again.status).toBe(304);
    expect((await fetch(`${dashboardUrl}/..%2Fhost.json`)).status).toBe(404);
    expect((await fetch(`${dashboardUrl}/secrets.json`)).status).toBe(404);

    const requested: string[] = [];
    page.on('request', (request) => requested.push(request.url()));
    await open();
    expect(page.url()).toBe(dashboardUrl);
    expect(await page.getByText('No certificates are managed yet.').count()).toBe(1);
    expect(await page.getByText('Loading the dashboard').count()).toBe(0);
    // Only this app's origin is ever asked, and never with the key in a URL.
    for (const url of requested) expect(new URL(url).origin).toBe(new URL(dashboardUrl).origin);
    expect(requested.filter((url) => url.includes(sandbox.endpoints.functionKey))).toEqual([]);
  });

  it('without a key, asks for one and then lists', async () => {
    await page.goto(dashboardUrl);
    await page.getByTestId('list-error').waitFor();
    expect(await page.getByTestId('list-error').textContent()).toMatch(/Not signed in/);
    expect(await page.locator('.certificates').count()).toBe(0);
    await page.getByLabel('Function key').fill(sandbox.endpoints.functionKey);
    await page.getByRole('button', { name: 'Use this key' }).click();
    await page.getByText('No certificates are managed yet.').waitFor();
    expect(await page.getByTestId('list-error').count()).toBe(0);
  });

  it('issues a hostname from the form and shows its steps up to Completed; the list shows it', async () => {
    const hostname = 'form.contoso.example';
    await open();
    await page.getByLabel('Hostnames, one per line').fill(hostname);
    await page.getByRole('button', { name: 'Issue', exact: true }).click();
    const run = await finishedRun(`Issue ${hostname}`);
    expect(await run.getByTestId('runtime-status').textContent()).toBe('Completed');
    // The contract's steps as a checklist, every one done; those seen live came in the contract's order.
    const states = await run.locator('.steps li').evaluateAll((items) => items.map((item) => [item.getAttribute('data-step'), item.getAttribute('data-state')]));
    expect(states).toEqual(AcmeIssuanceSteps.map((step) => [step, 'done']));
    const seen = String(await run.getAttribute('data-seen')).split(' ');
    expect(seen.length).toBeGreaterThan(2);
    const positions = seen.map((step) => AcmeIssuanceSteps.indexOf(step as StepStatus));
    expect(positions).not.toContain(-1);
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
    expect(await run.locator('.steps li[data-step=Completed] .steps__message').textContent()).toBe(StepMessages.Completed);
    // The list was refreshed when the run ended.
    const row = await rowFor(hostname);
    expect(await row.locator('[data-label=State]').textContent()).toMatch(/^valid/);
    expect(await row.locator('[data-label=Gateway]').textContent()).toBe('Listener and rule');
    expect(await row.locator('[data-label=Challenge]').textContent()).toBe('http-01');
    expect(await row.locator('[data-label=Expires]').textContent()).toMatch(/^\d{4}-\d{2}-\d{2} \d+ d left$/);
  }, 240_000);

  it('shows a failing hostname with its typed code and failure record, and a refused one with its field', async () => {
    const hostname = 'dashboard-elsewhere.contoso.example';
    await sandbox.pebble.dns.addA(hostname, '192.0.2.10');
    await open();
    await page.getByLabel('Hostnames, one per line').fill(hostname);
    await page.getByRole('button', { name: 'Issue', exact: true }).click();
    const run = await finishedRun(`Issue ${hostname}`);
    expect(await run.getByTestId('runtime-status').textContent()).toBe('Failed');
    expect(await run.getByTestId('failure-code').textContent()).toBe('HostnameNotResolvingToApplicationGateway');
    expect(await run.locator('.steps li[data-state=failed]').getAttribute('data-step')).toBe('CheckDnsResolutionStep');
    const record = JSON.parse(String(await run.getByTestId('failure-record').textContent())) as Record<string, unknown>;
    expect(record).toMatchObject({ code: 'HostnameNotResolvingToApplicationGateway', failedStep: 'CheckDnsResolutionStep', hostname });
    expect(String(record.instanceId)).toMatch(/^certificate-/);
    expect(JSON.stringify(record)).not.toContain(sandbox.endpoints.functionKey);
    expect(await seriousViolations()).toEqual([]);

    await page.getByLabel('Hostnames, one per line').fill('not a hostname!');
    await page.getByRole('button', { name: 'Issue', exact: true }).click();
    await page.getByTestId('issue-error').waitFor();
    expect(await page.getByTestId('issue-error').textContent()).toMatch(/Invalid request.*hostnames\[0\]\.hostname/);
  }, 240_000);

  it('renews and removes from the table, with confirmation, and the list follows each change', async () => {
    const hostname = 'lifecycle.contoso.example';
    await open();
    await page.getByLabel('Hostnames, one per line').fill(hostname);
    await page.getByRole('button', { name: 'Issue', exact: true }).click();
    expect(await (await finishedRun(`Issue ${hostname}`)).getByTestId('runtime-status').textContent()).toBe('Completed');
    const before = (await listed()).find((c) => c.hostname === hostname)!;

    // Cancel first: nothing starts.
    await (await rowFor(hostname)).getByRole('button', { name: `Renew ${hostname}` }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
    expect(await page.locator('section.operation', { hasText: `Renew ${hostname}` }).count()).toBe(0);

    await (await rowFor(hostname)).getByRole('button', { name: `Renew ${hostname}` }).click();
    expect(await page.getByRole('dialog').getByRole('heading').textContent()).toBe(`Renew ${hostname} now?`);
    await page.getByRole('dialog').getByRole('button', { name: 'Renew now' }).click();
    expect(await (await finishedRun(`Renew ${hostname}`)).getByTestId('runtime-status').textContent()).toBe('Completed');
    const renewed = (await listed()).find((c) => c.hostname === hostname)!;
    expect(renewed.version).not.toBe(before.version);

    // A renewal that fails shows in the table's last failure, with its record.
    await sandbox.pebble.dns.addA(hostname, '192.0.2.10');
    await page.locator('section.operation', { hasText: `Renew ${hostname}` }).getByRole('button', { name: 'Dismiss' }).click();
    await (await rowFor(hostname)).getByRole('button', { name: `Renew ${hostname}` }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Renew now' }).click();
    expect(await (await finishedRun(`Renew ${hostname}`)).getByTestId('runtime-status').textContent()).toBe('Failed');
    const failureCell = (await rowFor(hostname)).locator('[data-label="Last failure"]');
    await failureCell.locator('code', { hasText: 'HostnameNotResolvingToApplicationGateway' }).waitFor({ timeout: 30_000 });
    await failureCell.locator('summary').first().click();
    expect(await failureCell.getByTestId('failure-record').textContent()).toContain('"failedStep": "CheckDnsResolutionStep"');
    expect((await listed()).find((c) => c.hostname === hostname)?.lastFailure).toMatchObject({ code: 'HostnameNotResolvingToApplicationGateway', failedStep: 'CheckDnsResolutionStep' });
    await sandbox.pebble.dns.clearA(hostname);

    await (await rowFor(hostname)).getByRole('button', { name: `Remove ${hostname}` }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Remove' }).click();
    expect(await (await finishedRun(`Remove ${hostname}`)).getByTestId('runtime-status').textContent()).toBe('Completed');
    await page.locator(`tr[data-hostname="${hostname}"]`).waitFor({ state: 'detached', timeout: 30_000 });
    expect((await listed()).map((c) => c.hostname)).not.toContain(hostname);
  }, 420_000);

  it('revokes from the table with a reason chosen in the confirmation; the row shows the revocation', async () => {
    const hostname = 'revoked.contoso.example';
    await open();
    await page.getByLabel('Hostnames, one per line').fill(hostname);
    await page.getByRole('button', { name: 'Issue', exact: true }).click();
    expect(await (await finishedRun(`Issue ${hostname}`)).getByTestId('runtime-status').textContent()).toBe('Completed');

    await (await rowFor(hostname)).getByRole('button', { name: `Revoke ${hostname}` }).click();
    const dialog = page.getByRole('dialog');
    expect(await dialog.getByRole('heading').textContent()).toBe(`Revoke ${hostname}?`);
    // keyCompromise is offered first, and says it replaces the certificate.
    expect(await dialog.getByLabel('Reason').inputValue()).toBe('keyCompromise');
    expect(await dialog.locator('#revoke-reason-hint').textContent()).toMatch(/replaces it with a new key/);
    await dialog.getByLabel('Reason').selectOption('cessationOfOperation');
    expect(await dialog.locator('#revoke-reason-hint').textContent()).toMatch(/Revokes only\. The gateway keeps serving the revoked certificate/);
    expect(await seriousViolations()).toEqual([]);
    await dialog.getByRole('button', { name: 'Revoke' }).click();
    expect(await (await finishedRun(`Revoke ${hostname} (cessationOfOperation)`)).getByTestId('runtime-status').textContent()).toBe('Completed');
    await (await rowFor(hostname)).locator('.state--revoked', { hasText: 'revoked (cessationOfOperation)' }).waitFor({ timeout: 30_000 });
    expect((await listed()).find((c) => c.hostname === hostname)).toMatchObject({ revoked: { reason: 'cessationOfOperation' } });
  }, 300_000);

  it('issues with the keyboard alone', async () => {
    const hostname = 'keyboard.contoso.example';
    await open();
    /** Tab until `selector` has focus; fails if it is never reached (a keyboard trap or a missing stop). */
    const tabTo = async (selector: string): Promise<void> => {
      for (let presses = 0; presses < 40; presses++) {
        if (await page.locator(selector).first().evaluate((element) => element === element.ownerDocument.activeElement)) return;
        await page.keyboard.press('Tab');
      }
      throw new Error(`Tab never reached ${selector}`);
    };
    await tabTo('#issue-names');
    await page.keyboard.type(hostname);
    await tabTo('form.issue button[type=submit]');
    await page.keyboard.press('Enter');
    const run = await finishedRun(`Issue ${hostname}`);
    expect(await run.getByTestId('runtime-status').textContent()).toBe('Completed');
    // The row's actions are reachable too, and the dialog takes and returns focus; Escape cancels.
    await rowFor(hostname);
    await tabTo(`button[aria-label="Renew ${hostname}"]`);
    await page.keyboard.press('Enter');
    expect(await page.locator('dialog').evaluate((dialog) => dialog.contains(dialog.ownerDocument.activeElement))).toBe(true);
    await page.keyboard.press('Escape');
    expect(await page.getByRole('dialog').count()).toBe(0);
    expect(await page.locator('body').evaluate((body) => body.ownerDocument.activeElement?.getAttribute('aria-label'))).toBe(`Renew ${hostname}`);
  }, 240_000);

  it('has no serious accessibility violations, wide and on a narrow screen', async () => {
    await open();
    await page.locator('tbody tr[data-hostname]').first().waitFor();
    expect(await seriousViolations()).toEqual([]);
    await page.setViewportSize({ width: 375, height: 800 });
    expect(await seriousViolations()).toEqual([]);
    // On a phone the table is a list of cards: nothing overflows sideways.
    expect(await page.locator('html').evaluate((html) => html.scrollWidth <= html.ownerDocument.defaultView.innerWidth + 1)).toBe(true);
    if (process.env.DASHBOARD_SCREENSHOT) {
      await page.setViewportSize({ width: 1280, height: 800 });
      await page.screenshot({ path: process.env.DASHBOARD_SCREENSHOT, fullPage: true });
    }
  }, 120_000);
});

/**
 * Behind App Service Authentication (the sandbox plays Easy Auth): the page is served without
 * sign-in, its API calls carry the browser's credentials (here a bearer token, as the session
 * would), a reader sees the list and gets the 403 naming the role, a writer issues.
 */
describe('the dashboard behind App Service Authentication', () => {
  let sandbox: Sandbox;
  let stateDir: string;
  let browser: Browser;

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-dashboard-auth-'));
    sandbox = await startSandbox(scaledGateway({ stateDir, appServiceAuthentication: true }));
    browser = await launchChromium();
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await sandbox?.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  async function pageAs(token?: string): Promise<{ page: Page; close: () => Promise<void> }> {
    const context = await browser.newContext(token ? { extraHTTPHeaders: { authorization: `Bearer ${token}` } } : {});
    const page = await context.newPage();
    await page.goto(`${sandbox.endpoints.apiBaseUrl}/dashboard`);
    return { page, close: () => context.close() };
  }

  it('offers sign-in, not a key, to a caller without a session', async () => {
    const { page, close } = await pageAs();
    try {
      await page.getByTestId('list-error').waitFor();
      const link = page.getByTestId('list-error').getByRole('link', { name: 'Sign in' });
      expect(await link.getAttribute('href')).toBe('/.auth/login/aad?post_login_redirect_uri=%2Fapi%2Fdashboard');
      expect(await page.locator('details.access').getAttribute('open')).toBeNull();
    } finally {
      await close();
    }
  });

  it('lets a reader look but not issue, and a writer issue', async () => {
    const reader = sandbox.identity.userToken({ upn: 'reader@contoso.example', oid: '00000000-0000-4000-8000-00000000000a' });
    const asReader = await pageAs(reader);
    try {
      await asReader.page.locator('.certificates').waitFor();
      await asReader.page.getByLabel('Hostnames, one per line').fill('reader.contoso.example');
      await asReader.page.getByRole('button', { name: 'Issue', exact: true }).click();
      await asReader.page.getByTestId('issue-error').waitFor();
      expect(await asReader.page.getByTestId('issue-error').textContent()).toMatch(/Certificates\.Write/);
      expect(await asReader.page.locator('section.operation').count()).toBe(0);
    } finally {
      await asReader.close();
    }

    const writer = sandbox.identity.userToken({ upn: 'writer@contoso.example', oid: '00000000-0000-4000-8000-00000000000b', roles: ['Certificates.Write'] });
    const asWriter = await pageAs(writer);
    try {
      await asWriter.page.locator('.certificates').waitFor();
      await asWriter.page.getByLabel('Hostnames, one per line').fill('writer.contoso.example');
      await asWriter.page.getByRole('button', { name: 'Issue', exact: true }).click();
      const run = asWriter.page.locator('section.operation', { has: asWriter.page.getByRole('heading', { name: 'Issue writer.contoso.example', exact: true }) });
      await run.locator('[data-testid=runtime-status]', { hasText: /^(Completed|Failed)$/ }).waitFor({ timeout: 150_000 });
      expect(await run.getByTestId('runtime-status').textContent()).toBe('Completed');
      await asWriter.page.locator('tr[data-hostname="writer.contoso.example"]').waitFor({ timeout: 30_000 });
    } finally {
      await asWriter.close();
    }
  }, 240_000);
});
