import { randomBytes, X509Certificate } from 'node:crypto';
import { Counters, FaultInjector } from '../faults';
import { SandboxCa } from '../tls/ca';
import { EmulatorReply, EmulatorRequest, startHttpsEmulator } from './httpsServer';
import { verifyBearer } from './identity';
import { createCsr, fromPkcs12, generateRsaKey, publicKeyMatches, toPkcs12, x5t } from './keyVaultCrypto';

/**
 * Key Vault emulator (certificates and secrets data plane), following the REST reference
 * (https://learn.microsoft.com/rest/api/keyvault/certificates, .../secrets) and the wire of
 * @azure/keyvault-certificates 4.10 / keyvault-secrets 4.12 (api-version 2025-07-01):
 * - challenge auth: an unauthenticated request gets 401 + WWW-Authenticate with the authority and
 *   resource; tokens must carry aud https://vault.azure.net (sdk: challengeBasedAuthenticationPolicy);
 * - issuer "Unknown" create: 202 pending operation with a CSR, 409 while one is pending, merge of
 *   the CA's chain (the leaf must match the pending key), soft delete and purge;
 * - certificate-backed secrets: the PFX (password-less, key + chain) base64, what the gateway reads.
 * RSA keys only (node-forge); EC key types answer 400 in the emulator.
 */
interface CertVersion {
  version: string;
  keyPem: string;
  chainDer: Buffer[];
  enabled: boolean;
  created: number;
  updated: number;
  tags: Record<string, string>;
}

interface WirePolicy {
  key_props?: { kty?: string; key_size?: number; exportable?: boolean; reuse_key?: boolean; crv?: string };
  x509_props?: { subject?: string; sans?: { dns_names?: string[] } };
  issuer?: { name?: string };
  secret_props?: { contentType?: string };
  [key: string]: unknown;
}

interface PendingOperation {
  version: string;
  keyPem: string;
  csrDer: Buffer;
  requestId: string;
  tags: Record<string, string>;
  status: 'inProgress' | 'completed';
}

interface CertObject {
  name: string;
  versions: CertVersion[];
  policy: WirePolicy;
  pending?: PendingOperation;
  deletedAt?: number;
}

interface SecretVersion {
  version: string;
  value: string;
  contentType?: string;
  tags: Record<string, string>;
  enabled: boolean;
  created: number;
  updated: number;
}

export interface KeyVaultEmulator {
  url: string;
  stop(): Promise<void>;
  /** For the gateway data plane: a secret id (versionless = latest enabled) to its value. */
  resolveSecret(secretId: string): Promise<{ pfxBase64: string; contentType: string } | undefined>;
  /** Inspection for tests: the certificate versions held under a name. */
  certificateVersions(name: string): string[];
}

const now = (): number => Math.floor(Date.now() / 1000);
const newVersion = (): string => randomBytes(16).toString('hex');
const kvError = (status: number, code: string, message: string): EmulatorReply => ({ status, body: { error: { code, message } } });

