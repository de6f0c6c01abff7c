import { createPrivateKey, X509Certificate } from 'node:crypto';
import { createCsr, createSelfSignedCertificate, fromPkcs12, generateKey, KeyPropertiesError, publicKeyMatches, thumbprint, WireKeyProperties } from './crypto';
import { beingDeleted, beingRecovered, deletionFields, Lifecycle, LifecycleDelays, lifecycleDelays, nameConflict, Phase, phaseOf, RECOVERABLE_DAYS, recoverConflict, startDelete, startPurge, startRecover } from './lifecycle';
import { KvReply, KvRequest, kvError, newVersionId, page, unixNow } from './wire';

/**
 * Certificates data plane (REST: https://learn.microsoft.com/rest/api/keyvault/certificates,
 * api-version 7.6 / 2025-07-01; wire names as @azure/keyvault-certificates 4.10 serialises them).
 * A create with issuer "Unknown" adds a pending version (disabled, no `cer`, `kid` or `sid`,
 * nbf/exp from the policy) and a pending operation holding the CSR; merging the CA's chain adds
 * a new, issued version. Shapes follow the service answers recorded in azure-sdk-for-js
 * (sdk/keyvault/keyvault-certificates/recordings/node/certificates_client__merge_and_import_certificates/
 * recording_can_merge_a_self_signed_certificate.json, "merge recording" below). Deletion is soft
 * (recovery level Recoverable+Purgeable, 90 days); delete, recover and purge complete
 * asynchronously (lifecycle.ts).
 */
export interface WirePolicy {
  key_props?: WireKeyProperties;
  secret_props?: { contentType?: string };
  x509_props?: { subject?: string; sans?: { dns_names?: string[] }; validity_months?: number; ekus?: string[]; key_usage?: string[] };
  issuer?: { name?: string };
  lifetime_actions?: unknown[];
  attributes?: { enabled?: boolean };
}

interface WireAttributes {
  enabled?: boolean;
}

export interface CertificateVersion {
  version: string;
  keyPem: string;
  /** Leaf first; empty for a pending version (one a create added, which never gets a certificate). */
  chainDer: Buffer[];
  enabled: boolean;
  created: number;
  updated: number;
  tags: Record<string, string>;
  /** nbf/exp of a pending version, which has no certificate to take them from (see pendingValidity). */
  validity?: { nbf: number; exp: number };
}

interface PendingOperation {
  version: string;
  csrDer: Buffer;
  requestId: string;
  /** An issuer-Unknown operation is inProgress until merged (completed) or deleted. */
  status: 'inProgress' | 'completed';
  cancellationRequested: boolean;
}

export interface CertificateEntry extends Lifecycle {
  name: string;
  versions: CertificateVersion[];
  policy: WirePolicy;
  policyUpdated: number;
  operation?: PendingOperation;
  preserveCertOrder?: boolean;
}
const NAME = /^[0-9a-zA-Z-]{1,127}$/;

// The service's wording, with its help link (recover recording).
const notFound = (name: string): KvReply =>
  kvError(
    404,
    'CertificateNotFound',
    `A certificate with (name/id) ${name} was not found in this key vault. If you recently deleted this certificate you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182`,
  );
// Delete recording: "Deleted Certificate not found: {name}".
const deletedNotFound = (name: string): KvReply => kvError(404, 'CertificateNotFound', `Deleted Certificate not found: ${name}`);

/** Recordings (cancel recording): 404 PendingCertificateNotFound, "Pending certificate not found: {name}". */
const pendingNotFound = (name: string): KvReply => kvError(404, 'PendingCertificateNotFound', `Pending certificate not found: ${name}`);

/**
 * A create or import while the certificate's operation is inProgress: 409 with code Forbidden and
 * this wording (Learn, "Monitor and manage certificate creation", create-certificate-scenarios.md,
 * "Create (or Import) when pending request exists"). A cancellation requested does not lift it.
 */
