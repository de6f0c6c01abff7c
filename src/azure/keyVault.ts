import { X509Certificate, createHash } from 'node:crypto';
import {
  CertificateClient,
  CertificatePolicy,
  KeyVaultCertificateWithPolicy,
} from '@azure/keyvault-certificates';
import { SecretClient } from '@azure/keyvault-secrets';
import { CertbotConfig, CertificateKeyType } from '../domain/config';
import { CertbotError } from '../domain/errors';
import { hostnameSlug, MAX_COMMON_NAME } from '../domain/hostname';
import { renewalCertificateIdOf } from '../crypto/renewalCertificateId';
import { appCredential } from './credential';
import { fromAzureError, isNameBusy } from './restErrors';

/**
 * Key Vault adapter: the certificate's key and CSR are made inside the vault (issuer "Unknown"),
 * the CA's chain is merged into it, and the gateway reads the result through the certificate's
 * secret. REST: https://learn.microsoft.com/rest/api/keyvault/certificates
 */
const kvCodes = { forbidden: 'KeyVaultPermissionDenied', other: 'KeyVaultRequestFailed' } as const;


/** What a removal did: a purge-protected vault keeps the deleted certificate until its retention ends. */
export interface Removal {
  purged: boolean;
  note?: string;
}

const PURGE_PROTECTED =
  'The vault has purge protection, so the certificate stays soft-deleted until its retention period ends (Key Vault purges it then). Nothing to do: issuing or importing this hostname again recovers it.';

/** How long an import waits for a name Key Vault is still deleting (its purge takes seconds). */
const NAME_BUSY_POLL_MS = 1000;
const NAME_BUSY_BUDGET_MS = 20_000;

export interface IssuedCertificate {
  name: string;
  version: string;
  /** This version's secret id, the one the gateway is bound to (see versionedSecretId). */
  secretId: string;
  serialNumber: string;
  notAfter: string;
}

/** What storing an imported certificate changed in Key Vault. */
export type ImportEffect = 'created' | 'recovered' | 'newVersion';

/**
 * Where a managed certificate came from: issued by the app's CA, imported by the user, or the
 * opt-in self-signed stand-in (SelfSignedFallback) bound while issuance for a new hostname fails.
 */
export type CertificateSource = 'acme' | 'import' | 'self-signed';

const sourceOf = (tags: Record<string, string> | undefined): CertificateSource =>
  tags?.source === 'import' ? 'import' : tags?.source === 'self-signed' ? 'self-signed' : 'acme';

export interface ManagedCertificate {
  hostname: string;
  name: string;
  source: CertificateSource;
  version: string;
  notBefore: Date;
  notAfter: Date;
  /** The CA that issued it (ACME certificates issued by this app), from the certificate's tags. */
  acmeEndpoint?: string;
  /** Its ACME Renewal Information id (RFC 9773), when it has an authority key identifier. */
  renewalCertificateId?: string;
  /** How it was proven (ACME certificates; absent = http-01, as before DNS-01 existed): its renewals prove it the same way. */
  challengeType?: 'dns-01';
  /** The ACME profile its order named (draft-aaron-acme-profiles); absent: none (the CA's default). Its renewals name the same. */
  profile?: string;
  /** Every DNS name the certificate holds (its subjectAltName), `hostname` first. */
  names: string[];
  /** This version's serial number (hex, as the CA and TLS clients show it). */
  serialNumber: string;
  /** Set once this app revoked this version (its tags, see recordRevocation). */
  revoked?: RevocationRecord;
}

/** A revocation as recorded on the version it revoked: reason and time, in the version's tags. */
export interface RevocationRecord {
  reason: string;
  /** ISO 8601. */
  at: string;
}

export interface CertificateTags {
  hostname: string;
  source: CertificateSource;
  acmeEndpoint?: string;
  /** Set for DNS-01 only (absent = http-01). */
  challengeType?: 'dns-01';
  /** The ACME profile the order named; absent when none was sent. */
  profile?: string;
  /** The run that made a pending create (an id the orchestration draws deterministically). */
  run?: string;
}

