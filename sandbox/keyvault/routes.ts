import { CertificateStore } from './certificates';
import { SecretStore } from './secrets';
import { KvReply, KvRequest, kvError } from './wire';

/**
 * Maps a request to its operation name (for counters and faults) and handler. Paths follow the
 * URL templates of @azure/keyvault-certificates 4.10 and keyvault-secrets 4.12 (src/generated/
 * api/operations): the certificate sub-resources (create, import, pending, policy, versions)
 * are matched before a version id. `getCertificate(name, "")` sends /certificates/{n}/ and is the
 * versionless GET.
 */
export interface Route {
  operation: string;
  handle(): KvReply;
}

/** Vault properties the data plane obeys (set on the vault resource through ARM). */
export interface VaultProperties {
  purgeProtection: boolean;
}

/**
 * A purge on a purge-protected vault: 403 Forbidden, the service's wording (quoted from a service
 * answer in microsoft/AzureTRE#1951); the object stays deleted until its retention ends.
 */
function purgeRefused(): KvReply {
  return kvError(
    403,
    'Forbidden',
    'Operation "purge" is not allowed because purge protection is enabled for this vault. Key Vault service will automatically purge it after the retention period has passed.',
  );
}

export function route(request: KvRequest, certificates: CertificateStore, secrets: SecretStore, vault: VaultProperties = { purgeProtection: false }): Route {
  const [collection, name, third, fourth] = request.path;
  const method = request.method;
  const op = (operation: string, handle: () => KvReply): Route => ({ operation, handle });
  const unsupported = op('unsupported', () => kvError(405, 'NotSupported', `${method} /${request.path.join('/')} is not supported by the Key Vault emulator.`));

  if (collection === 'certificates') {
    if (!name) return method === 'GET' ? op('certificates.list', () => certificates.list(request)) : unsupported;
    if (name === 'contacts' || name === 'issuers' || name === 'restore') return unsupported;
    if (third === 'create') return method === 'POST' ? op('certificates.create', () => certificates.create(request, name)) : unsupported;
    if (third === 'import') return method === 'POST' ? op('certificates.import', () => certificates.import(request, name)) : unsupported;
    if (third === 'pending' && fourth === 'merge') return method === 'POST' ? op('certificates.merge', () => certificates.merge(request, name)) : unsupported;
    if (third === 'pending' && !fourth) {
      if (method === 'GET') return op('certificates.getOperation', () => certificates.getOperation(request, name));
      if (method === 'PATCH') return op('certificates.updateOperation', () => certificates.updateOperation(request, name));
      if (method === 'DELETE') return op('certificates.deleteOperation', () => certificates.deleteOperation(request, name));
      return unsupported;
    }
    if (third === 'policy' && !fourth) {
      if (method === 'GET') return op('certificates.getPolicy', () => certificates.getPolicy(name));
      if (method === 'PATCH') return op('certificates.updatePolicy', () => certificates.updatePolicy(request, name));
      return unsupported;
    }
    if (third === 'versions' && !fourth) return method === 'GET' ? op('certificates.listVersions', () => certificates.listVersions(request, name)) : unsupported;
    if (third === 'backup' || fourth) return unsupported;
    if (method === 'GET') return op(third ? 'certificates.getVersion' : 'certificates.get', () => certificates.get(name, third));
    if (method === 'PATCH') return op('certificates.update', () => certificates.update(request, name, third));
    if (method === 'DELETE' && !third) return op('certificates.delete', () => certificates.delete(name));
    return unsupported;
  }

  if (collection === 'deletedcertificates') {
    if (!name) return method === 'GET' ? op('deletedCertificates.list', () => certificates.listDeleted(request)) : unsupported;
    if (third === 'recover' && method === 'POST') return op('deletedCertificates.recover', () => certificates.recover(name));
    if (third) return unsupported;
    if (method === 'GET') return op('deletedCertificates.get', () => certificates.getDeleted(name));
    if (method === 'DELETE') return op('deletedCertificates.purge', () => (vault.purgeProtection && certificates.getDeleted(name).status === 200 ? purgeRefused() : certificates.purge(name)));
    return unsupported;
  }

  if (collection === 'secrets') {
    if (!name) return method === 'GET' ? op('secrets.list', () => secrets.list(request)) : unsupported;
    if (third === 'versions' && !fourth) return method === 'GET' ? op('secrets.listVersions', () => secrets.listVersions(request, name)) : unsupported;
    if (third === 'backup' || name === 'restore' || fourth) return unsupported;
    if (method === 'PUT' && !third) return op('secrets.set', () => secrets.set(request, name));
    if (method === 'GET') return op(third ? 'secrets.getVersion' : 'secrets.get', () => secrets.get(name, third));
    if (method === 'PATCH') return op('secrets.update', () => secrets.update(request, name, third));
    if (method === 'DELETE' && !third) return op('secrets.delete', () => secrets.delete(name));
    return unsupported;
  }

  if (collection === 'deletedsecrets' && name) {
    if (third === 'recover' && method === 'POST') return op('deletedSecrets.recover', () => secrets.recover(name));
    if (third) return unsupported;
    if (method === 'GET') return op('deletedSecrets.get', () => secrets.getDeleted(name));
    if (method === 'DELETE') return op('deletedSecrets.purge', () => (vault.purgeProtection && secrets.getDeleted(name).status === 200 ? purgeRefused() : secrets.purge(name)));
  }
  return op('unknown', () => kvError(404, 'NotFound', `No Key Vault operation at ${method} /${request.path.join('/')}.`));
}
