/**
 * The app's two blob containers and what their users have in common: the clients, the typed error
 * codes, and the empty-blob creation that locks and claims lease (Put Blob with If-None-Match: *:
 * 409 when it exists, 412 when it exists and is leased;
 * https://learn.microsoft.com/rest/api/storageservices/put-blob).
 *
 * - The challenge container (BlobContainerUrl) holds only the HTTP-01 validation files: it allows
 *   anonymous blob reads, so the gateway (and through it the CA) can fetch them.
 * - The state container (StateContainerUrl) holds the hostname claims, the ACME account lock and the
 *   gateway writer's inbox: private, since their names are predictable and a public container
 *   serves any blob to anyone who names it (Learn, "Configure anonymous read access for containers
 *   and blobs": blob-level access lets anonymous clients read any blob by its URL).
 */
import { BlockBlobClient, ContainerClient } from '@azure/storage-blob';
import { CertbotConfig } from '../domain/config';
import { appCredential } from './credential';

// Storage's 403 AuthorizationPermissionMismatch names no action; every blob call the app makes
// needs the same role, so the write action stands for them in the advice.
export const BLOB_CODES = {
  forbidden: 'BlobStoragePermissionDenied',
  other: 'BlobStorageRequestFailed',
  // Only a role refusal; a firewall (AuthorizationFailure) or shared-key refusal is not about roles.
  deniedAction: { whenCode: 'AuthorizationPermissionMismatch', action: 'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write' },
} as const;

/** The same codes for the state container: a refusal there names its own assignment (stateWriter in infra/roles.json). */
export const STATE_BLOB_CODES = {
  ...BLOB_CODES,
  deniedAction: { ...BLOB_CODES.deniedAction, scope: 'stateContainer' },
} as const;

/** How errors name each container: the setting to check (src/azure/restErrors.ts puts it in the detail). */
export const CHALLENGE_SERVICE = 'Blob Storage (challenge container, BlobContainerUrl)';
export const STATE_SERVICE = 'Blob Storage (state container, StateContainerUrl)';

export const challengeContainer = (config: CertbotConfig): ContainerClient => new ContainerClient(config.blobContainerUrl.href, appCredential());

export const stateContainer = (config: CertbotConfig): ContainerClient => new ContainerClient(config.stateContainerUrl.href, appCredential());

/** The HTTP status an SDK error carries, if any. */
export const statusOf = (error: unknown): number | undefined => (error as { statusCode?: number } | null)?.statusCode;

/** Creates the (empty) blob unless it exists; any other failure is thrown as it came. */
export async function ensureEmptyBlob(blob: BlockBlobClient): Promise<void> {
  try {
    await blob.upload('', 0, { conditions: { ifNoneMatch: '*' } });
  } catch (error) {
    if (statusOf(error) !== 409 && statusOf(error) !== 412) throw error;
  }
}
