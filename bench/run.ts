import { dashboardFigures } from './dashboard';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { instanceFileName } from '../sandbox/host/store';
import { startSandbox, Sandbox } from '../sandbox';
import { removeHttpsBindings } from '../sandbox/emulators/gatewayModel';
import { instanceIdFor } from '../src/domain/requests';
import { GatewayWriter } from '../src/functions/names';
import { criticalPath, Part } from './criticalPath';
import { withRateLimitOverride } from '../test/support/rateLimitOverride';

/** Hundreds of certificates for bench.example: Let's Encrypt's limits raised, as with an override (still counted, as in production). */
const BENCH_LIMITS = { NewOrdersPerAccount: 100_000, CertificatesPerDomain: 100_000 };

/**
 * `npm run bench [-- --quick]`: the product's figures on the local sandbox with the real-time
 * clock and a realistic gateway (every PUT a long-running operation of 45 s, polled as Azure
 * answers it). For 1, 10 and 99 hostnames per request (see plan): time to live (POST to Completed, the
 * gateway serving it; median of several runs), certificates per second, ACME requests per
 * certificate by type, gateway writes per request, Key Vault calls and history events per
 * certificate, the durable host's peak memory; then renew-now of one hostname, a timer renewal run
 * of ten due certificates (gateway writes per run), DNS-01 for one name and for 5 names in one
 * certificate, and the orchestration episodes of an idle app over a simulated day. Prints a table and writes bench/results/latest.json.
 */
interface Figures {
  hostnames: number;
  runs: number;
  medianSeconds: number;
  certificatesPerSecond: number;
  acmeRequestsPerCertificate: number;
  acmeByType: Record<string, number>;
  gatewayWritesPerRequest: number;
  keyVaultCallsPerCertificate: number;
  historyEventsPerCertificate: number;
}

const quick = process.argv.includes('--quick');
/**
 * Hostnames per request and runs. The largest is 99, not 100: a v2 gateway holds 100 active
 * listeners and one is the HTTP listener that routes the HTTP-01 path, so 99 is the most one
 * request can put live on one gateway (the 100th is refused with ApplicationGatewayCapacityExceeded).
 */
const plan: [number, number][] = quick ? [[1, 1], [10, 1]] : [[1, 3], [10, 2], [99, 1]];
/** Gateway writes: PUTs the service accepted (a refused one changes nothing). */
const WRITES = 'applicationGateways.put.accepted';
let serial = 0;

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const sum = (values: Record<string, number> = {}): number => Object.values(values).reduce((a, b) => a + b, 0);

interface RenewalFigures {
  runs: number;
  medianSeconds: number;
  acmeRequestsPerRenewal: number;
  renewalInfoSent: number;
  gatewayWritesPerRenewal: number;
  liveCheckHandshakesPerRenewal: number;
}

/** Waits for an instance to leave Running/Pending; throws unless it Completed. */
async function awaitCompleted(statusQueryGetUri: string): Promise<void> {
  for (;;) {
    const status = (await (await fetch(statusQueryGetUri)).json()) as { runtimeStatus: string; output: unknown };
    if (status.runtimeStatus === 'Completed') return;
    if (status.runtimeStatus !== 'Running' && status.runtimeStatus !== 'Pending') throw new Error(`run failed: ${JSON.stringify(status.output).slice(0, 600)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Renew-now of one issued hostname, `runs` times: each is a new order naming the one it replaces, a write and a live check. */
async function renewals(sandbox: Sandbox, hostname: string, runs: number): Promise<RenewalFigures> {
  sandbox.counters.reset();
  const replacedBefore = sandbox.acme.renewalInfo.replacements.length;
  const seconds: number[] = [];
  for (let run = 0; run < runs; run++) {
    const started = Date.now();
    const response = await fetch(`${sandbox.endpoints.apiBaseUrl}/certificates/${hostname}/renew`, {
      method: 'POST',
      headers: { 'x-functions-key': sandbox.endpoints.functionKey },
    });
    await awaitCompleted(((await response.json()) as { statusQueryGetUri: string }).statusQueryGetUri);
    seconds.push((Date.now() - started) / 1000);
  }
  const counters = sandbox.counters.snapshot();
  return {
    runs,
    medianSeconds: median(seconds),
    acmeRequestsPerRenewal: sum(counters.acme) / runs,
    renewalInfoSent: sandbox.acme.renewalInfo.replacements.length - replacedBefore,
    gatewayWritesPerRenewal: (counters.arm?.[WRITES] ?? 0) / runs,
    liveCheckHandshakesPerRenewal: (counters.gateway?.['https.handshake'] ?? 0) / runs,
  };
}

async function runOnce(sandbox: Sandbox, stateDir: string, count: number): Promise<{ seconds: number; historyEvents: number; instanceId: string; hostnames: string[] }> {
  const hostnames = Array.from({ length: count }, () => `b${++serial}.bench.example`);
  const single = count === 1;
  const started = Date.now();
  const response = await fetch(`${sandbox.endpoints.apiBaseUrl}/${single ? 'AddCertificateFunctions_HttpStart' : 'AddMultipleCertificatesFunctions_HttpStart'}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-functions-key': sandbox.endpoints.functionKey },
    body: JSON.stringify({ hostnames: hostnames.map((hostname) => ({ hostname })) }),
  });
  const links = (await response.json()) as { id: string; statusQueryGetUri: string };
  await awaitCompleted(links.statusQueryGetUri);
  const seconds = (Date.now() - started) / 1000;
  const instances = [links.id, ...hostnames.map((h) => instanceIdFor(h))];
  let historyEvents = 0;
  for (const id of new Set(instances)) {
    const file = path.join(stateDir, 'durable', 'instances', instanceFileName(id));
    if (fs.existsSync(file)) historyEvents += (JSON.parse(fs.readFileSync(file, 'utf8')) as { history: unknown[] }).history.length;
  }
  return { seconds, historyEvents, instanceId: links.id, hostnames };
}