/** A certificate operation that has not ended in a merged version. */
export interface PendingOperationInfo {
  /** Key Vault's status of the operation: inProgress, failed or cancelled; 'none' when it is gone but its version is not issued. */
  status: string;
  /** When the pending version was created. */
  since?: Date;
  /** The run that created it (tag), when this app did. */
  run?: string;
}

/**
 * Everything Key Vault holds for one managed hostname: its newest issued version, if any, and an
 * operation that never completed, if one is there (a run in progress, or one that crashed).
 */
export interface CertificateRecord {
  hostname: string;
  name: string;
  source: CertificateSource;
  issued?: ManagedCertificate;
  pending?: PendingOperationInfo;
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/** Key Vault object names allow letters, digits and dashes only. */
export function certificateNameFor(hostname: string): string {
  return hostnameSlug(hostname, sha256);
}

/**
 * The secret id of one version (a certificate's version is its secret's version). The gateway is
 * bound to it, not to the versionless id: a renewal then changes `keyVaultSecretId`, which makes
 * the gateway fetch the new certificate at once under both documented behaviours (any update vs.
 * only a changed secret id; notes: azure-reality.md), instead of up to 4 hours later.
 */
export function versionedSecretId(vaultUrl: URL, name: string, version: string): string {
  return new URL(`secrets/${name}/${version}`, vaultUrl).href;
}

function keyProperties(keyType: CertificateKeyType): Pick<CertificatePolicy, 'keyType' | 'keySize' | 'keyCurveName'> {
  switch (keyType) {
    case 'EC-P256':
      return { keyType: 'EC', keyCurveName: 'P-256' };
    case 'EC-P384':
      return { keyType: 'EC', keyCurveName: 'P-384' };
    default:
      return { keyType: 'RSA', keySize: Number(keyType.slice(4)) };
  }
}

export class KeyVaultAdapter {
  readonly certificates: CertificateClient;
  readonly secrets: SecretClient;

  constructor(private readonly config: CertbotConfig) {
    const options = { disableChallengeResourceVerification: !config.keyVaultChallengeResourceVerification };
    this.certificates = new CertificateClient(config.keyVaultBaseUrl.href, appCredential(), options);
    this.secrets = new SecretClient(config.keyVaultBaseUrl.href, appCredential(), options);
  }

  /**
   * The CSR of a pending certificate operation for the hostname, made for this run (`tags.run`).
   * A create this run already made (an earlier attempt of this step) is reused; one left by an
   * earlier run (it crashed or was stopped before its merge) is deleted and made again, so each
   * run's key and CSR come from its own create whatever it meets. Key Vault refuses a create
   * while one is pending (409), which is how either case shows.
   */
  /** `names`: every name of the certificate, `hostname` first (the subject's); default the hostname alone. */
  async createCsr(hostname: string, tags: CertificateTags, names: string[] = [hostname]): Promise<{ name: string; csrPem: string }> {
    const name = certificateNameFor(hostname);
    const policy: CertificatePolicy = {
      issuerName: 'Unknown',
      // RFC 5280 caps a commonName at 64 characters; longer names are named by the SAN alone
      // (CAs take the SAN; Let's Encrypt leaves the CN out of such certificates).
      ...(hostname.length <= MAX_COMMON_NAME ? { subject: `CN=${hostname}` } : {}),
      subjectAlternativeNames: { dnsNames: [hostname, ...names.filter((n) => n !== hostname)] },
      contentType: 'application/x-pkcs12',
      exportable: true,
      reuseKey: false,
      ...keyProperties(this.config.certificateKeyType),
    };
    const create = (): Promise<unknown> => this.certificates.beginCreateCertificate(name, policy, { tags: { ...tags } });
    try {
      await this.refuseImported(name, hostname);
      try {
        await create();
      } catch (error) {
        if ((error as { statusCode?: number }).statusCode !== 409 || isNameBusy(error)) throw error;
        // 409: a soft-deleted certificate of that name (recover it: its old versions come back,
        // then create), or a create already pending (ours: reuse it; an earlier run's: replace it).
        if (await this.recoverIfDeleted(name)) await create();
        else if (!(await this.pendingIsFromRun(name, tags.run))) {
          await this.deleteLeftoverOperation(name);
          await create();
        }
      }
      const poller = await this.certificates.getCertificateOperation(name);
      const csr = poller.getOperationState().certificateOperation?.csr;
      if (!csr) throw new CertbotError('KeyVaultRequestFailed', `Key Vault returned no CSR for certificate ${name}.`);
      return { name, csrPem: toPem('CERTIFICATE REQUEST', Buffer.from(csr)) };
    } catch (error) {
      throw fromAzureError('Key Vault', error, kvCodes);
    }
  }

