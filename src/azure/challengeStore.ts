import { ContainerClient } from '@azure/storage-blob';
import { CertbotConfig } from '../domain/config';
import { BLOB_CODES as blobCodes, CHALLENGE_SERVICE, challengeContainer } from './challengeContainer';
import { fromAzureError } from './restErrors';

/**
 * The HTTP-01 validation files in the challenge container (nothing else is kept there: it allows
 * anonymous blob reads; the app's own state is in the private state container). The gateway's path rule maps
 * `/.well-known/acme-challenge/*` onto `<container>/.well-known/acme-challenge/*`.
 * REST: https://learn.microsoft.com/rest/api/storageservices/put-blob and delete-blob.
 */
export const challengeBlobName = (token: string): string => `.well-known/acme-challenge/${token}`;

export class ChallengeStore {
  private readonly container: ContainerClient;

  constructor(config: CertbotConfig) {
    this.container = challengeContainer(config);
  }

  /** Writes (or overwrites: idempotent) the key authorization under the token's path. */
  async put(token: string, keyAuthorization: string): Promise<void> {
    try {
      await this.container.getBlockBlobClient(challengeBlobName(token)).upload(keyAuthorization, Buffer.byteLength(keyAuthorization), {
        blobHTTPHeaders: { blobContentType: 'text/plain', blobCacheControl: 'no-cache' },
      });
    } catch (error) {
      throw fromAzureError(CHALLENGE_SERVICE, error, blobCodes);
    }
  }

  /** Removes the file; a file already gone is success (idempotent). */
  async remove(token: string): Promise<void> {
    try {
      await this.container.getBlockBlobClient(challengeBlobName(token)).deleteIfExists();
    } catch (error) {
      throw fromAzureError(CHALLENGE_SERVICE, error, blobCodes);
    }
  }
}
