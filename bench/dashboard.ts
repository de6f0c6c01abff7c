import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { startSandbox } from '../sandbox';

/**
 * `npm run bench -- --dashboard`: what an operator waits for on the dashboard with many
 * certificates: GET /api/certificates (Key Vault, the gateway, the CA's renewal info, and one
 * Durable status read per certificate for its last failure) and the page from navigation to the
 * table drawn, in Debian's Chromium; and the bytes the browser downloads. Medians of RUNS.
 */
const CERTIFICATES = 40;
const RUNS = 7;

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

export async function dashboardFigures(): Promise<void> {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-dashboard-'));
  const sandbox = await startSandbox({ stateDir, settings: { MaxHostnamesPerRequest: '100' } });
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox'] });
  try {
    const { apiBaseUrl, functionKey } = sandbox.endpoints;
    const hostnames = Array.from({ length: CERTIFICATES }, (_, i) => ({ hostname: `d${i}.dashboard.example` }));
    const started = await fetch(`${apiBaseUrl}/AddMultipleCertificatesFunctions_HttpStart`, { method: 'POST', headers: { 'x-functions-key': functionKey }, body: JSON.stringify({ hostnames }) });
    if (started.status !== 202) throw new Error(`the batch answered ${started.status}`);
    const { statusQueryGetUri } = (await started.json()) as { statusQueryGetUri: string };
    for (;;) {
      const status = (await (await fetch(statusQueryGetUri)).json()) as { runtimeStatus: string };
      if (status.runtimeStatus === 'Completed') break;
      if (!['Pending', 'Running'].includes(status.runtimeStatus)) throw new Error(`the batch ended ${status.runtimeStatus}`);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }

    const listMs: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const t = performance.now();
      const response = await fetch(`${apiBaseUrl}/certificates`, { headers: { 'x-functions-key': functionKey } });
      const rows = (await response.json()) as unknown[];
      listMs.push(performance.now() - t);
      if (rows.length !== CERTIFICATES) throw new Error(`listed ${rows.length} certificates`);
    }

    const pageMs: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const page = await (await browser.newContext()).newPage();
      const t = performance.now();
      await page.goto(`${apiBaseUrl}/dashboard#key=${encodeURIComponent(functionKey)}`);
      await page.locator(`tbody tr[data-hostname]`).nth(CERTIFICATES - 1).waitFor();
      pageMs.push(performance.now() - t);
      await page.context().close();
    }

    const dir = path.join(__dirname, '..', 'dashboard');
    const files = ['index.html', 'app.js', 'app.css'].map((name) => fs.readFileSync(path.join(dir, name)));
    const raw = files.reduce((n, f) => n + f.length, 0);
    const gzip = files.reduce((n, f) => n + gzipSync(f).length, 0);
    console.log(`\nDashboard with ${CERTIFICATES} certificates on the local sandbox (medians of ${RUNS}):`);
    console.log(`  GET /api/certificates ${median(listMs).toFixed(0)} ms (min ${Math.min(...listMs).toFixed(0)}, max ${Math.max(...listMs).toFixed(0)})`);
    console.log(`  page from navigation to all ${CERTIFICATES} rows drawn in Chromium ${median(pageMs).toFixed(0)} ms (min ${Math.min(...pageMs).toFixed(0)}, max ${Math.max(...pageMs).toFixed(0)})`);
    console.log(`  files the browser downloads: ${(raw / 1024).toFixed(1)} KiB (${(gzip / 1024).toFixed(1)} KiB if gzipped; the app serves them as they are)`);
  } finally {
    await browser.close();
    await sandbox.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
}
