import { DefaultAzureCredential, TokenCredential } from '@azure/identity';

let credential: TokenCredential | undefined;

/**
 * The app's identity. On Azure (and in the sandbox, which serves the same App Service
 * managed-identity endpoint through IDENTITY_ENDPOINT / IDENTITY_HEADER) this is the managed
 * identity; AZURE_CLIENT_ID picks a user-assigned one. Locally it falls back to az login etc.
 */
export function appCredential(): TokenCredential {
  credential ??= new DefaultAzureCredential({ managedIdentityClientId: process.env.AZURE_CLIENT_ID || undefined });
  return credential;
}