  /**
   * SelfSignedFallback: a self-signed certificate (issuer "Self", made and signed inside the vault)
   * for a NEW hostname whose issuance failed, so that its HTTPS listener can exist meanwhile. A
   * hostname that has an ACME or imported certificate, even an expired one, is never given one:
   * `kept` says what it has. Idempotent: a self-signed version an earlier attempt made is reused,
   * and a create of one still in progress is waited for.
   */
  /** `challengeType`: how the real certificate is to be proven (the renewal timer issues it so). */
  async createSelfSignedFallback(hostname: string, names: string[] = [hostname], challengeType?: 'dns-01', profile?: string): Promise<{ created: IssuedCertificate } | { kept: CertificateSource }> {
    const name = certificateNameFor(hostname);
    const policy: CertificatePolicy = {
      issuerName: 'Self',
      ...(hostname.length <= MAX_COMMON_NAME ? { subject: `CN=${hostname}` } : {}),
      subjectAlternativeNames: { dnsNames: [hostname, ...names.filter((n) => n !== hostname)] },
      contentType: 'application/x-pkcs12',
      exportable: true,
      reuseKey: false,
      // A stand-in until the next successful issuance, which the renewal timer retries at each tick.
      validityInMonths: 12,
      ...keyProperties(this.config.certificateKeyType),
    };
    try {
      const existing = await this.latestIssued(name).catch((error: { statusCode?: number }) => {
        if (error.statusCode === 404) return undefined;
        throw error;
      });
      if (existing) {
        const source = sourceOf(existing.properties.tags);
        if (source !== 'self-signed') return { kept: source };
        return { created: this.describe(existing) };
      }
      const create = async (): Promise<void> => {
        // The CA it is to come from, with its profile: a renewal keeps the profile only at that CA (renewalProfile).
        const tags: CertificateTags = { hostname, source: 'self-signed', acmeEndpoint: this.config.acmeEndpoint.href, ...(challengeType ? { challengeType } : {}), ...(profile ? { profile } : {}) };
        await (await this.certificates.beginCreateCertificate(name, policy, { tags: { ...tags } })).pollUntilDone();
      };
      try {
        await create();
      } catch (error) {
        if ((error as { statusCode?: number }).statusCode !== 409 || isNameBusy(error)) throw error;
        // 409: soft-deleted (recover, then make it), or a create pending: ours (a retried attempt) is
        // waited for; an ACME create left by a run is replaced, as a new run would replace it.
        if (await this.recoverIfDeleted(name)) return this.createSelfSignedFallback(hostname, names, challengeType, profile);
        const operation = await this.certificates.getCertificateOperation(name);
        if (operation.getOperationState().certificateOperation?.issuerName?.toLowerCase() === 'self') await operation.pollUntilDone();
        else {
          await this.deleteLeftoverOperation(name);
          await create();
        }
      }
      const issued = await this.latestIssued(name);
      if (!issued) throw new CertbotError('KeyVaultRequestFailed', `Key Vault finished the self-signed certificate ${name} without content.`);
      return { created: this.describe(issued) };
    } catch (error) {
      throw fromAzureError('Key Vault', error, kvCodes);
    }
  }

  /** Whether the pending version (the versionless GET while a create is pending) was made by `run`. */
  private async pendingIsFromRun(name: string, run: string | undefined): Promise<boolean> {
    const latest = await this.certificates.getCertificate(name);
    return !latest.cer && run !== undefined && latest.properties.tags?.run === run;
  }

  /**
   * A run that fails before its merge deletes the create it made, so that nothing is left pending
   * (Key Vault refuses imports and creates while one is). Another run's operation is left alone.
   */
  async discardPending(name: string, run: string): Promise<void> {
    try {
      if (!(await this.pendingIsFromRun(name, run))) return;
      await this.deleteLeftoverOperation(name);
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 404) return;
      throw fromAzureError('Key Vault', error, kvCodes);
    }
  }

