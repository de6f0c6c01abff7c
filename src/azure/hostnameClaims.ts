/**
 * One operation per hostname at a time, across every instance of the app: an operation (issue,
 * batch, renewal, import, removal) claims its hostnames before it starts and releases them as its
 * last step. A claim is an infinite lease on the hostname's empty blob `locks/hostname-<name>` in
 * the private state container (StateContainerUrl), with the holder's orchestration instance id in the blob's metadata.
 * Blob Storage serialises it: one lease per blob (Lease Blob, 409 LeaseAlreadyPresent), and
 * metadata writes and lease calls conditional on the ETag read (If-Match, 412 on a change), so two
 * claimers never both win. https://learn.microsoft.com/rest/api/storageservices/lease-blob
 *
 * A claim outlives a holder that died without releasing (a terminated instance, a crash): it is
 * taken over once the run that made it has finished; a claim for a run not started yet (no
 * instance, or only earlier runs of the same id) is respected for STARTING_GRACE_MS, long enough
 * for a starter that stores imports first.
 */
import { BlobLeaseClient, BlockBlobClient, ContainerClient } from '@azure/storage-blob';
import { CertbotConfig } from '../domain/config';
import { STATE_BLOB_CODES as blobCodes, STATE_SERVICE, ensureEmptyBlob, stateContainer, statusOf } from './challengeContainer';
import { certificateNameFor } from './keyVault';
import { fromAzureError } from './restErrors';

/** How long a fresh claim counts as held while its orchestration is still being started. */
export const STARTING_GRACE_MS = 10 * 60 * 1000;
const ATTEMPTS = 8;

/** Someone else changed the blob between our read and our write: read again. */
const isRace = (error: unknown): boolean => statusOf(error) === 409 || statusOf(error) === 412;

export interface Busy {
  hostname: string;
  /** The instance holding it (empty when a claim is being made right now). */
  holder: string;
}

export type ClaimOutcome = { ok: true; acquired: string[] } | { ok: false; busy: Busy[] };

/** What the holder's orchestration instance is doing: `missing` until its start is recorded. */
export type HolderState = { state: 'running' } | { state: 'finished'; createdAt: Date } | { state: 'missing' };

/** Status times have whole seconds (the extension writes ToString("s")): compare with that slack. */
const STATUS_TIME_RESOLUTION_MS = 1000;

export class HostnameClaims {
  private readonly container: ContainerClient;

  constructor(config: CertbotConfig) {
    this.container = stateContainer(config);
  }

  private blob(hostname: string): BlockBlobClient {
    return this.container.getBlockBlobClient(`locks/hostname-${certificateNameFor(hostname)}`);
  }

  /**
   * Claims every hostname for `holder`, or none: on any busy hostname the ones claimed here are
   * released again. `acquired` lists those newly claimed (not those `holder` held already).
   */
  async claim(hostnames: string[], holder: string, stateOf: (instanceId: string) => Promise<HolderState>): Promise<ClaimOutcome> {
    const acquired: string[] = [];
    const busy: Busy[] = [];
    try {
      for (const hostname of hostnames) {
        const outcome = await this.claimOne(hostname, holder, stateOf);
        if (outcome === 'acquired') acquired.push(hostname);
        else if (outcome !== 'held') busy.push({ hostname, holder: outcome.holder });
      }
    } catch (error) {
      await this.release(acquired, holder);
      throw fromAzureError(STATE_SERVICE, error, blobCodes);
    }
    if (busy.length > 0) {
      await this.release(acquired, holder);
      return { ok: false, busy };
    }
    return { ok: true, acquired };
  }

  private async claimOne(hostname: string, holder: string, stateOf: (instanceId: string) => Promise<HolderState>): Promise<'acquired' | 'held' | { holder: string }> {
    const blob = this.blob(hostname);
    await ensureEmptyBlob(blob);
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const properties = await blob.getProperties();
      const current = properties.metadata?.holder ?? '';
      if (properties.leaseState === 'leased') {
        if (current === holder) return 'held';
        if (!current) return { holder: current };
        const holderNow = await stateOf(current);
        const claimedAt = Date.parse(properties.metadata?.claimedat ?? '');
        // A run's claim is made just before the run is created. One made later than the finished
        // run's creation is for a new run of the same instance id (certificate-<hostname> is
        // reused) still being started, so it is respected like one whose instance is missing.
        const forNewRun =
          holderNow.state === 'missing' || (holderNow.state === 'finished' && !(claimedAt < holderNow.createdAt.getTime() + STATUS_TIME_RESOLUTION_MS));
        if (holderNow.state === 'running' || (forNewRun && !(Date.now() - claimedAt > STARTING_GRACE_MS))) return { holder: current };
        // The holder is gone without releasing: take over, unless the blob changed meanwhile.
        try {
          await new BlobLeaseClient(blob).breakLease(0, { conditions: { ifMatch: properties.etag } });
        } catch (error) {
          if (!isRace(error)) throw error;
        }
        continue;
      }
      try {
        // Name ourselves first (only if nothing changed), then lease exactly that version.
        const named = await blob.setMetadata({ holder, hostname, claimedat: new Date().toISOString() }, { conditions: { ifMatch: properties.etag } });
        await new BlobLeaseClient(blob).acquireLease(-1, { conditions: { ifMatch: named.etag } });
        return 'acquired';
      } catch (error) {
        if (!isRace(error)) throw error;
      }
    }
    return { holder: '' };
  }

  /** The instance holding the hostname right now, if any. */
  async holderOf(hostname: string): Promise<string | undefined> {
    try {
      const properties = await this.blob(hostname).getProperties();
      return properties.leaseState === 'leased' ? properties.metadata?.holder : undefined;
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw fromAzureError(STATE_SERVICE, error, blobCodes);
    }
  }

  /** Gives the hostnames up, where `holder` still holds them (a released or taken-over claim is left alone). */
  async release(hostnames: string[], holder: string): Promise<void> {
    for (const hostname of hostnames) {
      const blob = this.blob(hostname);
      try {
        const properties = await blob.getProperties();
        if (properties.leaseState !== 'leased' || properties.metadata?.holder !== holder) continue;
        await new BlobLeaseClient(blob).breakLease(0, { conditions: { ifMatch: properties.etag } });
      } catch (error) {
        if (statusOf(error) === 404 || isRace(error)) continue;
        throw fromAzureError(STATE_SERVICE, error, blobCodes);
      }
    }
  }
}
