/**
 * The gateway writer's inbox: one JSON blob per gateway (`gateway-writer/<gateway>.json` in
 * the private state container, StateContainerUrl: it names hostnames, Key Vault secret ids and
 * instance ids, and its name is predictable, so it must not be in the public challenge container) holding the change requests not yet applied, those the writer is
 * applying, the results of recent ones, and which writer instance is working. Every change is a
 * read followed by a write conditional on the ETag read (Put Blob with If-Match, 412 when someone
 * wrote in between; https://learn.microsoft.com/rest/api/storageservices/put-blob), so requesters
 * and the writer on any number of app instances never lose each other's updates.
 *
 * Why a blob and not orchestration events or a Durable Entity: requests must survive the writer's
 * end and continueAsNew (the extension drops events a generation did not read), the writer must
 * cost nothing while idle (no orchestration polls it), and a requester must be able to find its
 * answer even if the reply event was lost. Holding the queue in storage the app already uses makes
 * the writer an orchestration that runs only while there is work and ends when the inbox is empty.
 */
import { BlockBlobClient, ContainerClient } from '@azure/storage-blob';
import { CertbotConfig } from '../domain/config';
import { CertbotError } from '../domain/errors';
import type { GatewayChangeRequest, GatewayChangeResult } from '../domain/gatewayChange';
import { STATE_BLOB_CODES as blobCodes, STATE_SERVICE, stateContainer, statusOf } from './challengeContainer';
import { fromAzureError } from './restErrors';

export interface WriterRecord {
  instanceId: string;
  /** When it was named writer (ISO). */
  since: string;
}

export interface InboxState {
  generation: number;
  writer?: WriterRecord;
  pending: GatewayChangeRequest[];
  taken: GatewayChangeRequest[];
  results: Record<string, { result: GatewayChangeResult; at: string }>;
}

/** Results are kept this long for a requester that missed its reply event. */
const RESULT_RETENTION_MS = 24 * 60 * 60 * 1000;
const ATTEMPTS = 40;

const emptyState = (): InboxState => ({ generation: 0, pending: [], taken: [], results: {} });

export class GatewayInbox {
  private readonly blob: BlockBlobClient;

  constructor(config: CertbotConfig, container: ContainerClient = stateContainer(config)) {
    this.blob = container.getBlockBlobClient(`gateway-writer/${config.applicationGatewayName.toLowerCase()}.json`);
  }

  async read(): Promise<InboxState> {
    return (await this.readWithEtag()).state;
  }

  private async readWithEtag(): Promise<{ state: InboxState; etag?: string }> {
    try {
      // One Get Blob: the content and the ETag of that very content.
      const response = await this.blob.download();
      const text = await readAll(response.readableStreamBody);
      return { state: { ...emptyState(), ...(JSON.parse(text) as Partial<InboxState>) }, etag: response.etag };
    } catch (error) {
      if (statusOf(error) === 404) return { state: emptyState() };
      if (error instanceof SyntaxError) throw new CertbotError('BlobStorageRequestFailed', `The gateway writer inbox blob ${this.blob.name} in the state container (StateContainerUrl) is not valid JSON; delete it to start afresh.`);
      throw fromAzureError(STATE_SERVICE, error, blobCodes);
    }
  }

  /**
   * Applies `change` to the state read and writes it back only if nobody wrote in between; reads
   * and applies again otherwise. `change` must be pure (it may run several times).
   */
  async update<T>(change: (state: InboxState) => { result: T; write: boolean }): Promise<T> {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const { state, etag } = await this.readWithEtag();
      const { result, write } = change(state);
      if (!write) return result;
      pruneResults(state, Date.now());
      const text = JSON.stringify(state);
      try {
        await this.blob.upload(text, Buffer.byteLength(text), {
          conditions: etag ? { ifMatch: etag } : { ifNoneMatch: '*' },
          blobHTTPHeaders: { blobContentType: 'application/json' },
        });
        return result;
      } catch (error) {
        if (statusOf(error) !== 412 && statusOf(error) !== 409) throw fromAzureError(STATE_SERVICE, error, blobCodes);
        // Another app instance wrote first: wait a little (spread out) and try again.
        await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 80 * Math.min(attempt + 1, 10)));
      }
    }
    throw new CertbotError('BlobStorageRequestFailed', 'The gateway writer inbox kept changing under this request; retrying.', undefined, true);
  }
}

async function readAll(stream: NodeJS.ReadableStream | undefined): Promise<string> {
  if (!stream) return '';
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}

function pruneResults(state: InboxState, now: number): void {
  for (const [id, { at }] of Object.entries(state.results)) {
    if (now - Date.parse(at) > RESULT_RETENTION_MS) delete state.results[id];
  }
}