  /**
   * Stores a certificate the user brought: a password-less PKCS#12 of the key and chain (the form
   * the gateway reads), tagged source=import so ACME never replaces it. A soft-deleted certificate
   * of the same name (removed without purge) is recovered first, as Key Vault refuses the name
   * otherwise. Says what it changed (`existing`: the caller's `hasCertificate` answer), so that a
   * request failing later can undo it.
   */
  async importPkcs12(hostname: string, pfx: Buffer, existing: boolean): Promise<IssuedCertificate & { effect: ImportEffect }> {
    const name = certificateNameFor(hostname);
    const importOnce = (): Promise<KeyVaultCertificateWithPolicy> =>
      this.certificates.importCertificate(name, new Uint8Array(pfx), {
        tags: { hostname, source: 'import' },
        policy: { contentType: 'application/x-pkcs12', exportable: true, issuerName: 'Unknown' } as CertificatePolicy,
      });
    // Imports are answered synchronously (no orchestration backoff): a name Key Vault is still
    // deleting or purging (a few seconds, 409 ObjectIsBeingDeleted) is waited out here.
    const store = async (): Promise<KeyVaultCertificateWithPolicy> => {
      for (let waited = 0; ; waited += NAME_BUSY_POLL_MS) {
        try {
          return await importOnce();
        } catch (error) {
          if (!isNameBusy(error) || waited >= NAME_BUSY_BUDGET_MS) throw error;
          await new Promise((resolve) => setTimeout(resolve, NAME_BUSY_POLL_MS));
        }
      }
    };
    try {
      let effect: ImportEffect = existing ? 'newVersion' : 'created';
      let imported: KeyVaultCertificateWithPolicy;
      try {
        imported = await store();
      } catch (error) {
        if ((error as { statusCode?: number }).statusCode !== 409 || isNameBusy(error)) throw error;
        // 409: a soft-deleted certificate of that name (recover it), or a create left pending by
        // an ACME run that failed before its merge. The hostname's claim means no run owns that
        // operation now, and the user's own certificate supersedes it: delete it, then import.
        if (await this.recoverIfDeleted(name)) effect = 'recovered';
        else if (!(await this.deleteLeftoverOperation(name))) throw error;
        imported = await store();
      }
      return { ...this.describe(imported), effect };
    } catch (error) {
      throw fromAzureError('Key Vault', error, kvCodes);
    }
  }

