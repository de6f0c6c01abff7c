/**
 * A lock shared by every instance of the app: a lease on a blob in the private state container
 * (StateContainerUrl). On
 * Flex Consumption activities run on many instances at once, so module state cannot make
 * "create once" hold; a blob lease can (one holder at a time, at most 60 s, freed if the holder
 * dies). REST: https://learn.microsoft.com/rest/api/storageservices/lease-blob ("Acquire" on a
 * leased blob answers 409 LeaseAlreadyPresent). The lock blobs are empty, named `locks/<name>`.
 */
import { ContainerClient } from '@azure/storage-blob';
import { CertbotConfig } from '../domain/config';
import { CertbotError } from '../domain/errors';
import { STATE_BLOB_CODES as blobCodes, STATE_SERVICE, ensureEmptyBlob, stateContainer, statusOf } from './challengeContainer';
import { fromAzureError } from './restErrors';

const LEASE_SECONDS = 60;
const RETRY_MS = 250;
/** Well inside the lease period, so a slow CA or vault never lets the lease lapse. */
const RENEW_EVERY_MS = 20_000;

export class BlobLock {
  private readonly container: ContainerClient;

  constructor(config: CertbotConfig) {
    this.container = stateContainer(config);
  }

  /**
   * Runs `work` holding the named lock; waits for another holder up to one lease period and a bit.
   * The lease is renewed while the work runs; `stillHeld` renews it once more and throws if it was
   * lost (call it right before the write the lock protects).
   */
  async around<T>(name: string, work: (stillHeld: () => Promise<void>) => Promise<T>, waitMs = (LEASE_SECONDS + 15) * 1000): Promise<T> {
    const blob = this.container.getBlockBlobClient(`locks/${name}`);
    await ensureEmptyBlob(blob).catch((error: unknown) => {
      throw fromAzureError(STATE_SERVICE, error, blobCodes);
    });
    const lease = blob.getBlobLeaseClient();
    const deadline = Date.now() + waitMs;
    for (;;) {
      try {
        await lease.acquireLease(LEASE_SECONDS);
        break;
      } catch (error) {
        if (statusOf(error) !== 409) throw fromAzureError(STATE_SERVICE, error, blobCodes);
        if (Date.now() > deadline) {
          throw new CertbotError('BlobStorageRequestFailed', `The lock ${name} stayed taken for ${Math.round(waitMs / 1000)} s; retrying later.`, undefined, true);
        }
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      }
    }
    const stillHeld = async (): Promise<void> => {
      try {
        await lease.renewLease();
      } catch {
        throw new CertbotError('BlobStorageRequestFailed', `The lock ${name} was lost before the work finished; retrying.`, undefined, true);
      }
    };
    const renewal = setInterval(() => void lease.renewLease().catch(() => undefined), RENEW_EVERY_MS);
    try {
      return await work(stillHeld);
    } finally {
      clearInterval(renewal);
      // An unreleased lease expires on its own; a failed release must not hide the work's outcome.
      await lease.releaseLease().catch(() => undefined);
    }
  }
}