const pendingConflict = (): KvReply =>
  kvError(409, 'Forbidden', "A new key vault certificate can not be created or imported while a pending key vault certificate's status is inProgress.");

export class CertificateStore {
  private readonly entries = new Map<string, CertificateEntry>();

  constructor(
    private readonly vaultUrl: () => string,
    private readonly delays: LifecycleDelays = lifecycleDelays(),
  ) {}

  /** The entry of a name and where it is in its life; a purge that has finished frees the name. */
  private lookup(name: string): { entry: CertificateEntry; phase: Exclude<Phase, 'gone'> } | undefined {
    const entry = this.entries.get(name.toLowerCase());
    if (!entry) return undefined;
    const phase = phaseOf(entry);
    if (phase === 'gone') {
      this.entries.delete(name.toLowerCase());
      return undefined;
    }
    if (phase === 'live') entry.recoveringUntil = undefined;
    return { entry, phase };
  }

  /** A live certificate: not deleted, nor being deleted, recovered or purged. */
  live(name: string): CertificateEntry | undefined {
    const found = this.lookup(name);
    return found?.phase === 'live' ? found.entry : undefined;
  }

  /** Names of the live certificates. */
  liveNames(): string[] {
    return [...this.entries.values()].map((entry) => this.live(entry.name)?.name).filter((name): name is string => !!name);
  }

  private inPhase(phase: Phase): CertificateEntry[] {
    return [...this.entries.values()].filter((entry) => this.lookup(entry.name)?.phase === phase);
  }

  // --- create / pending operation / merge ---------------------------------------------------

  create(request: KvRequest, name: string): KvReply {
    if (!NAME.test(name)) return kvError(400, 'BadParameter', 'Certificate name must match ^[0-9a-zA-Z-]{1,127}$.');
    const found = this.lookup(name);
    const conflict = found && nameConflict('Certificate', name, found.phase);
    if (conflict) return conflict;
    const existing = found?.entry;
    if (existing?.operation?.status === 'inProgress') return pendingConflict();
    const body = request.body as { policy?: WirePolicy; attributes?: WireAttributes; tags?: Record<string, string>; preserveCertOrder?: boolean };
    const policy = body.policy ?? existing?.policy;
    if (!policy) return kvError(400, 'BadParameter', 'Policy must be specified for a new certificate.');
    const issuer = policy.issuer?.name ?? 'Unknown';
    const selfSigned = issuer.toLowerCase() === 'self';
    if (issuer.toLowerCase() !== 'unknown' && !selfSigned) {
      return kvError(400, 'BadParameter', `The emulator only supports issuers "Unknown" (CSR and merge) and "Self"; got "${issuer}".`);
    }
    const subject = policy.x509_props?.subject;
    const dnsNames = policy.x509_props?.sans?.dns_names ?? [];
    if (!subject && dnsNames.length === 0) return kvError(400, 'BadParameter', 'Certificate policy must have a subject or subject alternative names.');
    // RFC 5280 ub-common-name is 64; refused here (stricter than documented: the service's own
    // check is not published, and no CA would issue it).
    const commonName = /(?:^|,)\s*CN=([^,]*)/i.exec(subject ?? '')?.[1]?.trim();
    if (commonName && commonName.length > 64) return kvError(400, 'BadParameter', `The subject's common name is ${commonName.length} characters long; at most 64 are allowed.`);
    let keyPem: string;
    let csrDer: Buffer;
    try {
      const previous = existing && policy.key_props?.reuse_key ? existing.versions[existing.versions.length - 1] : undefined;
      keyPem = previous?.keyPem ?? generateKey(policy.key_props);
      // A policy may name the certificate by its SANs alone (the SDKs require a subject or SANs,
      // azure-sdk-for-js#6205); the CSR then has an empty subject. Which subject the service writes
      // in that case is not documented: the empty one is what a CA accepts with certainty.
      csrDer = createCsr(keyPem, subject ?? '', dnsNames);
    } catch (error) {
      if (error instanceof KeyPropertiesError) return kvError(400, 'BadParameter', error.message);
      throw error;
    }
    const entry: CertificateEntry = existing ?? { name, versions: [], policy: withServiceDefaults(policy), policyUpdated: unixNow() };
    if (body.policy) {
      entry.policy = withServiceDefaults(body.policy);
      entry.policyUpdated = unixNow();
    }
    if (body.preserveCertOrder !== undefined) entry.preserveCertOrder = body.preserveCertOrder;
    const created = unixNow();
    const version: CertificateVersion = {
      version: newVersionId(),
      keyPem,
      chainDer: [],
      enabled: false,
      created,
      updated: created,
      tags: body.tags ?? {},
      validity: pendingValidity(created, entry.policy.x509_props?.validity_months ?? 12),
    };
    entry.versions.push(version);
    entry.operation = { version: version.version, csrDer, requestId: newVersionId(), status: 'inProgress', cancellationRequested: false };
    this.entries.set(name.toLowerCase(), entry);
    if (selfSigned) {
      const operation = entry.operation;
      setTimeout(() => this.completeSelfSigned(entry, version, operation, subject ?? '', dnsNames), this.delays.selfSignedMs).unref();
    }
    // Merge recording: 202 with Location .../pending?api-version=...&request_id=... and Retry-After: 10.
    return {
      status: 202,
      body: this.operationBody(entry),
      headers: {
        location: `${this.vaultUrl()}/certificates/${entry.name}/pending?api-version=${request.query.get('api-version')}&request_id=${entry.operation.requestId}`,
        'retry-after': '10',
      },
    };
  }

