import { createPrivateKey, X509Certificate } from 'node:crypto';
import { CertificateEntry, CertificateStore, CertificateVersion, latestCompleted } from './certificates';
import { toPkcs12 } from './crypto';
import { beingDeleted, beingRecovered, deletionFields, Lifecycle, LifecycleDelays, lifecycleDelays, nameConflict, Phase, phaseOf, RECOVERABLE_DAYS, recoverConflict, startDelete, startPurge, startRecover } from './lifecycle';
import { KvReply, KvRequest, kvError, newVersionId, page, unixNow } from './wire';

/**
 * Secrets data plane (REST: https://learn.microsoft.com/rest/api/keyvault/secrets, wire of
 * @azure/keyvault-secrets 4.12). Plain secrets are stored here (the app keeps its ACME account
 * key as one). A certificate's secret is its key and chain: `managed: true`, a `kid`, and as
 * value a password-less PKCS#12 (base64) or PEM per the policy's secret_props.contentType; it
 * cannot be set or deleted through the secrets API (the service answers 403 for managed secrets).
 * Delete, recover and purge complete asynchronously (lifecycle.ts).
 */
interface SecretVersion {
  version: string;
  value: string;
  contentType?: string;
  enabled: boolean;
  created: number;
  updated: number;
  tags: Record<string, string>;
}

interface SecretEntry extends Lifecycle {
  name: string;
  versions: SecretVersion[];
}
const NAME = /^[0-9a-zA-Z-]{1,127}$/;
const PKCS12 = 'application/x-pkcs12';

const notFound = (name: string): KvReply =>
  kvError(
    404,
    'SecretNotFound',
    `A secret with (name/id) ${name} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182`,
  );
const deletedNotFound = (name: string): KvReply => kvError(404, 'SecretNotFound', `Deleted Secret not found: ${name}`);
/**
 * A read of a disabled secret version, versioned or versionless (the latest version is disabled):
 * the service's answer quoted in azure-sdk-for-js#24756 and ansible-collections/azure#1989.
 * Versionless reads do not fall back to an older enabled version.
 */
const disabledRefused = (): KvReply => kvError(403, 'Forbidden', 'Operation get is not allowed on a disabled secret.', 'SecretDisabled');
const managedRefused = (operation: string, name: string): KvReply =>
  kvError(403, 'Forbidden', `Operation "${operation}" is not allowed on secret ${name}: it is managed by a certificate.`);

export class SecretStore {
  private readonly entries = new Map<string, SecretEntry>();

  constructor(
    private readonly vaultUrl: () => string,
    private readonly certificates: CertificateStore,
    private readonly delays: LifecycleDelays = lifecycleDelays(),
  ) {}

  set(request: KvRequest, name: string): KvReply {
    if (!NAME.test(name)) return kvError(400, 'BadParameter', 'Secret name must match ^[0-9a-zA-Z-]{1,127}$.');
    if (this.certificates.live(name)) return managedRefused('set', name);
    const found = this.lookup(name);
    const conflict = found && nameConflict('Secret', name, found.phase);
    if (conflict) return conflict;
    const existing = found?.entry;
    const body = request.body as { value?: unknown; contentType?: unknown; tags?: Record<string, string>; attributes?: { enabled?: boolean } };
    if (typeof body.value !== 'string') return kvError(400, 'BadParameter', 'The secret value must be a string.');
    const version: SecretVersion = {
      version: newVersionId(),
      value: body.value,
      contentType: typeof body.contentType === 'string' ? body.contentType : undefined,
      enabled: body.attributes?.enabled ?? true,
      created: unixNow(),
      updated: unixNow(),
      tags: body.tags ?? {},
    };
    const entry = existing ?? { name, versions: [] };
    entry.versions.push(version);
    this.entries.set(name.toLowerCase(), entry);
    return { status: 200, body: this.body(entry, version) };
  }

