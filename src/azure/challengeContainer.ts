/**
 * The challenge container, shared by the validation files and the app's lock blobs, and what its
 * three users have in common: the client, the typed error codes, and the empty-blob creation that
 * locks and claims lease (Put Blob with If-None-Match: *: 409 when it exists, 412 when it exists
 * and is leased; https://learn.microsoft.com/rest/api/storageservices/put-blob).
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

export const challengeContainer = (config: CertbotConfig): ContainerClient => new ContainerClient(config.blobContainerUrl.href, appCredential());

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