  /**
   * The certificate's operation, if any. A `request_id` in the query filters: another operation's
   * id answers 404 (Learn, "Monitor and manage certificate creation", create-certificate-scenarios.md).
   */
  private operationOf(request: KvRequest, name: string): CertificateEntry | undefined {
    const entry = this.live(name);
    const requestId = request.query.get('request_id');
    if (!entry?.operation || (requestId !== null && requestId !== entry.operation.requestId)) return undefined;
    return entry;
  }

  getOperation(request: KvRequest, name: string): KvReply {
    const entry = this.operationOf(request, name);
    if (!entry) return pendingNotFound(name);
    // Recordings: GET pending carries Retry-After: 10 while the operation is in progress, none after.
    return { status: 200, body: this.operationBody(entry), ...(entry.operation!.status === 'inProgress' ? { headers: { 'retry-after': '10' } } : {}) };
  }

  /**
   * PATCH pending {cancellation_requested: true}: the cancellation is only requested. The status
   * stays inProgress (cancel recording, the spec's UpdateCertificateOperation-example.json, Learn's
   * create-certificate-scenarios); an issuer-Unknown operation has no issuer to cancel it, so it
   * stays inProgress, blocking creates and imports, until merged or deleted. An operation that is
   * not in progress answers 400 (Learn, same page; the error's code and wording are not published).
   */
  updateOperation(request: KvRequest, name: string): KvReply {
    const entry = this.operationOf(request, name);
    if (!entry) return pendingNotFound(name);
    const operation = entry.operation!;
    if (operation.status !== 'inProgress') return kvError(400, 'BadParameter', `The certificate operation of ${entry.name} is ${operation.status}; a cancellation can only be requested while it is inProgress.`);
    if (request.body.cancellation_requested === true) operation.cancellationRequested = true;
    return { status: 200, body: this.operationBody(entry) };
  }

  /**
   * DELETE pending: answers the operation as it was and deletes it; the version the create added
   * stays, disabled and without a certificate (cancel recording: after the DELETE, GET of the
   * certificate still answers that version, without `pending`, and GET pending answers 404).
   */
  deleteOperation(request: KvRequest, name: string): KvReply {
    const entry = this.operationOf(request, name);
    if (!entry) return pendingNotFound(name);
    const body = this.operationBody(entry);
    entry.operation = undefined;
    return { status: 200, body };
  }