  /**
   * GET /secrets/{n}[/{v}]: no version = the latest version, which must be enabled (403
   * SecretDisabled otherwise). A certificate's secret has a version per issued (merged or imported)
   * certificate version; a pending certificate version has none (its bundle has no sid), so a
   * renewal in progress leaves the latest issued version in place.
   */
  get(name: string, versionId?: string): KvReply {
    const certificate = this.certificates.live(name);
    if (certificate) {
      const version = versionId ? certificate.versions.find((v) => v.version === versionId && v.chainDer.length > 0) : latestCompleted(certificate);
      if (!version) return notFound(versionId ? `${name}/${versionId}` : name);
      return version.enabled ? { status: 200, body: this.certificateSecret(certificate, version) } : disabledRefused();
    }
    const entry = this.live(name);
    const version = entry && (versionId ? entry.versions.find((v) => v.version === versionId) : entry.versions[entry.versions.length - 1]);
    if (!entry || !version) return notFound(versionId ? `${name}/${versionId}` : name);
    return version.enabled ? { status: 200, body: this.body(entry, version) } : disabledRefused();
  }

  update(request: KvRequest, name: string, versionId?: string): KvReply {
    if (this.certificates.live(name)) return managedRefused('update', name);
    const entry = this.live(name);
    const version = entry && (versionId ? entry.versions.find((v) => v.version === versionId) : entry.versions[entry.versions.length - 1]);
    if (!entry || !version) return notFound(name);
    const body = request.body as { contentType?: unknown; tags?: Record<string, string>; attributes?: { enabled?: boolean } };
    if (typeof body.contentType === 'string') version.contentType = body.contentType;
    if (body.tags) version.tags = { ...body.tags };
    if (typeof body.attributes?.enabled === 'boolean') version.enabled = body.attributes.enabled;
    version.updated = unixNow();
    return { status: 200, body: withoutValue(this.body(entry, version)) };
  }

  /** GET /secrets: plain secrets and certificate-backed ones (managed: true), no values. */
  list(request: KvRequest): KvReply {
    const plain = [...this.entries.values()]
      .filter((entry) => this.live(entry.name) && entry.versions.length)
      .map((entry) => this.item(entry.versions[entry.versions.length - 1], `${this.vaultUrl()}/secrets/${entry.name}`));
    const certificates = this.certificates.liveNames()
      .map((name) => this.certificates.live(name)!)
      .map((entry) => ({ entry, version: latestCompleted(entry) }))
      .filter((item): item is { entry: CertificateEntry; version: CertificateVersion } => !!item.version)
      .map(({ entry, version }) => ({ ...this.certificateItem(entry, version, `${this.vaultUrl()}/secrets/${entry.name}`) }));
    return page(request, [...plain, ...certificates].sort((a, b) => String(a.id).localeCompare(String(b.id))));
  }

  listVersions(request: KvRequest, name: string): KvReply {
    const certificate = this.certificates.live(name);
    if (certificate) {
      return page(
        request,
        certificate.versions.filter((v) => v.chainDer.length > 0).map((v) => this.certificateItem(certificate, v, `${this.vaultUrl()}/secrets/${certificate.name}/${v.version}`)),
      );
    }
    const entry = this.live(name);
    if (!entry) return notFound(name);
    return page(request, entry.versions.map((v) => this.item(v, `${this.vaultUrl()}/secrets/${entry.name}/${v.version}`)));
  }

  delete(name: string): KvReply {
    if (this.certificates.live(name)) return managedRefused('delete', name);
    const entry = this.live(name);
    if (!entry) return notFound(name);
    startDelete(entry, this.delays);
    return { status: 200, body: this.deletedBody(entry) };
  }

  getDeleted(name: string): KvReply {
    const found = this.lookup(name);
    return found?.phase === 'deleted' ? { status: 200, body: this.deletedBody(found.entry) } : deletedNotFound(name);
  }

  purge(name: string): KvReply {
    const found = this.lookup(name);
    if (found?.phase === 'deleting') return beingDeleted('Secret');
    if (found?.phase === 'recovering') return beingRecovered('Secret');
    if (found?.phase !== 'deleted') return deletedNotFound(name);
    startPurge(found.entry, this.delays);
    return { status: 204 };
  }

  recover(name: string): KvReply {
    const found = this.lookup(name);
    const latestOf = (entry: SecretEntry): SecretVersion => entry.versions[entry.versions.length - 1];
    if (found?.phase === 'deleting') return recoverConflict('Secret', `${this.vaultUrl()}/secrets/${found.entry.name}/${latestOf(found.entry).version}`);
    if (found?.phase === 'recovering') return beingRecovered('Secret');
    if (found?.phase !== 'deleted') return deletedNotFound(name);
    startRecover(found.entry, this.delays);
    return { status: 200, body: withoutValue(this.body(found.entry, latestOf(found.entry))) };
  }

