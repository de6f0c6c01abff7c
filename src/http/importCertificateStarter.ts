import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { KeyVaultAdapter } from '../azure/keyVault';
import { toPkcs12 } from '../crypto/pkcs12';
import { CertbotError } from '../domain/errors';
import { parseImportRequest } from '../domain/importedCertificate';
import { Orchestrators } from '../functions/names';
import type { ImportInput } from '../orchestrators/importCertificate';
import { readJsonBody } from './body';
import { acceptedResponse, checkStatusLinks } from './checkStatus';
import { busyResponse, configOrError, hostnamesInProgress, isConfig } from './inProgress';
import { invalidRequest, problemResponse } from './problem';

/**
 * POST /api/AddCertificateWithPrivateKeyFunctions_HttpStart
 * {"hostnames":[{"hostname","privatekey","certificate","password"?}]}: everything is validated
 * before anything starts; the key material then goes straight into Key Vault (a password-less
 * PKCS#12) and only certificate names travel into the orchestration, never the key.
 */
export async function importCertificateStarter(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const config = configOrError(context);
  if (!isConfig(config)) return config;
  const body = await readJsonBody(request);
  if (!body.ok) return invalidRequest(body.errors);
  const parsed = parseImportRequest(body.value, config.maxHostnamesPerRequest);
  if (!parsed.ok) return invalidRequest(parsed.errors);

  const client = df.getClient(context);
  const busy = await hostnamesInProgress(client, parsed.value.map((item) => item.hostname));
  if (busy.length) return busyResponse(busy);

  const keyVault = new KeyVaultAdapter(config);
  const input: ImportInput = { certificates: [] };
  for (const item of parsed.value) {
    try {
      const pfx = toPkcs12(item.key.export({ type: 'pkcs8', format: 'pem' }).toString(), item.chain.map((c) => c.raw));
      const stored = await keyVault.importPkcs12(item.hostname, pfx);
      input.certificates.push({ hostname: item.hostname, certificateName: stored.name });
    } catch (error) {
      const typed = error instanceof CertbotError ? error : undefined;
      context.error(`Import of the certificate for ${item.hostname} failed: ${typed ? `${typed.code}: ${typed.detail}` : (error as Error).name}`);
      return problemResponse(502, 'Key Vault import failed', `The certificate for ${item.hostname} could not be stored in Key Vault${typed ? ` (${typed.code})` : ''}; retry later.`);
    }
  }
  const instanceId = await client.startNew(Orchestrators.AddCertificateWithPrivateKey, { input });
  context.info(`Started ${Orchestrators.AddCertificateWithPrivateKey} ${instanceId} for ${input.certificates.length} imported certificates`);
  return acceptedResponse(await checkStatusLinks(client, request, instanceId));
}