  /**
   * Issuer "Self": the version the create added becomes the certificate (same version id), signed
   * by its own key, valid for the policy's validity_months (Learn, "About Azure Key Vault
   * certificates", self-signed; recordings: the created version is the one that holds the cer).
   */
  private completeSelfSigned(entry: CertificateEntry, version: CertificateVersion, operation: PendingOperation, subject: string, dnsNames: string[]): void {
    // Deleted or replaced meanwhile (DELETE pending, a delete of the certificate): nothing to complete.
    if (entry.operation !== operation || operation.status !== 'inProgress' || this.live(entry.name) !== entry) return;
    version.chainDer = [createSelfSignedCertificate(version.keyPem, subject, dnsNames, entry.policy.x509_props?.validity_months ?? 12)];
    version.enabled = entry.policy.attributes?.enabled ?? true;
    version.validity = undefined;
    version.updated = unixNow();
    operation.status = 'completed';
  }

  merge(request: KvRequest, name: string): KvReply {
    const entry = this.live(name);
    const operation = entry?.operation;
    if (!entry || !operation || operation.status !== 'inProgress') return pendingNotFound(name);
    // Merge completes issuer-Unknown requests only (Learn, "Certificate creation methods"); what the
    // service answers for another issuer is not published: refused, the stricter reading.
    if ((entry.policy.issuer?.name ?? 'Unknown').toLowerCase() !== 'unknown') return kvError(400, 'BadParameter', `The pending request of ${entry.name} is not for issuer Unknown; only those are merged.`);
    const body = request.body as { x5c?: unknown; attributes?: WireAttributes; tags?: Record<string, string> };
    if (!Array.isArray(body.x5c) || body.x5c.length === 0 || !body.x5c.every((item) => typeof item === 'string')) {
      return kvError(400, 'BadParameter', 'x5c must be a non-empty array of base64 DER certificates.');
    }
    const chainDer = (body.x5c as string[]).map((b64) => Buffer.from(b64, 'base64'));
    const pending = entry.versions.find((v) => v.version === operation.version)!;
    try {
      chainDer.forEach((der) => new X509Certificate(der));
    } catch {
      return kvError(400, 'BadParameter', 'Property x5c has an invalid certificate.');
    }
    // The service checks the leaf against the pending key; wording of its error kept.
    if (!publicKeyMatches(pending.keyPem, chainDer[0])) {
      return kvError(400, 'BadParameter', "Public key from x509 certificate and key of this instance doesn't match");
    }
    // Merge recording: the merged certificate is a NEW version (the pending GET showed version
    // 5dd466e4..., the merge answered 9f07e39e... with kid/sid of that new version, created at the
    // merge). The pending version stays listed as it was (disabled, no certificate): whether the
    // service keeps it in the version list is not recorded, and keeping it is the stricter reading.
    // The create's tags carry over: not recorded (the recording sets none), and the kinder reading,
    // kept because Key Vault Acmebot merges without tags and lists its certificates by the tags set
    // at create, which works on the service (README lists it as a known difference).
    const now = unixNow();
    const version: CertificateVersion = {
      version: newVersionId(),
      keyPem: pending.keyPem,
      chainDer,
      enabled: body.attributes?.enabled ?? true,
      created: now,
      updated: now,
      tags: { ...pending.tags, ...(body.tags ?? {}) },
    };
    entry.versions.push(version);
    operation.status = 'completed';
    return { status: 201, body: this.bundle(entry, version), headers: { location: `${this.vaultUrl()}/certificates/${entry.name}?api-version=${request.query.get('api-version')}` } };
  }

  // --- import ---------------------------------------------------------------------------------

