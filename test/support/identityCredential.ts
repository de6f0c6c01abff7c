import type { AccessToken, TokenCredential } from '@azure/identity';
import { SANDBOX_TENANT } from '../../sandbox';
import { mintToken } from '../../sandbox/identity';

/** A token for one managed identity, as the sandbox's identity endpoint mints it (appid = client id, oid = object id). */
export class IdentityCredential implements TokenCredential {
  constructor(
    private readonly clientId: string,
    private readonly objectId: string,
  ) {}

  async getToken(scopes: string | string[]): Promise<AccessToken> {
    const scope = Array.isArray(scopes) ? scopes[0] : scopes;
    const { token, claims } = mintToken({ tenantId: SANDBOX_TENANT, resource: scope, clientId: this.clientId, objectId: this.objectId });
    return { token, expiresOnTimestamp: claims.exp * 1000 };
  }
}
