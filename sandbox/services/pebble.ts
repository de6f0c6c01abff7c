import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { SandboxCa } from '../tls/ca';
import { ensureDebianPackage } from './debianPackage';
import { freePort } from './ports';

/**
 * Pebble (the ACME test CA) and pebble-challtestsrv (its DNS), from the Debian package `pebble`
 * 2.4.0. Pebble validates HTTP-01 on `httpPort` at the address challtestsrv gives the name: the
 * emulated gateway's HTTP data plane on 127.0.0.1. See /usr/share/doc/pebble and the Pebble README.
 */
const PEBBLE = '/usr/bin/pebble';
const CHALLTESTSRV = '/usr/bin/pebble-challtestsrv';

export function ensurePebbleInstalled(): void {
  ensureDebianPackage('pebble', [PEBBLE, CHALLTESTSRV], 'Pebble, the local ACME test CA,');
}

export interface PebbleOptions {
  ca: SandboxCa;
  /** Port Pebble's validator connects to for HTTP-01 (the emulated gateway's HTTP listener). */
  httpPort: number;
  certificateValidityPeriodSeconds?: number;
  domainBlocklist?: string[];
  /** Percentage of requests Pebble rejects with badNonce (default 0: deterministic runs). */
  nonceRejectPercent?: number;
  /** Percentage of authorizations Pebble reuses (default 0, so every order is validated). */
  authzReusePercent?: number;
  /**
   * Pebble's validator passes every challenge without fetching it (PEBBLE_VA_ALWAYS_VALID). Only
   * for names Pebble's own DNS client cannot resolve: it fails with "dns: buffer size too small"
   * on replies over 512 bytes, which names longer than about 239 characters produce.
   */
  alwaysValid?: boolean;
  /**
   * External Account Binding required for newAccount (config externalAccountBindingRequired), with
   * these MAC keys, key id -> base64url HMAC key (config externalAccountMACKeys; Pebble 2.4
   * db/memorystore.go AddExternalAccountKeyByID decodes them RawURLEncoding).
   */
  externalAccountMacKeys?: Record<string, string>;
  /** Alternate issuance chains, each under its own root (env PEBBLE_ALTERNATE_ROOTS; wfe.go sends them as Link rel="alternate"). */
  alternateRoots?: number;
  /** Resolve through this challtestsrv instead of starting one (a second CA sharing the sandbox's DNS). */
  sharedDns?: { dnsServer: string; challtestsrvUrl: string };
}

export interface ChallTestSrv {
  addA(host: string, ip: string): Promise<void>;
  clearA(host: string): Promise<void>;
  addAAAA(host: string, ip: string): Promise<void>;
  clearAAAA(host: string): Promise<void>;
  setCname(host: string, target: string): Promise<void>;
  clearCname(host: string): Promise<void>;
  /** Adds one TXT record (one string) to the name: challtestsrv's /set-txt appends, /clear-txt removes them all. */
  setTxt(host: string, value: string): Promise<void>;
  clearTxt(host: string): Promise<void>;
  /** Adds CAA records (served with flags 0: challtestsrv has no flags field) to the name; /clear-caa removes them all. */
  addCaa(host: string, policies: { tag: string; value: string }[]): Promise<void>;
  clearCaa(host: string): Promise<void>;
  /** Every query for the name answers SERVFAIL until cleared. */
  setServfail(host: string): Promise<void>;
  clearServfail(host: string): Promise<void>;
}

export interface PebbleCa {
  directoryUrl: string;
  managementUrl: string;
  /** Pebble's issuing root of this run (a new one each start). */
  rootPem: string;
  dnsServer: string;
  challtestsrvUrl: string;
  dns: ChallTestSrv;
  stop(): Promise<void>;
}

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