  import(request: KvRequest, name: string): KvReply {
    if (!NAME.test(name)) return kvError(400, 'BadParameter', 'Certificate name must match ^[0-9a-zA-Z-]{1,127}$.');
    const found = this.lookup(name);
    const conflict = found && nameConflict('Certificate', name, found.phase);
    if (conflict) return conflict;
    const existing = found?.entry;
    if (existing?.operation?.status === 'inProgress') return pendingConflict();
    const body = request.body as { value?: unknown; pwd?: unknown; policy?: WirePolicy; attributes?: WireAttributes; tags?: Record<string, string>; preserveCertOrder?: boolean };
    if (typeof body.value !== 'string' || !body.value) return kvError(400, 'BadParameter', 'value must be the base64 PKCS#12 or the PEM of the certificate and its key.');
    let parsed: { keyPem: string; chainDer: Buffer[] };
    try {
      parsed = parseImport(body.value, typeof body.pwd === 'string' ? body.pwd : undefined, body.policy?.secret_props?.contentType);
    } catch (error) {
      // The reason names the structure only, never key material.
      return kvError(400, 'BadParameter', `The specified certificate content could not be imported: ${(error as Error).message}.`);
    }
    const entry: CertificateEntry = existing ?? { name, versions: [], policy: body.policy ?? derivedPolicy(parsed), policyUpdated: unixNow() };
    if (body.policy) {
      entry.policy = { ...derivedPolicy(parsed), ...body.policy };
      entry.policyUpdated = unixNow();
    }
    if (body.preserveCertOrder !== undefined) entry.preserveCertOrder = body.preserveCertOrder;
    const version: CertificateVersion = { version: newVersionId(), ...parsed, enabled: body.attributes?.enabled ?? true, created: unixNow(), updated: unixNow(), tags: body.tags ?? {} };
    entry.versions.push(version);
    // An operation that is not in progress is overwritten by an import: GET pending answers 404
    // (Learn, create-certificate-scenarios.md, "pending request status is deleted or overwritten").
    entry.operation = undefined;
    this.entries.set(name.toLowerCase(), entry);
    return { status: 200, body: this.bundle(entry, version) };
  }

  // --- read / update / list ---------------------------------------------------------------------

  /** GET /certificates/{n}[/{v}]: no version = the newest version, which may be the pending one. */
  get(name: string, versionId?: string): KvReply {
    const entry = this.live(name);
    if (!entry) return notFound(name);
    const version = versionId ? entry.versions.find((v) => v.version === versionId) : entry.versions[entry.versions.length - 1];
    if (!version) return notFound(`${name}/${versionId ?? ''}`);
    return { status: 200, body: this.bundle(entry, version) };
  }

  update(request: KvRequest, name: string, versionId?: string): KvReply {
    const entry = this.live(name);
    if (!entry) return notFound(name);
    const version = versionId ? entry.versions.find((v) => v.version === versionId) : entry.versions[entry.versions.length - 1];
    if (!version) return notFound(`${name}/${versionId ?? ''}`);
    const body = request.body as { tags?: Record<string, string>; attributes?: WireAttributes; policy?: WirePolicy };
    if (body.tags) version.tags = { ...body.tags };
    if (typeof body.attributes?.enabled === 'boolean') version.enabled = body.attributes.enabled;
    if (body.policy) {
      entry.policy = { ...entry.policy, ...body.policy };
      entry.policyUpdated = unixNow();
    }
    version.updated = unixNow();
    return { status: 200, body: this.bundle(entry, version) };
  }

  getPolicy(name: string): KvReply {
    const entry = this.live(name);
    return entry ? { status: 200, body: this.policyBody(entry) } : notFound(name);
  }

  updatePolicy(request: KvRequest, name: string): KvReply {
    const entry = this.live(name);
    if (!entry) return notFound(name);
    entry.policy = { ...entry.policy, ...(request.body as WirePolicy) };
    entry.policyUpdated = unixNow();
    return { status: 200, body: this.policyBody(entry) };
  }