export async function startKeyVaultEmulator(options: {
  ca: SandboxCa;
  tenantId: string;
  faults?: FaultInjector;
  counters?: Counters;
  port?: number;
}): Promise<KeyVaultEmulator> {
  const certificates = new Map<string, CertObject>();
  const secrets = new Map<string, SecretVersion[]>();
  let base = '';

  const certId = (name: string, version: string): string => `${base}/certificates/${name}/${version}`;

  function bundle(cert: CertObject, version: CertVersion): Record<string, unknown> {
    const leaf = version.chainDer[0];
    const x509 = leaf ? new X509Certificate(leaf) : undefined;
    return {
      id: certId(cert.name, version.version),
      kid: `${base}/keys/${cert.name}/${version.version}`,
      sid: `${base}/secrets/${cert.name}/${version.version}`,
      ...(leaf ? { x5t: x5t(leaf), cer: leaf.toString('base64') } : {}),
      attributes: {
        enabled: version.enabled,
        ...(x509 ? { nbf: Math.floor(Date.parse(x509.validFrom) / 1000), exp: Math.floor(Date.parse(x509.validTo) / 1000) } : {}),
        created: version.created,
        updated: version.updated,
        recoveryLevel: 'Recoverable+Purgeable',
        recoverableDays: 90,
      },
      policy: { id: `${base}/certificates/${cert.name}/policy`, ...cert.policy },
      tags: version.tags,
    };
  }

  function operation(cert: CertObject, pending: PendingOperation): Record<string, unknown> {
    return {
      id: `${base}/certificates/${cert.name}/pending`,
      issuer: { name: 'Unknown' },
      csr: pending.csrDer.toString('base64'),
      cancellation_requested: false,
      status: pending.status,
      status_details:
        pending.status === 'inProgress' ? 'Pending certificate created. Please Perform Merge to complete the request.' : 'Certificate merged.',
      request_id: pending.requestId,
      ...(pending.status === 'completed' ? { target: `${base}/certificates/${cert.name}` } : {}),
    };
  }

  const live = (name: string): CertObject | undefined => {
    const cert = certificates.get(name);
    return cert && cert.deletedAt === undefined ? cert : undefined;
  };
  const latest = (cert: CertObject): CertVersion | undefined => cert.versions[cert.versions.length - 1];

  function create(name: string, body: { policy?: WirePolicy; tags?: Record<string, string> }): EmulatorReply {
    const existing = certificates.get(name);
    if (existing?.deletedAt !== undefined) {
      return kvError(409, 'Conflict', `Certificate ${name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the certificate can only be recovered or purged.`);
    }
    if (existing?.pending?.status === 'inProgress') {
      return kvError(409, 'Conflict', `Certificate ${name} is currently being created or is pending. Merge or cancel the pending operation first.`);
    }
    const policy = body.policy ?? existing?.policy ?? {};
    const kty = policy.key_props?.kty ?? 'RSA';
    if (!kty.startsWith('RSA')) return kvError(400, 'BadParameter', `The Key Vault emulator supports RSA keys only (got ${kty}).`);
    const keyPem = generateRsaKey(policy.key_props?.key_size ?? 2048);
    const subject = policy.x509_props?.subject ?? `CN=${name}`;
    const cert: CertObject = existing ?? { name, versions: [], policy };
    cert.policy = policy;
    cert.pending = {
      version: newVersion(),
      keyPem,
      csrDer: createCsr(keyPem, subject, policy.x509_props?.sans?.dns_names ?? []),
      requestId: newVersion(),
      tags: body.tags ?? {},
      status: 'inProgress',
    };
    certificates.set(name, cert);
    return { status: 202, body: operation(cert, cert.pending), headers: { location: `${base}/certificates/${name}/pending?api-version=7.6` } };
  }

  function merge(name: string, body: { x5c?: string[]; tags?: Record<string, string> }): EmulatorReply {
    const cert = live(name);
    if (!cert?.pending || cert.pending.status !== 'inProgress') return kvError(404, 'PendingCertificateNotFound', `Pending certificate not found: ${name}`);
    const chain = (body.x5c ?? []).map((b64) => Buffer.from(b64, 'base64'));
    if (chain.length === 0) return kvError(400, 'BadParameter', 'x5c is required.');
    try {
      if (!publicKeyMatches(cert.pending.keyPem, chain[0])) {
        return kvError(400, 'BadParameter', 'Public key from x509 certificate and key of this instance doesn\'t match.');
      }
    } catch {
      return kvError(400, 'BadParameter', 'The x5c certificate could not be parsed.');
    }
    const version: CertVersion = {
      version: cert.pending.version,
      keyPem: cert.pending.keyPem,
      chainDer: chain,
      enabled: true,
      created: now(),
      updated: now(),
      tags: { ...cert.pending.tags, ...(body.tags ?? {}) },
    };
    cert.versions.push(version);
    cert.pending.status = 'completed';
    return { status: 201, body: bundle(cert, version) };
  }

  function importCertificate(name: string, body: { value?: string; pwd?: string; policy?: WirePolicy; tags?: Record<string, string> }): EmulatorReply {
    if (!body.value) return kvError(400, 'BadParameter', 'value is required.');
    let parsed: { keyPem: string; chainDer: Buffer[] };
    try {
      parsed = fromPkcs12(Buffer.from(body.value, 'base64'), body.pwd);
    } catch (error) {
      return kvError(400, 'BadParameter', `The specified PEM X.509 certificate content is in an unexpected format: ${(error as Error).message}`);
    }
    const cert = live(name) ?? { name, versions: [], policy: body.policy ?? { issuer: { name: 'Unknown' } } };
    const version: CertVersion = { version: newVersion(), ...parsed, enabled: true, created: now(), updated: now(), tags: body.tags ?? {} };
    cert.versions.push(version);
    certificates.set(name, cert);
    return { status: 200, body: bundle(cert, version) };
  }

  function certificateRoute(request: EmulatorRequest): EmulatorReply {
    const [, name, third, fourth] = request.path;
    const body = (request.body ?? {}) as Record<string, unknown>;
    if (!name) {
      const items = [...certificates.values()].filter((c) => c.deletedAt === undefined && latest(c));
      return page(request, items.map((c) => ({ id: `${base}/certificates/${c.name}`, x5t: x5t(latest(c)!.chainDer[0]), attributes: bundle(c, latest(c)!).attributes, tags: latest(c)!.tags })));
    }
    if (third === 'create' && request.method === 'POST') return create(name, body);
    if (third === 'import' && request.method === 'POST') return importCertificate(name, body);
    if (third === 'pending' && fourth === 'merge' && request.method === 'POST') return merge(name, body);
    const cert = live(name);
    if (!cert) return kvError(404, 'CertificateNotFound', `A certificate with (name/id) ${name} was not found in this key vault.`);
    if (third === 'pending') {
      if (!cert.pending) return kvError(404, 'PendingCertificateNotFound', `Pending certificate not found: ${name}`);
      if (request.method === 'DELETE') {
        const reply = operation(cert, cert.pending);
        cert.pending = undefined;
        return { status: 200, body: reply };
      }
      return { status: 200, body: operation(cert, cert.pending) };
    }
    if (third === 'versions') {
      return page(request, [...cert.versions].reverse().map((v) => ({ id: certId(name, v.version), x5t: x5t(v.chainDer[0]), attributes: bundle(cert, v).attributes, tags: v.tags })));
    }
    if (third === 'policy') return { status: 200, body: { id: `${base}/certificates/${name}/policy`, ...cert.policy } };
    if (request.method === 'DELETE' && !third) {
      cert.deletedAt = now();
      return { status: 200, body: deletedBundle(cert) };
    }
    const version = third ? cert.versions.find((v) => v.version === third) : latest(cert);
    if (!version) {
      // While only a pending version exists, GET answers with it, disabled and without cer.
      if (!third && cert.pending?.status === 'inProgress') {
        return { status: 200, body: bundle(cert, { version: cert.pending.version, keyPem: '', chainDer: [], enabled: false, created: now(), updated: now(), tags: cert.pending.tags }) };
      }
      return kvError(404, 'CertificateNotFound', `A certificate with (name/id) ${name}/${third ?? ''} was not found in this key vault.`);
    }
    if (request.method === 'PATCH') {
      const update = body as { tags?: Record<string, string>; attributes?: { enabled?: boolean } };
      if (update.tags) version.tags = update.tags;
      if (update.attributes?.enabled !== undefined) version.enabled = update.attributes.enabled;
      version.updated = now();
    }
    return { status: 200, body: bundle(cert, version) };
  }

  function deletedBundle(cert: CertObject): Record<string, unknown> {
    const version = latest(cert);
    return {
      ...(version ? bundle(cert, version) : { id: `${base}/certificates/${cert.name}` }),
      recoveryId: `${base}/deletedcertificates/${cert.name}`,
      deletedDate: cert.deletedAt,
      scheduledPurgeDate: (cert.deletedAt ?? now()) + 90 * 86400,
    };
  }

  function deletedRoute(request: EmulatorRequest): EmulatorReply {
    const name = request.path[1];
    const cert = name ? certificates.get(name) : undefined;
    if (!cert || cert.deletedAt === undefined) return kvError(404, 'CertificateNotFound', `Deleted Certificate not found: ${name}`);
    if (request.method === 'DELETE') {
      certificates.delete(cert.name);
      return { status: 204 };
    }
    if (request.path[2] === 'recover' && request.method === 'POST') {
      cert.deletedAt = undefined;
      return { status: 200, body: bundle(cert, latest(cert)!) };
    }
    return { status: 200, body: deletedBundle(cert) };
  }

  function secretBody(name: string, version: SecretVersion, managed = false): Record<string, unknown> {
    return {
      value: version.value,
      id: `${base}/secrets/${name}/${version.version}`,
      ...(version.contentType ? { contentType: version.contentType } : {}),
      attributes: { enabled: version.enabled, created: version.created, updated: version.updated, recoveryLevel: 'Recoverable+Purgeable' },
      tags: version.tags,
      ...(managed ? { kid: `${base}/keys/${name}/${version.version}`, managed: true } : {}),
    };
  }

  /** A certificate's secret view: the PFX of its key and chain. */
  function certificateSecret(name: string, versionId?: string): SecretVersion | undefined {
    const cert = live(name);
    const version = cert && (versionId ? cert.versions.find((v) => v.version === versionId) : [...cert.versions].reverse().find((v) => v.enabled));
    if (!cert || !version) return undefined;
    return {
      version: version.version,
      value: toPkcs12(version.keyPem, version.chainDer).toString('base64'),
      contentType: 'application/x-pkcs12',
      tags: {},
      enabled: version.enabled,
      created: version.created,
      updated: version.updated,
    };
  }

  function secretRoute(request: EmulatorRequest): EmulatorReply {
    const [, name, third] = request.path;
    if (!name) return page(request, [...secrets.keys()].map((n) => ({ id: `${base}/secrets/${n}` })));
    if (request.method === 'PUT') {
      const body = (request.body ?? {}) as { value?: string; contentType?: string; tags?: Record<string, string> };
      if (typeof body.value !== 'string') return kvError(400, 'BadParameter', 'value is required.');
      const version: SecretVersion = { version: newVersion(), value: body.value, contentType: body.contentType, tags: body.tags ?? {}, enabled: true, created: now(), updated: now() };
      secrets.set(name, [...(secrets.get(name) ?? []), version]);
      return { status: 200, body: secretBody(name, version) };
    }
    const managed = certificateSecret(name, third === 'versions' ? undefined : third);
    if (managed) return { status: 200, body: secretBody(name, managed, true) };
    const versions = secrets.get(name);
    if (!versions?.length) return kvError(404, 'SecretNotFound', `A secret with (name/id) ${name} was not found in this key vault.`);
    if (third === 'versions') return page(request, versions.map((v) => ({ id: `${base}/secrets/${name}/${v.version}`, attributes: secretBody(name, v).attributes, tags: v.tags })));
    if (request.method === 'DELETE') {
      secrets.delete(name);
      return { status: 200, body: { ...secretBody(name, versions[versions.length - 1]), recoveryId: `${base}/deletedsecrets/${name}` } };
    }
    const version = third ? versions.find((v) => v.version === third) : versions[versions.length - 1];
    if (!version) return kvError(404, 'SecretNotFound', `A secret with (name/id) ${name}/${third} was not found in this key vault.`);
    if (request.method === 'PATCH') {
      const update = (request.body ?? {}) as { tags?: Record<string, string>; contentType?: string };
      if (update.tags) version.tags = update.tags;
      if (update.contentType) version.contentType = update.contentType;
      version.updated = now();
    }
    return { status: 200, body: secretBody(name, version) };
  }

  /** Paging by `maxresults` with an absolute nextLink carrying a skip token (REST list semantics). */
  function page(request: EmulatorRequest, items: unknown[]): EmulatorReply {
    const max = Math.min(Number(request.url.searchParams.get('maxresults') ?? '25') || 25, 25);
    const skip = Number(request.url.searchParams.get('$skiptoken') ?? '0') || 0;
    const value = items.slice(skip, skip + max);
    const next = skip + max < items.length ? new URL(request.url.pathname, base) : undefined;
    if (next) {
      next.searchParams.set('api-version', request.url.searchParams.get('api-version') ?? '7.6');
      next.searchParams.set('maxresults', String(max));
      next.searchParams.set('$skiptoken', String(skip + max));
    }
    return { status: 200, body: { value, nextLink: next?.href ?? null } };
  }

  const server = await startHttpsEmulator(
    {
      ca: options.ca,
      service: 'keyvault',
      faults: options.faults,
      counters: options.counters,
      port: options.port,
      operation: (request) => {
        const [collection, name, third, fourth] = request.path;
        const verb = request.method.toLowerCase();
        if (!name) return `${collection ?? 'root'}.list`;
        if (third && !/^[0-9a-f]{32}$/.test(third)) return `${collection}.${third}${fourth ? `.${fourth}` : ''}`;
        return `${collection}.${verb}`;
      },
      faultBody: (code, message) => ({ error: { code, message } }),
    },
    (request) => {
      // Challenge-based auth (sdk keyvault-common challengeBasedAuthenticationPolicy).
      if (!request.headers.authorization) {
        return {
          status: 401,
          headers: {
            'www-authenticate': `Bearer authorization="https://login.microsoftonline.com/${options.tenantId}", resource="https://vault.azure.net"`,
          },
          body: kvError(401, 'Unauthorized', 'AKV10000: Request is missing a Bearer or PoP token.').body,
        };
      }
      if (!verifyBearer(request.headers.authorization, 'https://vault.azure.net')) {
        return kvError(401, 'Unauthorized', 'AKV10022: Invalid audience or expired token.');
      }
      switch (request.path[0]) {
        case 'certificates':
          return certificateRoute(request);
        case 'deletedcertificates':
          return deletedRoute(request);
        case 'secrets':
          return secretRoute(request);
        default:
          return kvError(404, 'NotFound', `No route ${request.method} ${request.url.pathname}`);
      }
    },
  );
  base = server.url;

  return {
    url: server.url,
    stop: server.stop,
    certificateVersions: (name) => live(name)?.versions.map((v) => v.version) ?? [],
    resolveSecret: async (secretId) => {
      const match = /\/secrets\/([^/]+)(?:\/([^/]+))?\/?$/.exec(new URL(secretId).pathname);
      if (!match) return undefined;
      const secret = certificateSecret(match[1], match[2]);
      return secret ? { pfxBase64: secret.value, contentType: 'application/x-pkcs12' } : undefined;
    },
  };
}
