/**
 * Blob Storage REST operations and the Azure RBAC operation each needs when the caller sends a
 * Microsoft Entra token (Learn, "Authorize access to blobs using Microsoft Entra ID" and the
 * "Permissions" paragraph of each Blob REST operation's page, which the built-in roles link as
 * "Permissions for calling data operations"):
 *
 * - Get Blob, Get Blob Properties, Get Blob Metadata, List Blobs: blobs/read (a data action).
 * - Put Blob: blobs/write, or blobs/add/action when it creates a new block blob; Put Block and Put
 *   Block List likewise; Set Blob Metadata, Set Blob Properties, Lease Blob, Snapshot Blob: blobs/write.
 * - Delete Blob: blobs/delete. Get/Set Blob Tags: blobs/tags/read, blobs/tags/write.
 * - Container and account operations are control-plane actions in the roles (Storage Blob Data
 *   Contributor lists containers/read, /write, /delete under Actions): Create Container and Set
 *   Container Metadata/ACL -> containers/write, Get Container Properties/Metadata/ACL and List
 *   Containers -> containers/read, Delete Container -> containers/delete, Get/Set Blob Service
 *   Properties -> blobServices/read|write, Get User Delegation Key ->
 *   blobServices/generateUserDelegationKey/action. (Set Container ACL's own action is not checked
 *   here against a source: containers/write is assumed.)
 *
 * Blob-level operations are evaluated at the container (the finest scope a role can be assigned at
 * for blobs; Learn, "Scope access to blob data": container, account, group, subscription).
 */
export type BlobScope = 'account' | 'container';

export interface BlobOperation {
  /** The REST operation's name, for counters and messages (e.g. `PutBlob`). */
  name: string;
  account: string;
  container?: string;
  blob?: string;
  /** The operation's RBAC action. */
  action: string;
  kind: 'action' | 'dataAction';
  scope: BlobScope;
  /** Put Blob / Put Block List of a block blob: also allowed by blobs/add/action when the blob is new. */
  addWhenNew?: boolean;
  /** Anonymous (public) access reads the blob or lists the container. */
  read: boolean;
}

const BLOBS = 'Microsoft.Storage/storageAccounts/blobServices/containers/blobs';
const CONTAINERS = 'Microsoft.Storage/storageAccounts/blobServices/containers';
const SERVICE = 'Microsoft.Storage/storageAccounts/blobServices';

export function blobOperation(method: string, pathname: string, query: URLSearchParams): BlobOperation {
  const [account = '', container, ...rest] = pathname.split('/').filter(Boolean).map(decodeURIComponent);
  const blob = rest.length ? rest.join('/') : undefined;
  const comp = (query.get('comp') ?? '').toLowerCase();
  const restype = (query.get('restype') ?? '').toLowerCase();
  const reading = method === 'GET' || method === 'HEAD';
  const op = (name: string, action: string, kind: BlobOperation['kind'], scope: BlobScope, extra: Partial<BlobOperation> = {}): BlobOperation => ({
    name,
    account,
    container,
    blob,
    action,
    kind,
    scope,
    read: false,
    ...extra,
  });

  if (!container) {
    if (comp === 'userdelegationkey') return op('GetUserDelegationKey', `${SERVICE}/generateUserDelegationKey/action`, 'action', 'account');
    if (restype === 'service') return reading ? op('GetBlobServiceProperties', `${SERVICE}/read`, 'action', 'account') : op('SetBlobServiceProperties', `${SERVICE}/write`, 'action', 'account');
    return op('ListContainers', `${CONTAINERS}/read`, 'action', 'account');
  }
  if (!blob) {
    if (restype === 'container' && comp === 'list') return op('ListBlobs', `${BLOBS}/read`, 'dataAction', 'container', { read: true });
    if (method === 'DELETE') return op('DeleteContainer', `${CONTAINERS}/delete`, 'action', 'container');
    if (reading) return op(comp === 'acl' ? 'GetContainerACL' : 'GetContainerProperties', `${CONTAINERS}/read`, 'action', 'container', { read: true });
    return op(comp === 'acl' ? 'SetContainerACL' : comp === 'metadata' ? 'SetContainerMetadata' : comp === 'lease' ? 'LeaseContainer' : 'CreateContainer', `${CONTAINERS}/write`, 'action', 'container');
  }
  if (comp === 'tags') return reading ? op('GetBlobTags', `${BLOBS}/tags/read`, 'dataAction', 'container') : op('SetBlobTags', `${BLOBS}/tags/write`, 'dataAction', 'container');
  if (reading) return op(comp === 'metadata' ? 'GetBlobMetadata' : method === 'HEAD' ? 'GetBlobProperties' : 'GetBlob', `${BLOBS}/read`, 'dataAction', 'container', { read: true });
  if (method === 'DELETE') return op('DeleteBlob', `${BLOBS}/delete`, 'dataAction', 'container');
  const names: Record<string, string> = { metadata: 'SetBlobMetadata', properties: 'SetBlobProperties', lease: 'LeaseBlob', snapshot: 'SnapshotBlob', block: 'PutBlock', blocklist: 'PutBlockList', tier: 'SetBlobTier' };
  const name = names[comp] ?? (comp ? `Blob_${comp}` : 'PutBlob');
  return op(name, `${BLOBS}/write`, 'dataAction', 'container', { addWhenNew: name === 'PutBlob' || name === 'PutBlockList' });
}