  /**
   * GET /certificates: only certificates that have an issued version ("az keyvault certificate
   * list only returns certificates which have been fully created", azure-cli#1283), all of them
   * with includePending=true. Each item describes the newest version, as a versionless GET does:
   * while a renewal is pending that is the pending version (disabled, no x5t).
   */
  list(request: KvRequest): KvReply {
    const includePending = request.query.get('includePending') === 'true';
    const items = [...this.entries.values()]
      .filter((entry) => this.live(entry.name) && (includePending || latestCompleted(entry)))
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((entry) => this.item(latest(entry), `${this.vaultUrl()}/certificates/${entry.name}`));
    return page(request, items);
  }

  /** GET /certificates/{n}/versions: every version, pending ones included (disabled, no x5t). */
  listVersions(request: KvRequest, name: string): KvReply {
    const entry = this.live(name);
    if (!entry) return notFound(name);
    return page(request, entry.versions.map((version) => this.item(version, this.versionId(entry, version))));
  }

  // --- soft delete ------------------------------------------------------------------------------

  /** DELETE: answers the deleted bundle at once; the deleted certificate shows only once the deletion completes. */
  delete(name: string): KvReply {
    const entry = this.live(name);
    if (!entry) return notFound(name);
    startDelete(entry, this.delays);
    entry.operation = undefined;
    return { status: 200, body: this.deletedBody(entry) };
  }

  getDeleted(name: string): KvReply {
    const found = this.lookup(name);
    return found?.phase === 'deleted' ? { status: 200, body: this.deletedBody(found.entry) } : deletedNotFound(name);
  }

  listDeleted(request: KvRequest): KvReply {
    const items = this.inPhase('deleted').map((entry) => ({ ...this.item(latest(entry), `${this.vaultUrl()}/certificates/${entry.name}`), ...this.deletedFields(entry) }));
    return page(request, items);
  }

  /** Purge: 204 at once; the name stays taken until the purge completes. */
  purge(name: string): KvReply {
    const found = this.lookup(name);
    if (found?.phase === 'deleting') return beingDeleted('Certificate');
    if (found?.phase === 'recovering') return beingRecovered('Certificate');
    if (found?.phase !== 'deleted') return deletedNotFound(name);
    startPurge(found.entry, this.delays);
    return { status: 204 };
  }

  /** Recover: answers the bundle at once; the certificate is live (readable) once the recovery completes. */
  recover(name: string): KvReply {
    const found = this.lookup(name);
    if (found?.phase === 'deleting') return recoverConflict('Certificate', this.versionId(found.entry, latest(found.entry)));
    if (found?.phase === 'recovering') return beingRecovered('Certificate');
    if (found?.phase !== 'deleted') return deletedNotFound(name);
    startRecover(found.entry, this.delays);
    return { status: 200, body: this.bundle(found.entry, latest(found.entry)) };
  }

  // --- wire shapes ----------------------------------------------------------------------------

  versionId(entry: CertificateEntry, version: CertificateVersion): string {
    return `${this.vaultUrl()}/certificates/${entry.name}/${version.version}`;
  }

  attributes(version: CertificateVersion): Record<string, unknown> {
    const leaf = version.chainDer[0] ? new X509Certificate(version.chainDer[0]) : undefined;
    return {
      enabled: version.enabled,
      ...(leaf ? { nbf: toUnix(leaf.validFrom), exp: toUnix(leaf.validTo) } : version.validity ?? {}),
      created: version.created,
      updated: version.updated,
      recoveryLevel: 'Recoverable+Purgeable',
      recoverableDays: RECOVERABLE_DAYS,
    };
  }