/** Runs a timer function now (`POST /admin/functions/{name}`, as on a real host). */
async function runTimer(sandbox: Sandbox, name: string): Promise<void> {
  const response = await fetch(`${sandbox.host!.url}/admin/functions/${name}`, {
    method: 'POST',
    headers: { 'x-functions-key': sandbox.endpoints.masterKey, 'content-type': 'application/json' },
    body: '{}',
  });
  if (response.status !== 202) throw new Error(`${name}: HTTP ${response.status}`);
}

async function instanceIds(sandbox: Sandbox, prefix = ''): Promise<{ instanceId: string; runtimeStatus: string }[]> {
  const url = `${sandbox.host!.url}/runtime/webhooks/durabletask/instances?instanceIdPrefix=${prefix}&code=${sandbox.endpoints.functionKey}`;
  return (await (await fetch(url)).json()) as { instanceId: string; runtimeStatus: string }[];
}

interface RenewalRunFigures {
  certificates: number;
  seconds: number;
  gatewayWrites: number;
}

/** The daily timer with `hostnames` due (the CA's renewal window, ARI, opened for each): one run, its gateway writes. */
async function renewalRun(sandbox: Sandbox, hostnames: string[]): Promise<RenewalRunFigures> {
  for (const hostname of hostnames) {
    const window = { hostname, start: new Date(Date.now() - 7200_000).toISOString(), end: new Date(Date.now() - 3600_000).toISOString() };
    await fetch(`${sandbox.endpoints.adminUrl}/acme/renewal-window`, { method: 'POST', body: JSON.stringify(window) });
  }
  const before = new Set((await instanceIds(sandbox, 'renewals-')).map((i) => i.instanceId));
  const writes = sandbox.counters.get('arm', WRITES);
  const started = Date.now();
  await runTimer(sandbox, 'RenewCertificatesTimer');
  let run: string | undefined;
  while (!run) {
    run = (await instanceIds(sandbox, 'renewals-')).find((i) => !before.has(i.instanceId))?.instanceId;
    if (!run) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await awaitCompleted(`${sandbox.host!.url}/runtime/webhooks/durabletask/instances/${run}?code=${sandbox.endpoints.functionKey}`);
  return { certificates: hostnames.length, seconds: (Date.now() - started) / 1000, gatewayWrites: sandbox.counters.get('arm', WRITES) - writes };
}

const ORCHESTRATOR_STARTED = 12; // DurableTask.Core EventType (sandbox/host/history.ts)

/** Episodes (OrchestratorStarted events) in every instance's persisted history. */
function episodesOnDisk(stateDir: string): number {
  const dir = path.join(stateDir, 'durable', 'instances');
  let episodes = 0;
  for (const file of fs.readdirSync(dir)) {
    const { history } = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as { history: { EventType: number }[] };
    episodes += history.filter((e) => e.EventType === ORCHESTRATOR_STARTED).length;
  }
  return episodes;
}

/** Durable timers and unread events in every instance's persisted state: what could wake an orchestration. */
function pendingWakeUps(stateDir: string): number {
  const dir = path.join(stateDir, 'durable', 'instances');
  let pending = 0;
  for (const file of fs.readdirSync(dir)) {
    const state = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as { timers: unknown[]; inbox: unknown[] };
    pending += state.timers.length + state.inbox.length;
  }
  return pending;
}

/**
 * An idle app: one certificate issued, then the day's timer functions and a quiet minute. Episodes
 * in that minute, and what is left that could wake an orchestration later (0: an idle hour or day
 * runs no episode, since only a durable timer or an event starts one).
 */
async function idleDay(): Promise<{ episodesWhileIdle: number; pendingWakeUps: number; episodesOfOneIssuance: number }> {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-idle-'));
  const sandbox = await startSandbox(withRateLimitOverride({ stateDir, armOperationDelayMs: 1500, armRetryAfterSeconds: 1 }, BENCH_LIMITS));
  try {
    await runOnce(sandbox, stateDir, 1);
    while ((await instanceIds(sandbox)).some((i) => ['Running', 'Pending'].includes(i.runtimeStatus))) await new Promise((resolve) => setTimeout(resolve, 100));
    const settled = episodesOnDisk(stateDir);
    await runTimer(sandbox, 'RenewCertificatesTimer');
    await runTimer(sandbox, 'PurgeHistoryTimer');
    await new Promise((resolve) => setTimeout(resolve, quick ? 10_000 : 60_000));
    return { episodesWhileIdle: episodesOnDisk(stateDir) - settled, pendingWakeUps: pendingWakeUps(stateDir), episodesOfOneIssuance: settled };
  } finally {
    await sandbox.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
}

type CriticalPath = { timerLatencyMs: number; wallSeconds: number; parts: Record<Part, number> };

/** One certificate's wall time by part (see criticalPath.ts), on a sandbox started with this timer latency. */
async function oneCertificatePath(timerLatencyMs: number): Promise<CriticalPath> {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-path-'));
  const sandbox = await startSandbox(withRateLimitOverride({ stateDir, hostTimerLatencyMs: timerLatencyMs }, BENCH_LIMITS));
  try {
    await runOnce(sandbox, stateDir, 1); // warm-up: the ACME account and the gateway writer
    const run = await runOnce(sandbox, stateDir, 1);
    // The writer generation that served the measured run is the inbox's latest.
    const inbox = sandbox.azurite.serviceClient.getContainerClient('acme-challenge').getBlockBlobClient(`gateway-writer/${sandbox.arm.getGateway().name}.json`);
    const { generation } = JSON.parse((await inbox.downloadToBuffer()).toString('utf8')) as { generation: number };
    const writerId = GatewayWriter.instanceId(sandbox.arm.getGateway().name, generation);
    return { timerLatencyMs, wallSeconds: run.seconds, parts: criticalPath(stateDir, run.instanceId, writerId, run.seconds) };
  } finally {
    await sandbox.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
}

function printPath(figures: CriticalPath): void {
  const parts = Object.entries(figures.parts).filter(([, seconds]) => seconds > 0.0005);
  console.log(
    `\nOne certificate, where the wall time goes (timer latency ${figures.timerLatencyMs} ms): ${figures.wallSeconds.toFixed(2)} s = ` +
      parts.map(([part, seconds]) => `${part} ${seconds.toFixed(2)} s (${Math.round((100 * seconds) / figures.wallSeconds)} %)`).join(', '),
  );
}

function peakMemoryMb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /VmHWM:\s+(\d+) kB/.exec(status);
  return match ? Math.round(Number(match[1]) / 1024) : NaN;
}

interface Dns01Figures {
  propagationSeconds: number;
  names: number;
  secondsToLive: number;
  acmeRequests: number;
  recordSetWrites: number;
  recordSetReads: number;
  zoneReads: number;
}

/**
 * DNS-01 on a sandbox of its own, with Azure DNS's propagation as the stand-in models it (Learn:
 * within 60 s): one name, one certificate for 5 names in three zones, and a wildcard with its apex
 * in one certificate, each from POST to live. ACME requests per certificate, and the Azure DNS calls it took.
 */
async function dns01(): Promise<Dns01Figures[]> {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-dns01-'));
  const sandbox = await startSandbox(withRateLimitOverride({ stateDir }, BENCH_LIMITS));
  const figures: Dns01Figures[] = [];
  try {
    await runOnce(sandbox, stateDir, 1); // warm-up: creates the ACME account
    const group = (names: string[]): object[] => names.map((hostname) => ({ hostname, group: 'g', challengeType: 'dns-01' }));
    const requests: object[][] = [
      [{ hostname: 'one.contoso.example', challengeType: 'dns-01' }],
      group(['shop.contoso.example', 'cart.contoso.example', 'www.fabrikam.example', 'api.fabrikam.example', 'www.litware.example']),
      group(['*.shop.litware.example', 'shop.litware.example']),
    ];
    for (const hostnames of requests) {
      sandbox.counters.reset();
      const started = Date.now();
      const response = await fetch(`${sandbox.endpoints.apiBaseUrl}/AddMultipleCertificatesFunctions_HttpStart?code=${sandbox.endpoints.functionKey}`, { method: 'POST', body: JSON.stringify({ hostnames }) });
      if (response.status !== 202) throw new Error(`DNS-01 request answered ${response.status}: ${(await response.text()).slice(0, 300)}`);
      await awaitCompleted(((await response.json()) as { statusQueryGetUri: string }).statusQueryGetUri);
      const counters = sandbox.counters.snapshot();
      const arm = counters.arm ?? {};
      const count = (prefix: string, methods: string[]): number => methods.reduce((n, m) => n + (arm[`${prefix}.${m}`] ?? 0), 0);
      figures.push({
        propagationSeconds: sandbox.dnsZones.propagationDelayMs() / 1000,
        names: hostnames.length,
        secondsToLive: (Date.now() - started) / 1000,
        acmeRequests: sum(counters.acme),
        recordSetWrites: count('dnsRecordSets', ['put', 'delete']),
        recordSetReads: count('dnsRecordSets', ['get']),
        zoneReads: count('dnsZones', ['get']),
      });
    }
  } finally {
    await sandbox.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
  return figures;
}

async function main(): Promise<void> {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-'));
  const sandbox = await startSandbox(withRateLimitOverride({ stateDir, settings: { MaxHostnamesPerRequest: '100', MaxParallelIssuances: '10' } }, BENCH_LIMITS));
  const results: Figures[] = [];
  let summary: { peak: number; results: Figures[]; renewal: RenewalFigures; run: RenewalRunFigures };
  try {
    await runOnce(sandbox, stateDir, 1); // warm-up: creates the ACME account
    const warmHostname = `b${serial}.bench.example`;
    let batch: string[] = [];
    let renewal: RenewalFigures | undefined;
    let run: RenewalRunFigures | undefined;
    for (const [count, runs] of plan) {
      if (count > 10) {
        // The renewals are measured on the gateway as the small rows left it; then an operator frees it for the large row.
        renewal = await renewals(sandbox, warmHostname, quick ? 1 : 2);
        run = await renewalRun(sandbox, batch);
        // An operator frees the gateway (its limits are the service's): the large row needs the room.
        sandbox.arm.mutate(removeHttpsBindings);
      }
      const seconds: number[] = [];
      let historyEvents = 0;
      sandbox.counters.reset();
      for (let run = 0; run < runs; run++) {
        const result = await runOnce(sandbox, stateDir, count);
        seconds.push(result.seconds);
        historyEvents += result.historyEvents;
        if (count === 10) batch = result.hostnames;
      }
      const certificates = count * runs;
      const counters = sandbox.counters.snapshot();
      const acmeByType = Object.fromEntries(Object.entries(counters.acme ?? {}).map(([type, n]) => [type, n / certificates]));
      results.push({
        hostnames: count,
        runs,
        medianSeconds: median(seconds),
        certificatesPerSecond: count / median(seconds),
        acmeRequestsPerCertificate: sum(counters.acme) / certificates,
        acmeByType,
        gatewayWritesPerRequest: (counters.arm?.[WRITES] ?? 0) / runs,
        keyVaultCallsPerCertificate: sum(counters.keyvault) / certificates,
        historyEventsPerCertificate: historyEvents / certificates,
      });
    }
    renewal ??= await renewals(sandbox, warmHostname, quick ? 1 : 2);
    run ??= await renewalRun(sandbox, batch);
    const peak = peakMemoryMb(sandbox.host!.pid);
    printTable(results, peak);
    console.log(
      `Renewal (renew now, ${renewal.runs} runs): median ${renewal.medianSeconds.toFixed(2)} s, ${renewal.acmeRequestsPerRenewal.toFixed(1)} ACME requests, ` +
        `${renewal.renewalInfoSent} of ${renewal.runs} orders named the certificate they replace, ${renewal.gatewayWritesPerRenewal.toFixed(1)} gateway writes, ` +
        `${renewal.liveCheckHandshakesPerRenewal.toFixed(1)} live-check TLS handshakes per renewal`,
    );
    console.log(`Renewal run (the daily timer, ${run.certificates} certificates due): ${run.seconds.toFixed(1)} s, ${run.gatewayWrites} gateway write(s)`);
    summary = { peak, results, renewal, run };
  } finally {
    await sandbox.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
  // Each on a sandbox of its own, one sandbox at a time. The Azure Storage backend polls an idle
  // control queue up to every 30 s, so durable timers pay a latency there: the second run shows it.
  const paths = [await oneCertificatePath(0)];
  if (!quick) paths.push(await oneCertificatePath(5000));
  paths.forEach(printPath);
  const dns = await dns01();
  printDns01(dns);
  const idle = await idleDay();
  console.log(
    `\nIdle app after one issuance (${idle.episodesOfOneIssuance} episodes, the gateway writer's included): ${idle.episodesWhileIdle} episodes in the idle ${quick ? '10 s' : 'minute'} with the day's timers run; ` +
      `${idle.pendingWakeUps} durable timers or unread events left: episodes per idle hour ${idle.pendingWakeUps === 0 && idle.episodesWhileIdle === 0 ? '0' : 'above 0 (something still polls)'}`,
  );
  const out = path.join(__dirname, '..', '..', 'bench', 'results');
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, 'latest.json'), `${JSON.stringify({ date: new Date().toISOString(), quick, machine: machine(), hostPeakMemoryMb: summary.peak, results: summary.results, renewal: summary.renewal, renewalRun: summary.run, dns01: dns, idleDay: idle, criticalPath: paths }, null, 2)}\n`);
  console.log(`\nWrote bench/results/latest.json`);
}

function printDns01(dns: Dns01Figures[]): void {
  console.log('\nDNS-01 (POST to live, Azure DNS propagation as modelled):');
  for (const d of dns) {
    console.log(
      `${d.names} name(s), one certificate: ${d.secondsToLive.toFixed(1)} s with ${d.propagationSeconds} s propagation, ${d.acmeRequests} ACME requests, ` +
        `Azure DNS: ${d.recordSetWrites} record set writes, ${d.recordSetReads} reads, ${d.zoneReads} zone reads`,
    );
  }
}

function machine(): string {
  return `${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
}

function printTable(results: Figures[], peak: number): void {
  const fixed = (n: number, digits = 1): string => n.toFixed(digits);
  console.log(`\nappgw-certbot on the local sandbox (${machine()})${quick ? ' --quick' : ''}\n`);
  console.log('hostnames | runs | median s to live | certs/s | ACME req/cert | gateway writes/request | Key Vault calls/cert | history events/cert');
  console.log('--- | --- | --- | --- | --- | --- | --- | ---');
  for (const r of results) {
    console.log(
      `${r.hostnames} | ${r.runs} | ${fixed(r.medianSeconds, 2)} | ${fixed(r.certificatesPerSecond, 2)} | ${fixed(r.acmeRequestsPerCertificate)} | ${fixed(r.gatewayWritesPerRequest)} | ${fixed(r.keyVaultCallsPerCertificate)} | ${fixed(r.historyEventsPerCertificate)}`,
    );
  }
  const last = results[results.length - 1];
  console.log(`\nACME requests per certificate by type (${last.hostnames} hostnames): ${Object.entries(last.acmeByType).map(([t, n]) => `${t} ${fixed(n, 2)}`).join(', ')}`);
  console.log(`Durable host peak memory (VmHWM): ${peak} MB`);
}

/** `--dns01`: only the DNS-01 figures (a few minutes: Azure DNS propagation is modelled at 60 s). */
async function dns01Only(): Promise<void> {
  printDns01(await dns01());
}

const chosen = process.argv.includes('--dns01') ? dns01Only : process.argv.includes('--dashboard') ? dashboardFigures : main;
chosen().catch((error: Error) => {
  // An AggregateError (a refused connection) has no message of its own: show what it holds.
  console.error(`bench failed: ${error.message || String(error)}${error.cause ? ` (${String(error.cause)})` : ''}`);
  console.error(error.stack);
  process.exit(1);
});
