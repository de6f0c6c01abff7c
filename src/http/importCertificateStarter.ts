import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { KeyVaultAdapter } from '../azure/keyVault';
import { toPkcs12 } from '../crypto/pkcs12';
import { CertbotConfig, loadConfig } from '../domain/config';
import { CertbotError } from '../domain/errors';
import { parseImportRequest } from '../domain/importedCertificate';
import { instanceIdFor } from '../domain/requests';
import { Orchestrators } from '../functions/names';
import type { ImportInput } from '../orchestrators/importCertificate';
import { readJsonBody } from './body';
import { acceptedResponse, checkStatusLinks } from './checkStatus';
import { invalidRequest, problemResponse } from './problem';

const ACTIVE = new Set<string>([df.OrchestrationRuntimeStatus.Running, df.OrchestrationRuntimeStatus.Pending]);

/**
 * POST /api/AddCertificateWithPrivateKeyFunctions_HttpStart
 * {"hostnames":[{"hostname","privatekey","certificate","password"?}]}: everything is validated
 * before anything starts; the key material then goes straight into Key Vault (a password-less
 * PKCS#12) and only certificate names travel into the orchestration, never the key.
 */
export async function importCertificateStarter(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  let config: CertbotConfig;
  try {
    config = loadConfig();
  } catch (error) {
    context.error(`Configuration: ${(error as CertbotError).detail ?? 'invalid'}`);
    return problemResponse(500, 'Not configured', 'The function app is misconfigured; see its logs.');
  }
  const body = await readJsonBody(request);
  if (!body.ok) return invalidRequest(body.errors);
  const parsed = parseImportRequest(body.value, config.maxHostnamesPerRequest);
  if (!parsed.ok) return invalidRequest(parsed.errors);

  const client = df.getClient(context);
  const busy: string[] = [];
  for (const item of parsed.value) {
    const status = await client.getStatus(instanceIdFor(item.hostname)).catch(() => undefined);
    if (status && ACTIVE.has(status.runtimeStatus)) busy.push(item.hostname);
  }
  if (busy.length) {
    return problemResponse(409, 'Already in progress', `Certificates for ${busy.join(', ')} are being issued; retry when they finish.`, undefined, { hostnames: busy });
  }

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