  /**
   * CertificateBundle (REST: Certificates - Get Certificate response). A pending version has no
   * kid, sid, x5t or cer (merge recording); `pending.id` is there while the certificate has an
   * operation, completed or not, and gone once the operation is deleted (merge recording;
   * certificates_client__create_read_update_and_delete/recording_can_read_cancel_and_delete_a_certificates_operation.json,
   * "cancel recording" below). `tags` is left out when there are none (both recordings).
   */
  bundle(entry: CertificateEntry, version: CertificateVersion): Record<string, unknown> {
    const base = this.vaultUrl();
    const leaf = version.chainDer[0];
    return {
      id: this.versionId(entry, version),
      ...(leaf
        ? { kid: `${base}/keys/${entry.name}/${version.version}`, sid: `${base}/secrets/${entry.name}/${version.version}`, x5t: thumbprint(leaf), cer: leaf.toString('base64') }
        : {}),
      attributes: this.attributes(version),
      policy: this.policyBody(entry),
      ...tagsOf(version),
      ...(entry.operation ? { pending: { id: `${base}/certificates/${entry.name}/pending` } } : {}),
      ...(entry.preserveCertOrder !== undefined ? { preserveCertOrder: entry.preserveCertOrder } : {}),
    };
  }

  private item(version: CertificateVersion, id: string): Record<string, unknown> {
    const leaf = version.chainDer[0];
    return { id, ...(leaf ? { x5t: thumbprint(leaf) } : {}), attributes: this.attributes(version), ...tagsOf(version) };
  }

  private policyBody(entry: CertificateEntry): Record<string, unknown> {
    return {
      ...entry.policy,
      id: `${this.vaultUrl()}/certificates/${entry.name}/policy`,
      attributes: { enabled: entry.policy.attributes?.enabled ?? true, created: entry.policyUpdated, updated: entry.policyUpdated },
    };
  }

  /** CertificateOperation (REST: Certificates - Get Certificate Operation response). */
  private operationBody(entry: CertificateEntry): Record<string, unknown> {
    const operation = entry.operation!;
    // status_details of an issuer-Unknown operation in progress: merge recording. A completed
    // operation carries none (certificates_client__lro__delete/recording_can_wait_until_a_certificate_is_deleted.json).
    // A "Self" create's operation: the service completes it itself (certificates_client__lro__create recordings).
    const selfSigned = (entry.policy.issuer?.name ?? '').toLowerCase() === 'self';
    const details: Partial<Record<PendingOperation['status'], string>> = {
      inProgress: selfSigned
        ? 'Pending certificate created. Certificate request is in progress. This may take some time based on the issuer provider. Please check again later.'
        : 'Pending certificate created. Please Perform Merge to complete the request.',
    };
    return {
      id: `${this.vaultUrl()}/certificates/${entry.name}/pending`,
      issuer: { name: entry.policy.issuer?.name ?? 'Unknown' },
      csr: operation.csrDer.toString('base64'),
      cancellation_requested: operation.cancellationRequested,
      status: operation.status,
      ...(details[operation.status] ? { status_details: details[operation.status] } : {}),
      request_id: operation.requestId,
      ...(operation.status === 'completed' ? { target: `${this.vaultUrl()}/certificates/${entry.name}` } : {}),
    };
  }

  private deletedFields(entry: CertificateEntry): Record<string, unknown> {
    return deletionFields(entry, `${this.vaultUrl()}/deletedcertificates/${entry.name}`);
  }

  /** DeletedCertificateBundle: the latest bundle plus recoveryId, deletedDate, scheduledPurgeDate. */
  private deletedBody(entry: CertificateEntry): Record<string, unknown> {
    return { ...this.bundle(entry, latest(entry)), ...this.deletedFields(entry) };
  }
}

const toUnix = (date: string): number => Math.floor(Date.parse(date) / 1000);

const tagsOf = (version: CertificateVersion): { tags?: Record<string, string> } => (Object.keys(version.tags).length ? { tags: version.tags } : {});

/** The newest version, issued or pending: what a versionless GET answers. */
function latest(entry: CertificateEntry): CertificateVersion {
  return entry.versions[entry.versions.length - 1];
}

/** The newest version that holds a certificate (merged or imported). */
export function latestCompleted(entry: CertificateEntry): CertificateVersion | undefined {
  return [...entry.versions].reverse().find((v) => v.chainDer.length > 0);
}