  /** Deletes a certificate operation still in progress (true), or says there is none (false). */
  private async deleteLeftoverOperation(name: string): Promise<boolean> {
    try {
      const poller = await this.certificates.getCertificateOperation(name);
      if (poller.getOperationState().certificateOperation?.status !== 'inProgress') return false;
      await this.certificates.deleteCertificateOperation(name);
      return true;
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 404) return false;
      throw error;
    }
  }

  /** Whether a (not deleted) certificate of this hostname exists. */
  async hasCertificate(hostname: string): Promise<boolean> {
    try {
      await this.certificates.getCertificate(certificateNameFor(hostname));
      return true;
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 404) return false;
      throw fromAzureError('Key Vault', error, kvCodes);
    }
  }

  /**
   * Undoes an import of a request that failed later: a created certificate is deleted and purged
   * (the name was free before), a recovered one deleted again. A new version over an existing
   * certificate cannot be taken back (Key Vault deletes whole certificates only): false.
   */
  async undoImport(name: string, effect: ImportEffect): Promise<boolean> {
    if (effect === 'newVersion') return false;
    await this.remove(name, effect === 'created');
    return true;
  }

  /** Every certificate this app manages (tagged with a hostname) that has an issued version. */
  async listManaged(): Promise<ManagedCertificate[]> {
    return (await this.listRecords()).flatMap((record) => (record.issued ? [record.issued] : []));
  }

  /**
   * Every certificate this app manages, issued or not. A versionless GET answers the newest
   * version, and while a create is pending that is the pending one (disabled, no `cer`, dates
   * taken from the policy: a year ahead), so the issued version is looked up among the versions
   * and the pending operation reported beside it.
   */
  async listRecords(): Promise<CertificateRecord[]> {
    const records: CertificateRecord[] = [];
    try {
      // includePending: without it Key Vault leaves out certificates that were never issued.
      for await (const properties of this.certificates.listPropertiesOfCertificates({ includePending: true })) {
        // An issued newest version without our tags is not ours; an unissued one may be a version
        // made beside ours (the portal's "New version"), so its issued version's tags decide.
        if (!properties.name || (!properties.tags?.hostname && properties.x509Thumbprint)) continue;
        const record = await this.record(properties.name);
        if (record) records.push(record);
      }
    } catch (error) {
      throw fromAzureError('Key Vault', error, kvCodes);
    }
    return records.sort((a, b) => a.hostname.localeCompare(b.hostname));
  }

  /** The managed certificate of one hostname (one read, not a listing), or undefined. */
  async findManaged(hostname: string): Promise<ManagedCertificate | undefined> {
    return (await this.findRecord(hostname))?.issued;
  }

  /** What Key Vault holds for one hostname, issued or not (a never-issued one can be removed too). */
  async findRecord(hostname: string): Promise<CertificateRecord | undefined> {
    try {
      const record = await this.record(certificateNameFor(hostname));
      return record?.hostname === hostname ? record : undefined;
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 404) return undefined;
      throw fromAzureError('Key Vault', error, kvCodes);
    }
  }

  private async record(name: string): Promise<CertificateRecord | undefined> {
    const latest = await this.certificates.getCertificate(name);
    const baseOf = (tags: Record<string, string> | undefined) =>
      tags?.hostname ? { hostname: tags.hostname, name, source: sourceOf(tags) } : undefined;
    if (isIssued(latest)) {
      const base = baseOf(latest.properties.tags);
      return base && { ...base, issued: managedFrom(latest) };
    }
    const issuedVersion = await this.newestIssuedVersion(name);
    const base = baseOf(latest.properties.tags) ?? baseOf(issuedVersion?.properties.tags);
    if (!base) return undefined;
    const status = await this.operationStatus(name);
    // Beside an issued version only a create still in progress matters: a version whose operation
    // was deleted (a failed run cleans up so; Key Vault keeps the disabled version) is history.
    if (issuedVersion && status !== 'inProgress') return { ...base, issued: managedFrom(issuedVersion) };
    const pending: PendingOperationInfo = { status };
    if (latest.properties.createdOn) pending.since = latest.properties.createdOn;
    if (latest.properties.tags?.run) pending.run = latest.properties.tags.run;
    return { ...base, ...(issuedVersion ? { issued: managedFrom(issuedVersion) } : {}), pending };
  }

  private async operationStatus(name: string): Promise<string> {
    try {
      const poller = await this.certificates.getCertificateOperation(name);
      return poller.getOperationState().certificateOperation?.status ?? 'none';
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 404) return 'none';
      throw error;
    }
  }

  /** The newest enabled version that holds a certificate (not the pending one). */
  private async newestIssuedVersion(name: string): Promise<KeyVaultCertificateWithPolicy | undefined> {
    const candidates = [];
    for await (const version of this.certificates.listPropertiesOfCertificateVersions(name)) {
      if (version.enabled !== false && version.version && version.x509Thumbprint) candidates.push(version);
    }
    candidates.sort((a, b) => (b.createdOn?.getTime() ?? 0) - (a.createdOn?.getTime() ?? 0));
    for (const candidate of candidates) {
      const certificate = await this.certificates.getCertificateVersion(name, candidate.version!);
      if (isIssued(certificate)) return certificate as KeyVaultCertificateWithPolicy;
    }
    return undefined;
  }

  /** The certificate's newest issued version: the versionless one, or while a create is pending, the one before. */
  private async latestIssued(name: string): Promise<KeyVaultCertificateWithPolicy | undefined> {
    const latest = await this.certificates.getCertificate(name);
    return isIssued(latest) ? latest : this.newestIssuedVersion(name);
  }

  /**
   * Deletes the certificate (soft delete, as the vault is configured); purges it too when asked,
   * which frees the name at once. A certificate already gone is success.
   */
  async remove(name: string, purge: boolean): Promise<Removal> {
    try {
      try {
        await (await this.certificates.beginDeleteCertificate(name)).pollUntilDone();
      } catch (error) {
        if ((error as { statusCode?: number }).statusCode !== 404) throw error;
      }
      if (!purge) return { purged: false };
      try {
        await this.certificates.purgeDeletedCertificate(name);
      } catch (error) {
        const refusal = error as { statusCode?: number; message?: string };
        if (refusal.statusCode === 404) return { purged: true };
        // A purge-protected vault refuses every purge (403): the removal itself has succeeded.
        if (refusal.statusCode === 403 && /purge protection/i.test(refusal.message ?? '')) return { purged: false, note: PURGE_PROTECTED };
        throw error;
      }
      return { purged: true };
    } catch (error) {
      throw fromAzureError('Key Vault', error, kvCodes);
    }
  }

  /**
   * One issued version of a certificate as a PEM leaf (public: a certificate, never its key), with
   * its tags, or undefined when that version is not there (deleted, or never issued).
   */
  async issuedVersion(name: string, version: string): Promise<{ certificatePem: string; serialNumber: string; tags: Record<string, string> } | undefined> {
    try {
      const certificate = await this.certificates.getCertificateVersion(name, version);
      if (!certificate.cer) return undefined;
      const der = Buffer.from(certificate.cer);
      return { certificatePem: toPem('CERTIFICATE', der), serialNumber: new X509Certificate(der).serialNumber, tags: { ...certificate.properties.tags } };
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 404) return undefined;
      throw fromAzureError('Key Vault', error, kvCodes);
    }
  }

  /**
   * Records a revocation on the version it revoked, as two tags beside the ones it has (a PATCH
   * replaces a version's whole tag set: https://learn.microsoft.com/rest/api/keyvault/certificates/update-certificate),
   * so the list shows it for as long as that version is the current one.
   */
  async recordRevocation(name: string, version: string, tags: Record<string, string>, revocation: RevocationRecord): Promise<void> {
    try {
      await this.certificates.updateCertificateProperties(name, version, { tags: { ...tags, revocationReason: revocation.reason, revokedAt: revocation.at } });
    } catch (error) {
      throw fromAzureError('Key Vault', error, kvCodes);
    }
  }

  /** The current version of a certificate, as the gateway will use it. */
  async current(name: string): Promise<IssuedCertificate> {
    try {
      const issued = await this.latestIssued(name);
      if (!issued) throw new CertbotError('KeyVaultRequestFailed', `Key Vault certificate ${name} has no issued version.`);
      return this.describe(issued);
    } catch (error) {
      throw fromAzureError('Key Vault', error, { ...kvCodes, notFound: 'KeyVaultRequestFailed' });
    }
  }

  /**
   * The RFC 9773 id of the certificate a new order for this hostname replaces: the current version,
   * when this app issued it from the same CA. Undefined for a first issuance or an imported one.
   */
  async replacedCertificateId(hostname: string, acmeEndpoint: URL): Promise<string | undefined> {
    try {
      const current = await this.latestIssued(certificateNameFor(hostname));
      const tags = current?.properties.tags;
      if (!current?.cer || tags?.source !== 'acme' || tags.acmeEndpoint !== acmeEndpoint.href) return undefined;
      return renewalCertificateIdOf(Buffer.from(current.cer));
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 404) return undefined;
      throw fromAzureError('Key Vault', error, kvCodes);
    }
  }

  private async recoverIfDeleted(name: string): Promise<boolean> {
    try {
      await this.certificates.getDeletedCertificate(name);
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 404) return false;
      throw error;
    }
    await (await this.certificates.beginRecoverDeletedCertificate(name)).pollUntilDone();
    return true;
  }

  /** Imported certificates are the user's: ACME never replaces them behind their back. */
  private async refuseImported(name: string, hostname: string): Promise<void> {
    try {
      const current = await this.certificates.getCertificate(name);
      if (current.properties.tags?.source === 'import') {
        throw new CertbotError('HostnameHasImportedCertificate', `Key Vault certificate ${name} for ${hostname} was imported (tag source=import).`);
      }
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode !== 404) throw error;
    }
  }

  /**
   * Merges the CA's chain (leaf first) into the pending certificate. When the merge already
   * happened (a retried step), the current version with the same serial is returned instead.
   */
  async mergeChain(name: string, chainPem: string[]): Promise<IssuedCertificate> {
    const leaf = new X509Certificate(chainPem[0]);
    try {
      const current = await this.latestIfSerial(name, leaf.serialNumber);
      if (current) return current;
      const merged = await this.certificates.mergeCertificate(
        name,
        chainPem.map((pem) => new Uint8Array(new X509Certificate(pem).raw)),
      );
      return this.describe(merged);
    } catch (error) {
      throw fromAzureError('Key Vault', error, kvCodes);
    }
  }

  private async latestIfSerial(name: string, serial: string): Promise<IssuedCertificate | undefined> {
    try {
      const latest = await this.latestIssued(name);
      if (!latest) return undefined;
      const described = this.describe(latest);
      return described.serialNumber === serial ? described : undefined;
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 404) return undefined;
      throw error;
    }
  }

  private describe(certificate: KeyVaultCertificateWithPolicy): IssuedCertificate {
    if (!certificate.cer || !certificate.properties.version) {
      throw new CertbotError('KeyVaultRequestFailed', `Key Vault returned certificate ${certificate.name} without its content.`);
    }
    const x509 = new X509Certificate(Buffer.from(certificate.cer));
    return {
      name: certificate.name,
      version: certificate.properties.version,
      secretId: versionedSecretId(this.config.keyVaultBaseUrl, certificate.name, certificate.properties.version),
      serialNumber: x509.serialNumber,
      notAfter: new Date(x509.validTo).toISOString(),
    };
  }
}