function startChild(command: string, args: string[], env: NodeJS.ProcessEnv, name: string): ChildProcess {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  const keep = (chunk: Buffer): void => {
    output.push(chunk.toString());
    if (output.length > 200) output.shift();
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.on('exit', (code, signal) => {
    children.delete(child);
    if (code && !signal) console.error(`${name} exited with ${code}:\n${output.join('').slice(-2000)}`);
  });
  children.add(child);
  return child;
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

function get(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca }, (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString()));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what} did not start within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function startPebble(options: PebbleOptions): Promise<PebbleCa> {
  ensurePebbleInstalled();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pebble-'));
  const [dnsPortFree, mgmtDnsPort, acmePort, pebbleMgmtPort, tlsPort] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
  const shared = options.sharedDns;
  const dnsPort = shared ? Number(shared.dnsServer.slice(shared.dnsServer.lastIndexOf(':') + 1)) : dnsPortFree;

  // challtestsrv: DNS only (its own challenge servers would take fixed ports); every name
  // resolves to 127.0.0.1 unless a test says otherwise; no default AAAA answer.
  const challtestsrv = shared
    ? undefined
    : startChild(
        CHALLTESTSRV,
        ['-defaultIPv4', '127.0.0.1', '-defaultIPv6', '', '-dns01', `127.0.0.1:${dnsPort}`, '-management', `127.0.0.1:${mgmtDnsPort}`, '-http01', '', '-https01', '', '-tlsalpn01', ''],
        process.env,
        'pebble-challtestsrv',
      );
  const challtestsrvUrl = shared?.challtestsrvUrl ?? `http://127.0.0.1:${mgmtDnsPort}`;
  const post = async (route: string, body: object): Promise<void> => {
    const response = await fetch(`${challtestsrvUrl}${route}`, { method: 'POST', body: JSON.stringify(body) });
    if (!response.ok) throw new Error(`challtestsrv ${route} answered ${response.status}`);
  };
  await waitFor(async () => (await fetch(`${challtestsrvUrl}/clear-a`, { method: 'POST', body: '{"host":"probe."}' })).ok, 'pebble-challtestsrv');

  const leaf = options.ca.issueServerCert(['localhost', '127.0.0.1']);
  fs.writeFileSync(path.join(dir, 'cert.pem'), leaf.certPem);
  fs.writeFileSync(path.join(dir, 'key.pem'), leaf.keyPem, { mode: 0o600 });
  const config = {
    pebble: {
      listenAddress: `127.0.0.1:${acmePort}`,
      managementListenAddress: `127.0.0.1:${pebbleMgmtPort}`,
      certificate: path.join(dir, 'cert.pem'),
      privateKey: path.join(dir, 'key.pem'),
      httpPort: options.httpPort,
      tlsPort,
      ocspResponderURL: '',
      externalAccountBindingRequired: !!options.externalAccountMacKeys,
      ...(options.externalAccountMacKeys ? { externalAccountMACKeys: options.externalAccountMacKeys } : {}),
      domainBlocklist: options.domainBlocklist ?? ['blocked.example'],
      ...(options.certificateValidityPeriodSeconds ? { certificateValidityPeriod: options.certificateValidityPeriodSeconds } : {}),
    },
  };
  fs.writeFileSync(path.join(dir, 'pebble-config.json'), JSON.stringify(config, null, 2));
  const pebble = startChild(
    PEBBLE,
    ['-config', path.join(dir, 'pebble-config.json'), '-dnsserver', `127.0.0.1:${dnsPort}`],
    {
      ...process.env,
      PEBBLE_VA_NOSLEEP: '1',
      PEBBLE_WFE_NONCEREJECT: String(options.nonceRejectPercent ?? 0),
      PEBBLE_AUTHZREUSE: String(options.authzReusePercent ?? 0),
      ...(options.alwaysValid ? { PEBBLE_VA_ALWAYS_VALID: '1' } : {}),
      ...(options.alternateRoots ? { PEBBLE_ALTERNATE_ROOTS: String(options.alternateRoots) } : {}),
    },
    'pebble',
  );
  const directoryUrl = `https://127.0.0.1:${acmePort}/dir`;
  await waitFor(async () => (await get(directoryUrl, options.ca.certPem)).status === 200, 'pebble');
  const managementUrl = `https://127.0.0.1:${pebbleMgmtPort}`;
  const root = await get(`${managementUrl}/roots/0`, options.ca.certPem);
  if (root.status !== 200) throw new Error(`Pebble's root could not be read (HTTP ${root.status})`);

  return {
    directoryUrl,
    managementUrl,
    rootPem: root.body,
    dnsServer: `127.0.0.1:${dnsPort}`,
    challtestsrvUrl,
    dns: {
      addA: (host, ip) => post('/add-a', { host: fqdn(host), addresses: [ip] }),
      clearA: (host) => post('/clear-a', { host: fqdn(host) }),
      addAAAA: (host, ip) => post('/add-aaaa', { host: fqdn(host), addresses: [ip] }),
      clearAAAA: (host) => post('/clear-aaaa', { host: fqdn(host) }),
      setCname: (host, target) => post('/set-cname', { host: fqdn(host), target: fqdn(target) }),
      clearCname: (host) => post('/clear-cname', { host: fqdn(host) }),
      // Routes of Pebble 2.4.0's pebble-challtestsrv management API (tried against /usr/bin/pebble-challtestsrv).
      setTxt: (host, value) => post('/set-txt', { host: fqdn(host), value }),
      clearTxt: (host) => post('/clear-txt', { host: fqdn(host) }),
      addCaa: (host, policies) => post('/add-caa', { host: fqdn(host), policies }),
      clearCaa: (host) => post('/clear-caa', { host: fqdn(host) }),
      setServfail: (host) => post('/set-servfail', { host: fqdn(host) }),
      clearServfail: (host) => post('/clear-servfail', { host: fqdn(host) }),
    },
    stop: async () => {
      await Promise.all([stopChild(pebble), ...(challtestsrv ? [stopChild(challtestsrv)] : [])]);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

const fqdn = (host: string): string => (host.endsWith('.') ? host : `${host}.`);
