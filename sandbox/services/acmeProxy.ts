import { Asn1, asn1 } from '../../src/crypto/asn1';
import https from 'node:https';
import { AddressInfo } from 'node:net';
import { Counters, delay, FaultInjector } from '../faults';
import { SandboxCa } from '../tls/ca';
import { CaaLookup, dnsCaaLookup, SANDBOX_CAA_IDENTITY } from './caaCheck';
import { CaaGate, CaaRefusal } from './caaGate';
import { ProfileGate, ProfileSpecs } from './acmeProfiles';
import { AcmeRateLimiter, LETS_ENCRYPT_LIMITS, SandboxRateLimits } from './acmeRateLimits';
import { RenewalInfoRegistry } from './renewalInfo';

/**
 * An HTTPS reverse proxy in front of Pebble's ACME API: counts requests by ACME resource, injects
 * faults as RFC 8555 problem documents (section 6.7, with a fresh Replay-Nonce and Retry-After),
 * and rewrites Pebble's URLs so clients only see the proxy. Its directory is the app's AcmeEndpoint.
 * It also adds what Pebble 2.4 lacks: ACME Renewal Information (RFC 9773, see renewalInfo.ts), and
 * Let's Encrypt's CAA check when a challenge is answered (RFC 8659, as Boulder does it: caaCheck.ts
 * and caaGate.ts), with the CA's issuer domain in the directory's meta.caaIdentities (RFC 8555 7.1.1),
 * and certificate profiles (draft-aaron-acme-profiles; acmeProfiles.ts).
 */