/**
 * nbf/exp of a pending version. In every recorded pending GET nbf is `created` minus 600 s and exp
 * is `created` plus the policy's validity_months in calendar months (12: 365 days from 2022-07-13
 * and 2022-11-14, 366 days from 2019-10-15 over a 29 February; merge and cancel recordings,
 * browsers/certificates_client__long_running_operations__create/recording_can_cancel_a_certificates_creation.json).
 */
function pendingValidity(created: number, validityMonths: number): { nbf: number; exp: number } {
  const expiry = new Date(created * 1000);
  expiry.setUTCMonth(expiry.getUTCMonth() + validityMonths);
  return { nbf: created - 600, exp: Math.floor(expiry.getTime() / 1000) };
}

/**
 * The policy as the service stores it on create: the recorded GET answers show defaults the
 * request left out (key RSA 2048, exportable, no key reuse; PKCS#12 secret; 12 months validity;
 * merge recording).
 */
function withServiceDefaults(policy: WirePolicy): WirePolicy {
  const kty = policy.key_props?.kty ?? 'RSA';
  return {
    ...policy,
    key_props: { exportable: true, kty, ...(kty.startsWith('RSA') ? { key_size: 2048 } : { crv: 'P-256' }), reuse_key: false, ...policy.key_props },
    secret_props: { contentType: 'application/x-pkcs12', ...policy.secret_props },
    x509_props: { validity_months: 12, ...policy.x509_props },
  };
}

/** The policy Key Vault records for an import without one: key and subject from the certificate. */
function derivedPolicy(parsed: { keyPem: string; chainDer: Buffer[] }): WirePolicy {
  const key = createPrivateKey(parsed.keyPem);
  const leaf = new X509Certificate(parsed.chainDer[0]);
  const dnsNames = (leaf.subjectAltName ?? '')
    .split(', ')
    .filter((san) => san.startsWith('DNS:'))
    .map((san) => san.slice(4));
  const curves: Record<string, string> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };
  return {
    key_props:
      key.asymmetricKeyType === 'ec'
        ? { kty: 'EC', crv: curves[key.asymmetricKeyDetails?.namedCurve ?? ''], exportable: true, reuse_key: false }
        : { kty: 'RSA', key_size: key.asymmetricKeyDetails?.modulusLength, exportable: true, reuse_key: false },
    secret_props: { contentType: 'application/x-pkcs12' },
    x509_props: { subject: leaf.subject.split('\n').join(', '), ...(dnsNames.length ? { sans: { dns_names: dnsNames } } : {}) },
    issuer: { name: 'Unknown' },
  };
}

/**
 * The imported value: base64 PKCS#12 (optionally with a password), or PEM (key + certificates)
 * when the policy says application/x-pem-file or the value is PEM text.
 */
function parseImport(value: string, password: string | undefined, contentType: string | undefined): { keyPem: string; chainDer: Buffer[] } {
  const decoded = Buffer.from(value, 'base64').toString('latin1');
  const pemText = value.includes('-----BEGIN') ? value : decoded.includes('-----BEGIN') ? decoded : undefined;
  if (pemText || contentType === 'application/x-pem-file') {
    if (!pemText) throw new Error('the value is not PEM');
    const keyBlock = /-----BEGIN ([A-Z ]*)PRIVATE KEY-----[\s\S]+?-----END \1PRIVATE KEY-----/.exec(pemText);
    if (!keyBlock) throw new Error('the PEM holds no private key');
    const keyPem = createPrivateKey({ key: keyBlock[0], ...(password ? { passphrase: password } : {}) }).export({ type: 'pkcs8', format: 'pem' }).toString();
    const certs = (pemText.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((pem) => new X509Certificate(pem).raw);
    const leafIndex = certs.findIndex((der) => publicKeyMatches(keyPem, der));
    if (leafIndex < 0) throw new Error('no certificate in the PEM matches its private key');
    return { keyPem, chainDer: [certs[leafIndex], ...certs.filter((_, i) => i !== leafIndex)] };
  }
  return fromPkcs12(Buffer.from(value, 'base64'), password);
}
