/**
 * A small JSON document in the private state container, changed read-modify-write by many app
 * instances at once: each write is conditional on the ETag read (If-Match; If-None-Match: * for a
 * new blob), and a 412/409 means another instance wrote first, so it is read and applied again.
 * https://learn.microsoft.com/rest/api/storageservices/specifying-conditional-headers-for-blob-service-operations
 */
import { BlockBlobClient } from '@azure/storage-blob';
import { CertbotConfig } from '../domain/config';
import { CertbotError } from '../domain/errors';
import { STATE_BLOB_CODES, STATE_SERVICE, stateContainer, statusOf } from './challengeContainer';
import { fromAzureError } from './restErrors';

const ATTEMPTS = 40;

export class StateDocument<T> {
  private readonly blob: BlockBlobClient;

  constructor(config: CertbotConfig, name: string, private readonly empty: () => T) {
    this.blob = stateContainer(config).getBlockBlobClient(name);
  }

  private async load(): Promise<{ value: T; etag?: string }> {
    try {
      // One Get Blob: the content and the ETag of exactly that content.
      const response = await this.blob.download();
      const chunks: Buffer[] = [];
      for await (const chunk of response.readableStreamBody ?? []) chunks.push(chunk as Buffer);
      return { value: JSON.parse(Buffer.concat(chunks).toString('utf8')) as T, etag: response.etag };
    } catch (error) {
      if (statusOf(error) === 404) return { value: this.empty() };
      throw fromAzureError(STATE_SERVICE, error, STATE_BLOB_CODES);
    }
  }

  async read(): Promise<T | undefined> {
    try {
      return JSON.parse((await this.blob.downloadToBuffer()).toString('utf8')) as T;
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw fromAzureError(STATE_SERVICE, error, STATE_BLOB_CODES);
    }
  }

  /**
   * Applies `change` to the current value and writes it only if nobody wrote meanwhile; returns
   * what `change` decided. `change` returns `write: undefined` to leave the blob as it is, or null to delete it.
   */
  async update<R>(change: (current: T) => { write: T | null | undefined; result: R }): Promise<R> {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const { value, etag } = await this.load();
      const { write, result } = change(value);
      try {
        if (write === undefined) return result;
        if (write === null) {
          if (etag) await this.blob.delete({ conditions: { ifMatch: etag } });
          return result;
        }
        const body = JSON.stringify(write);
        await this.blob.upload(body, Buffer.byteLength(body), {
          conditions: etag ? { ifMatch: etag } : { ifNoneMatch: '*' },
          blobHTTPHeaders: { blobContentType: 'application/json' },
        });
        return result;
      } catch (error) {
        const status = statusOf(error);
        if (status === 404 && write === null) return result;
        if (status !== 412 && status !== 409) throw fromAzureError(STATE_SERVICE, error, STATE_BLOB_CODES);
        // Another instance wrote first: wait a little (spread the retries), read again.
        await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 50 * Math.min(attempt + 1, 8)));
      }
    }
    throw new CertbotError('BlobStorageRequestFailed', `The state blob ${this.blob.name} kept changing under ${ATTEMPTS} attempts to update it; retrying later.`, undefined, true);
  }
}