const RESOURCE_BY_PATH: [RegExp, string][] = [
  [/^\/dir$/, 'directory'],
  [/^\/nonce-plz$/, 'newNonce'],
  [/^\/sign-me-up$/, 'newAccount'],
  [/^\/order-plz$/, 'newOrder'],
  [/^\/my-order\//, 'order'],
  [/^\/authZ\//, 'authz'],
  [/^\/chalZ\//, 'challenge'],
  [/^\/finalize-order\//, 'finalize'],
  [/^\/certZ\//, 'certificate'],
  [/^\/revoke-cert$/, 'revokeCert'],
  [/^\/rollover-account-key$/, 'keyChange'],
  [/^\/my-account\//, 'account'],
  [/^\/renewal-info\//, 'renewalInfo'],
];

const RENEWAL_INFO_PATH = '/renewal-info';

/** The `kid` and payload of a flattened JWS request body (RFC 8555 section 6.2); {} when not one. */
function decodeJws(body: Buffer): { kid?: string; payload?: Record<string, unknown> } {
  try {
    const jws = JSON.parse(body.toString('utf8')) as { protected?: string; payload?: string };
    const header = JSON.parse(Buffer.from(jws.protected ?? '', 'base64url').toString('utf8')) as { kid?: string };
    const payloadText = Buffer.from(jws.payload ?? '', 'base64url').toString('utf8');
    return { kid: header.kid, payload: payloadText ? (JSON.parse(payloadText) as Record<string, unknown>) : undefined };
  } catch {
    return {};
  }
}

const lastSegment = (path: string): string => path.split('/').filter(Boolean).pop() ?? '';

export function acmeResource(path: string): string {
  return RESOURCE_BY_PATH.find(([pattern]) => pattern.test(path))?.[1] ?? 'other';
}

export interface AcmeProxy {
  directoryUrl: string;
  renewalInfo: RenewalInfoRegistry;
  /** For tests: the subject common names of every CSR finalized through the proxy, in order. */
  csrCommonNames: string[][];
  /** The issuer domain name CAA records must name (the directory's meta.caaIdentities[0]). */
  caaIdentity: string;
  /** For tests: every authorization the CAA check refused, in order. */
  caaRefusals: CaaRefusal[];
  /** For tests: how many CAA checks the proxy made (not in `counters`, whose `acme` counts are summed as requests). */
  readonly caaChecks: number;
  /** For tests: what Pebble's management API says of a certificate (serial in hex); undefined when it knows none. */
  certificateStatus(serialHex: string): Promise<CertificateStatus | undefined>;
  /** Let's Encrypt's rate limits (acmeRateLimits.ts); `answers` lists every rateLimited answer sent. Undefined when off. */
  rateLimits?: AcmeRateLimiter;
  stop(): Promise<void>;
}

/**
 * Pebble 2.4.0's GET /cert-status-by-serial/<hex> answer (wfe/wfe.go handleCertStatusBySerial):
 * Status "Valid" or "Revoked"; Reason and RevokedAt only for a revoked one (Reason only if given).
 */
export interface CertificateStatus {
  Status: 'Valid' | 'Revoked';
  Serial: string;
  Certificate: string;
  Reason?: number;
  RevokedAt?: string;
}

/**
 * The revocation reasons Let's Encrypt takes from a subscriber: Boulder revocation/reasons.go
 * UserAllowedReasons (unspecified, keyCompromise, superseded, cessationOfOperation). Pebble 2.4
 * takes 0-10 but 7 (wfe.go processRevocation), kinder than the CA it stands in for.
 */
const USER_ALLOWED_REVOCATION_REASONS = [0, 1, 4, 5];

export async function startAcmeProxy(options: {
  ca: SandboxCa;
  upstreamDirectoryUrl: string;
  faults?: FaultInjector;
  counters?: Counters;
  /** The DNS server CAA is looked up at, host:port (the sandbox's pebble-challtestsrv). */
  dnsServer: string;
  /** The CA's issuer domain name for CAA; default SANDBOX_CAA_IDENTITY. */
  caaIdentity?: string;
  /** Replaces the DNS lookups (tests). */
  caaLookup?: CaaLookup;
  /** Pebble's management API (certificateStatus). */
  managementUrl?: string;
  /** Profiles the directory advertises (acmeProfiles.ts; none: no meta.profiles), and Pebble's management API their re-signing reads the intermediate key from. */
  profiles?: { specs: ProfileSpecs; managementUrl: string };
  /** Let's Encrypt's rate limits (default LETS_ENCRYPT_LIMITS; false: none, as Pebble alone). */
  rateLimits?: SandboxRateLimits | false;
}): Promise<AcmeProxy> {
  const upstream = new URL(options.upstreamDirectoryUrl);
  const agent = new https.Agent({ ca: options.ca.certPem, keepAlive: true });
  let origin = '';
  const renewalInfo = new RenewalInfoRegistry();
  const caaIdentity = options.caaIdentity ?? SANDBOX_CAA_IDENTITY;
  const caa = new CaaGate(options.caaLookup ?? dnsCaaLookup(options.dnsServer), caaIdentity);
  const rewrite = (text: string): string => text.split(upstream.origin).join(origin);
  const profiles = new ProfileGate(options.profiles?.specs ?? {}, { url: options.profiles?.managementUrl ?? '', caPem: options.ca.certPem });
  const limiter = options.rateLimits === false ? undefined : new AcmeRateLimiter(options.rateLimits ?? LETS_ENCRYPT_LIMITS);

  const forward = (method: string, path: string, headers: Record<string, string>, body: Buffer) =>
    new Promise<{ status: number; headers: Record<string, string | string[]>; body: Buffer }>((resolve, reject) => {
      const request = https.request(new URL(path, upstream.origin), { method, headers, agent }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 502, headers: response.headers as Record<string, string | string[]>, body: Buffer.concat(chunks) }),
        );
      });
      request.on('error', reject);
      request.end(body);
    });

  /** What Pebble answered, seen for ARI: the directory gains renewalInfo; orders and certificates are recorded. */
  const observe = (resource: string, path: string, headers: Record<string, string | string[]>, reply: Buffer, kid?: string, replaces?: string): Buffer => {
    if (!/^[[{-]/.test(reply.toString('utf8', 0, 1))) return reply; // neither JSON nor PEM: nothing to see
    if (resource === 'directory') {
      const directory = JSON.parse(reply.toString('utf8')) as Record<string, unknown>;
      // Pebble 2.4's meta has no caaIdentities (wfe.go relativeDirectory); RFC 8555 section 7.1.1 defines it.
      const meta = profiles.meta({ ...(directory.meta as Record<string, unknown> | undefined), caaIdentities: [caaIdentity] });
      return Buffer.from(JSON.stringify({ ...directory, meta, renewalInfo: `${origin}${RENEWAL_INFO_PATH}` }));
    }
    if (resource === 'certificate') renewalInfo.recordIssued(reply.toString('utf8'), kid ?? '');
    if (resource === 'authz' && limiter) {
      const authz = JSON.parse(reply.toString('utf8')) as { status?: string; identifier?: { value?: string } };
      if (authz.status === 'invalid' && authz.identifier?.value) limiter.failedAuthorization(new URL(path, origin).pathname, kid ?? '', authz.identifier.value);
    }
    if (resource === 'newOrder' || resource === 'order' || resource === 'finalize') {
      const orderId = resource === 'newOrder' ? lastSegment(String(headers.location ?? '')) : lastSegment(path);
      const { status, identifiers } = JSON.parse(reply.toString('utf8')) as { status?: string; identifiers?: { value?: string }[] };
      if (status) renewalInfo.recordOrderStatus(orderId, status);
      if (status === 'valid' && limiter) limiter.issued(orderId, (identifiers ?? []).map((i) => String(i.value)));
      if (replaces && resource === 'newOrder') renewalInfo.recordReplacement(replaces, orderId);
    }
    return reply;
  };

  /** The client's view of Pebble's authorizations, challenges and orders once CAA refused one (caaGate.ts). */
  const caaView = (resource: string, path: string, headers: Record<string, string | string[]>, reply: Buffer, refusal?: CaaRefusal): Buffer => {
    if (!['authz', 'challenge', 'newOrder', 'order', 'finalize'].includes(resource) || !reply.toString('utf8', 0, 1).startsWith('{')) return reply;
    const body = JSON.parse(reply.toString('utf8')) as Record<string, unknown>;
    const pathname = new URL(path, origin).pathname;
    let view: Record<string, unknown>;
    if (resource === 'authz') view = caa.authz(pathname, body);
    else if (resource === 'challenge' && refusal) {
      caa.commit(refusal);
      view = caa.accepted(body);
    } else if (resource === 'challenge') view = caa.challenge(pathname, body);
    else {
      const orderUrl = resource === 'order' ? pathname : String(headers.location ?? '');
      if (!orderUrl) return reply;
      view = caa.order(orderUrl, body);
    }
    return view === body ? reply : Buffer.from(JSON.stringify(view));
  };

  /** Orders carry their profile; a profile's certificate is re-signed with its lifetime (acmeProfiles.ts). */
  const profileView = async (resource: string, pathname: string, headers: Record<string, string | string[]>, reply: Buffer, payload?: Record<string, unknown>): Promise<Buffer> => {
    if (resource === 'certificate') return profiles.certificate(pathname, reply);
    if (!['newOrder', 'order', 'finalize'].includes(resource) || !reply.toString('utf8', 0, 1).startsWith('{')) return reply;
    const orderUrl = resource === 'newOrder' ? new URL(String(headers.location ?? ''), origin).pathname : pathname;
    return profiles.order(orderUrl, reply, resource === 'newOrder' && typeof payload?.profile === 'string' ? payload.profile : undefined);
  };

  const csrCommonNames: string[][] = [];
  const leaf = options.ca.issueServerCert(['localhost', '127.0.0.1']);
  const server = https.createServer({ key: leaf.keyPem, cert: leaf.certPem }, (req, res) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const path = req.url ?? '/';
      const resource = acmeResource(new URL(path, origin).pathname);
      const method = req.method ?? 'GET';
      options.counters?.increment('acme', resource);
      const sendProblem = async (status: number, type: string, detail: string, retryAfterSeconds?: number): Promise<void> => {
        const nonce = await forward('HEAD', '/nonce-plz', {}, Buffer.alloc(0));
        const headers: Record<string, string> = { 'content-type': 'application/problem+json' };
        const replayNonce = nonce.headers['replay-nonce'];
        if (typeof replayNonce === 'string') headers['replay-nonce'] = replayNonce;
        if (retryAfterSeconds !== undefined) headers['retry-after'] = String(retryAfterSeconds);
        res.writeHead(status, headers);
        res.end(JSON.stringify({ type, detail, status }));
      };
      const fault = options.faults?.take('acme', method, path);
      if (fault?.delayMs) await delay(fault.delayMs);
      if (fault?.status) {
        return sendProblem(fault.status, `urn:ietf:params:acme:error:${fault.code ?? 'serverInternal'}`, fault.message ?? 'Fault injected by the sandbox.', fault.retryAfterSeconds);
      }
      const body = Buffer.concat(chunks);
      if (resource === 'renewalInfo' && method === 'GET') {
        // RFC 9773 section 4.2; Retry-After says when to ask again (the RFC's example: 6 hours).
        const window = renewalInfo.windowFor(lastSegment(path));
        if (!window) return sendProblem(404, 'urn:ietf:params:acme:error:malformed', 'no certificate with this id');
        res.writeHead(200, { 'content-type': 'application/json', 'retry-after': '21600' });
        return res.end(JSON.stringify({ suggestedWindow: { start: window.start.toISOString(), end: window.end.toISOString() } }));
      }
      const jws = method === 'POST' ? decodeJws(body) : {};
      const pathname = new URL(path, origin).pathname;
      if (resource === 'finalize' && method === 'POST') {
        const notReady = caa.finalizeRefusal(pathname);
        if (notReady) return sendProblem(notReady.status, notReady.type, notReady.detail);
      }
      // A challenge POST with a payload (not POST-as-GET) asks for validation (RFC 8555 section 7.5.1): CAA first.
      let caaRefusal: CaaRefusal | undefined;
      if (resource === 'challenge' && method === 'POST' && jws.payload !== undefined) {
        const decision = await caa.beforeChallenge(pathname, `${origin}${pathname}`, jws.kid ?? '');
        if (decision.kind === 'answer') return sendProblem(decision.status, decision.type, decision.detail);
        caaRefusal = decision.refusal;
      }
      const invalidProfile = resource === 'newOrder' && method === 'POST' ? profiles.refuseNewOrder(jws.payload) : undefined;
      if (invalidProfile) return sendProblem(invalidProfile.status, invalidProfile.type, invalidProfile.detail);
      if (resource === 'finalize' && typeof jws.payload?.csr === 'string') csrCommonNames.push(commonNamesOf(jws.payload.csr));
      // Boulder refuses a reason outside its user set with badRevocationReason (wfe.go revokeCertBySubscriberKey, RFC 8555 section 7.6).
      const revocationReason = resource === 'revokeCert' ? jws.payload?.reason : undefined;
      if (revocationReason !== undefined && !USER_ALLOWED_REVOCATION_REASONS.includes(Number(revocationReason))) {
        return sendProblem(400, 'urn:ietf:params:acme:error:badRevocationReason', `disallowed revocation reason: ${String(revocationReason)}`);
      }
      const replaces = resource === 'newOrder' && typeof jws.payload?.replaces === 'string' ? jws.payload.replaces : undefined;
      if (replaces) {
        const identifiers = ((jws.payload?.identifiers ?? []) as { value?: string }[]).map((i) => String(i.value));
        const problem = renewalInfo.checkReplaces(replaces, jws.kid ?? '', identifiers);
        if (problem) return sendProblem(problem.status, problem.type, problem.detail);
      }
      // Let's Encrypt's limits, after the `replaces` check that decides an ARI renewal (boulder wfe2/wfe.go NewOrder).
      let orderLimit: ReturnType<AcmeRateLimiter['newOrder']> | undefined;
      if (limiter && resource === 'newOrder' && method === 'POST' && jws.payload) {
        const identifiers = ((jws.payload.identifiers ?? []) as { value?: string }[]).map((i) => String(i.value));
        orderLimit = limiter.newOrder(jws.kid ?? '', identifiers, replaces !== undefined);
        if (!orderLimit.allowed) return sendProblem(orderLimit.status, orderLimit.type, orderLimit.detail, orderLimit.retryAfterSeconds);
      }
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) {
        // The Host header goes through: Pebble builds its URLs and checks each JWS "url" from it.
        if (typeof value === 'string' && name !== 'connection') headers[name] = value;
      }
      const upstreamReply = await forward(method, path, headers, body);
      if (orderLimit?.allowed) orderLimit.commit(upstreamReply.status < 300);
      const replyHeaders: Record<string, string | string[]> = {};
      for (const [name, value] of Object.entries(upstreamReply.headers)) {
        if (['content-length', 'connection', 'transfer-encoding', 'keep-alive'].includes(name)) continue;
        replyHeaders[name] = Array.isArray(value) ? value.map(rewrite) : rewrite(String(value));
      }
      const contentType = String(upstreamReply.headers['content-type'] ?? '');
      let reply = /json|pem-certificate-chain/.test(contentType) ? Buffer.from(rewrite(upstreamReply.body.toString('utf8'))) : upstreamReply.body;
      if (upstreamReply.status < 300) {
        // The refusal stands only once Pebble accepted the POST (its JWS, nonce and ownership checks).
        reply = caaView(resource, path, replyHeaders, reply, caaRefusal);
        reply = await profileView(resource, pathname, replyHeaders, reply, jws.payload);
        reply = observe(resource, path, replyHeaders, reply, jws.kid, replaces);
      }
      res.writeHead(upstreamReply.status, replyHeaders);
      res.end(reply);
    })().catch((error: Error) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`ACME proxy error: ${error.message}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    directoryUrl: `${origin}${upstream.pathname}`,
    renewalInfo,
    csrCommonNames,
    caaIdentity,
    caaRefusals: caa.refusals,
    rateLimits: limiter,
    get caaChecks() {
      return caa.checks;
    },
    certificateStatus: async (serialHex) => {
      if (!options.managementUrl) throw new Error('The ACME proxy was started without Pebble\'s management URL.');
      // Pebble parses the serial as a big integer (base 16): leading zeros and case do not matter.
      const reply = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        https
          .get(`${options.managementUrl}/cert-status-by-serial/${serialHex}`, { agent }, (response) => {
            let text = '';
            response.on('data', (chunk: Buffer) => (text += chunk.toString()));
            response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
          })
          .on('error', reject);
      });
      if (reply.status === 404) return undefined;
      if (reply.status !== 200) throw new Error(`Pebble's cert-status-by-serial answered HTTP ${reply.status}`);
      return JSON.parse(reply.body) as CertificateStatus;
    },
    stop: () =>
      new Promise((resolve) => {
        agent.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The commonName values in a CSR's subject (RFC 2986 CertificationRequestInfo.subject; OID 2.5.4.3). */
function commonNamesOf(csrBase64url: string): string[] {
  const csr = asn1.fromDer(Buffer.from(csrBase64url, 'base64url').toString('binary'));
  const subject = ((csr.value as Asn1[])[0].value as Asn1[])[1];
  const names: string[] = [];
  for (const rdn of subject.value as Asn1[]) {
    for (const attribute of rdn.value as Asn1[]) {
      const [type, value] = attribute.value as Asn1[];
      if (asn1.derToOid(type.value as string) === '2.5.4.3') names.push(Buffer.from(value.value as string, 'binary').toString('utf8'));
    }
  }
  return names;
}
