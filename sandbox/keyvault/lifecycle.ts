import { KvReply, kvError, unixNow } from './wire';

/**
 * Soft delete, recover and purge take time on Key Vault: the DELETE (or recover, or purge) answers
 * at once and the object reaches its new state a few seconds later. Sources:
 * - deletion: azure-sdk-for-js sdk/keyvault/keyvault-certificates/recordings/node/
 *   certificates_client__lro__delete/recording_can_wait_until_a_certificate_is_deleted.json: after
 *   the DELETE (200), GET /deletedcertificates/{n} answers 404 "Deleted Certificate not found: {n}"
 *   twice, then 200 about 11 s later; the SDK's DeletePoller polls through those 404s;
 * - recovery: .../certificates_client__lro__recoverdelete/recording_can_wait_until_a_certificate_is_recovered.json:
 *   after POST recover (200), GET /certificates/{n}/ answers 404 CertificateNotFound, then 200
 *   about 11 s later; the SDK's RecoverPoller polls through those 404s. Recovery has been seen to
 *   take longer still (azure-sdk-for-net#39258, terraform-provider-azurerm#19749);
 * - purge: after a purge answered 204, GET and GET deleted both answer 404 while a new object of
 *   the name is refused with 409 for "1 to 5 seconds" (azure-sdk-for-net#26027).
 * The defaults below sit inside those windows; `delayScale` shrinks them for tests.
 */
export interface LifecycleDelays {
  /** DELETE answered -> the deleted object shows in /deleted{certificates,secrets}. */
  deleteMs: number;
  /** POST recover answered -> the object is live again. */
  recoverMs: number;
  /** Purge answered -> the name is free. */
  purgeMs: number;
  /**
   * Create with issuer "Self" answered -> its operation is completed and the version holds the
   * certificate. The SDK recordings poll a few times before `completed` (certificates_client__lro__create);
   * the time is not documented: seconds, like the others here.
   */
  selfSignedMs: number;
}

export const DEFAULT_LIFECYCLE_DELAYS: LifecycleDelays = { deleteMs: 5000, recoverMs: 5000, purgeMs: 3000, selfSignedMs: 3000 };

export function lifecycleDelays(overrides: Partial<LifecycleDelays> = {}, scale = 1): LifecycleDelays {
  const pick = (key: keyof LifecycleDelays): number => overrides[key] ?? Math.round(DEFAULT_LIFECYCLE_DELAYS[key] * scale);
  return { deleteMs: pick('deleteMs'), recoverMs: pick('recoverMs'), purgeMs: pick('purgeMs'), selfSignedMs: pick('selfSignedMs') };
}

/** Where an object is in its life; only `live` objects are read, listed or changed. */
export type Phase = 'live' | 'deleting' | 'deleted' | 'recovering' | 'purging' | 'gone';

/** The lifecycle fields an entry (certificate or secret) carries; times in ms since the epoch. */
export interface Lifecycle {
  deleted?: { deletedDate: number; scheduledPurgeDate: number; visibleAt: number };
  recoveringUntil?: number;
  purgingUntil?: number;
}

const RECOVERABLE_DAYS = 90;

export function phaseOf(entry: Lifecycle, now = Date.now()): Phase {
  if (entry.purgingUntil !== undefined) return now < entry.purgingUntil ? 'purging' : 'gone';
  if (entry.deleted) return now < entry.deleted.visibleAt ? 'deleting' : 'deleted';
  if (entry.recoveringUntil !== undefined && now < entry.recoveringUntil) return 'recovering';
  return 'live';
}

export function startDelete(entry: Lifecycle, delays: LifecycleDelays): void {
  const now = unixNow();
  entry.recoveringUntil = undefined;
  entry.deleted = { deletedDate: now, scheduledPurgeDate: now + RECOVERABLE_DAYS * 86400, visibleAt: Date.now() + delays.deleteMs };
}

export function startRecover(entry: Lifecycle, delays: LifecycleDelays): void {
  entry.deleted = undefined;
  entry.recoveringUntil = Date.now() + delays.recoverMs;
}

export function startPurge(entry: Lifecycle, delays: LifecycleDelays): void {
  entry.purgingUntil = Date.now() + delays.purgeMs;
}

/**
 * A create, import or set of a name whose object is not live: the service's conflicts.
 * - deleted: 409 ObjectIsDeletedButRecoverable (the service's answer quoted in
 *   rcl-letsencrypt-auto-ssl/Lets-Encrypt-Auto#16);
 * - being deleted or purged: 409 Conflict "{Kind} is currently being deleted.", innererror
 *   ObjectIsBeingDeleted (an azure-sdk-for-js keyvault-keys nock recording of 2019-09-16, the
 *   purge of recoverKeyName-cangettheversionsofakey- right after its delete: "Key is currently
 *   being deleted.", 204 twelve seconds later; terraform-provider-azurerm#10454: "Secret is
 *   currently being deleted." for a purge too soon after a delete);
 *   after a purge the name stays taken a while (azure-sdk-for-net#26027, wording not quoted there);
 * - being recovered: 409 Conflict, innererror ObjectIsBeingRecovered (the code is named in
 *   Azure.Security.KeyVault CHANGELOG 4.5.0-beta.1, azure-sdk-for-net#31581); the message follows
 *   the deletion one by analogy (not quoted in a public source).
 */
export function nameConflict(kind: 'Certificate' | 'Secret', name: string, phase: Phase): KvReply | undefined {
  const noun = kind.toLowerCase();
  if (phase === 'deleted') {
    return kvError(
      409,
      'Conflict',
      `${kind} ${name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the ${noun} can only be recovered or purged.`,
      'ObjectIsDeletedButRecoverable',
    );
  }
  if (phase === 'deleting' || phase === 'purging') return beingDeleted(kind);
  if (phase === 'recovering') return beingRecovered(kind);
  return undefined;
}

export const beingDeleted = (kind: 'Certificate' | 'Secret'): KvReply => kvError(409, 'Conflict', `${kind} is currently being deleted.`, 'ObjectIsBeingDeleted');
export const beingRecovered = (kind: 'Certificate' | 'Secret'): KvReply => kvError(409, 'Conflict', `${kind} is currently being recovered.`, 'ObjectIsBeingRecovered');

/**
 * A recover while the deletion is still under way: 409 with the service's wording quoted in
 * azure-sdk-for-js#35256 (a recover sent right after the delete poller finished).
 */
export function recoverConflict(kind: 'Certificate' | 'Secret', objectId: string): KvReply {
  const noun = kind.toLowerCase();
  return kvError(
    409,
    'Conflict',
    `There was a conflict while recovering the soft-deleted ${noun} '${objectId}'. This can happen when multiple operations are performed in parallel against the soft-deleted ${noun}. To avoid this error, perform operations against the soft-deleted ${noun} in a sequential manner.`,
  );
}

/** The deletion fields of a deleted bundle, in seconds as the service writes them. */
export function deletionFields(entry: Lifecycle, recoveryId: string): Record<string, unknown> {
  return { recoveryId, deletedDate: entry.deleted!.deletedDate, scheduledPurgeDate: entry.deleted!.scheduledPurgeDate };
}

export { RECOVERABLE_DAYS };