/** An issued version: it has its certificate and is enabled (a pending one has neither). */
function isIssued(certificate: KeyVaultCertificateWithPolicy | { cer?: Uint8Array; properties: { enabled?: boolean } }): boolean {
  return !!certificate.cer && certificate.properties.enabled !== false;
}

/**
 * What the app knows of an issued version. Its dates are read from the certificate itself: the
 * attributes' nbf/exp of a version are the policy's guess until a certificate is merged.
 */
function managedFrom(certificate: KeyVaultCertificateWithPolicy): ManagedCertificate {
  const { tags, version } = certificate.properties;
  const x509 = new X509Certificate(Buffer.from(certificate.cer!));
  const managed: ManagedCertificate = {
    hostname: tags?.hostname ?? '',
    name: certificate.name,
    source: sourceOf(tags),
    version: version ?? '',
    notBefore: new Date(x509.validFrom),
    notAfter: new Date(x509.validTo),
    names: namesOf(tags?.hostname ?? '', x509),
    serialNumber: x509.serialNumber,
  };
  const revoked = revocationOf(tags);
  if (revoked) managed.revoked = revoked;
  if (tags?.acmeEndpoint) managed.acmeEndpoint = tags.acmeEndpoint;
  if (tags?.challengeType === 'dns-01') managed.challengeType = 'dns-01';
  if (tags?.profile) managed.profile = tags.profile;
  const id = certificate.cer ? renewalCertificateIdOf(Buffer.from(certificate.cer)) : undefined;
  if (id) managed.renewalCertificateId = id;
  return managed;
}

/** The revocation recorded in a version's tags (recordRevocation), if any. */
export function revocationOf(tags: Record<string, string> | undefined): RevocationRecord | undefined {
  return tags?.revocationReason && tags.revokedAt ? { reason: tags.revocationReason, at: tags.revokedAt } : undefined;
}

/** The certificate's DNS names, `hostname` first, the others in the certificate's order (CAs may sort them). */
function namesOf(hostname: string, x509: X509Certificate): string[] {
  const dns = (x509.subjectAltName ?? '')
    .split(', ')
    .filter((entry) => entry.startsWith('DNS:'))
    .map((entry) => entry.slice(4).toLowerCase());
  return [hostname, ...dns.filter((name) => name !== hostname)].filter(Boolean);
}

export function toPem(label: string, der: Buffer): string {
  const body = der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`;
}