  /**
   * The value a secret id points at, for the gateway data plane, by the rules of GET: a versionless
   * id is the latest version, and nothing when that one is disabled (as the service refuses it).
   */
  resolve(secretId: string): { value: string; contentType: string } | undefined {
    let path: string;
    try {
      path = new URL(secretId).pathname;
    } catch {
      return undefined;
    }
    const match = /^\/secrets\/([^/]+)(?:\/([^/]*))?\/?$/.exec(path);
    if (!match) return undefined;
    const reply = this.get(decodeURIComponent(match[1]), match[2] ? decodeURIComponent(match[2]) : undefined);
    if (reply.status !== 200) return undefined;
    const body = reply.body as { value: string; contentType?: string };
    return { value: body.value, contentType: body.contentType ?? '' };
  }

  /** The entry of a name and where it is in its life (lifecycle.ts); a finished purge frees the name. */
  private lookup(name: string): { entry: SecretEntry; phase: Exclude<Phase, 'gone'> } | undefined {
    const entry = this.entries.get(name.toLowerCase());
    if (!entry) return undefined;
    const phase = phaseOf(entry);
    if (phase === 'gone') {
      this.entries.delete(name.toLowerCase());
      return undefined;
    }
    return { entry, phase };
  }

  private live(name: string): SecretEntry | undefined {
    const found = this.lookup(name);
    return found?.phase === 'live' ? found.entry : undefined;
  }

  private attributes(version: SecretVersion): Record<string, unknown> {
    return { enabled: version.enabled, created: version.created, updated: version.updated, recoveryLevel: 'Recoverable+Purgeable', recoverableDays: RECOVERABLE_DAYS };
  }

  /** SecretBundle (REST: Secrets - Get Secret response). */
  private body(entry: SecretEntry, version: SecretVersion): Record<string, unknown> {
    return {
      value: version.value,
      id: `${this.vaultUrl()}/secrets/${entry.name}/${version.version}`,
      ...(version.contentType !== undefined ? { contentType: version.contentType } : {}),
      attributes: this.attributes(version),
      tags: version.tags,
    };
  }

  private item(version: SecretVersion, id: string): Record<string, unknown> {
    return { id, ...(version.contentType !== undefined ? { contentType: version.contentType } : {}), attributes: this.attributes(version), tags: version.tags };
  }

  private certificateItem(entry: CertificateEntry, version: CertificateVersion, id: string): Record<string, unknown> {
    return { id, contentType: contentTypeOf(entry), attributes: this.certificates.attributes(version), tags: version.tags, managed: true };
  }

  /** A certificate version's secret: key + full chain, as the gateway and SecretClient read it. */
  private certificateSecret(entry: CertificateEntry, version: CertificateVersion): Record<string, unknown> {
    const contentType = contentTypeOf(entry);
    const value = contentType === 'application/x-pem-file' ? toPem(version) : toPkcs12(version.keyPem, version.chainDer).toString('base64');
    return {
      value,
      contentType,
      id: `${this.vaultUrl()}/secrets/${entry.name}/${version.version}`,
      kid: `${this.vaultUrl()}/keys/${entry.name}/${version.version}`,
      managed: true,
      attributes: this.certificates.attributes(version),
      tags: version.tags,
    };
  }

  private deletedBody(entry: SecretEntry): Record<string, unknown> {
    return {
      ...withoutValue(this.body(entry, entry.versions[entry.versions.length - 1])),
      ...deletionFields(entry, `${this.vaultUrl()}/deletedsecrets/${entry.name}`),
    };
  }
}

/** Update, recover and deleted views of a secret carry no value (REST: SecretBundle without value). */
function withoutValue(body: Record<string, unknown>): Record<string, unknown> {
  const copy = { ...body };
  delete copy.value;
  return copy;
}

const contentTypeOf = (entry: CertificateEntry): string => entry.policy.secret_props?.contentType ?? PKCS12;

function toPem(version: CertificateVersion): string {
  const key = createPrivateKey(version.keyPem).export({ type: 'pkcs8', format: 'pem' }).toString();
  return key + version.chainDer.map((der) => new X509Certificate(der).toString()).join('');
}
