import { randomUUID } from 'node:crypto';
import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { ImportEffect, KeyVaultAdapter } from '../azure/keyVault';
import { toPkcs12 } from '../crypto/pkcs12';
import { CertbotError } from '../domain/errors';
import { parseImportRequest } from '../domain/importedCertificate';
import { Orchestrators } from '../functions/names';
import type { ImportInput } from '../orchestrators/importCertificate';
import { readJsonBody } from './body';
import { configOrError, isConfig } from './configuration';
import { claimHostnames, startClaimed } from './inProgress';
import { invalidRequest, problemResponse } from './problem';
import { allowListErrors } from '../domain/allowList';
import { normaliseHostname } from '../domain/hostname';

/** Takes back what a failed request stored; returns the hostnames whose new versions remain. */
async function undoImports(keyVault: KeyVaultAdapter, stored: { name: string; hostname: string; effect: ImportEffect }[], context: InvocationContext): Promise<string[]> {
  const kept: string[] = [];
  for (const { name, hostname, effect } of stored) {
    try {
      if (!(await keyVault.undoImport(name, effect))) kept.push(hostname);
    } catch (error) {
      context.error(`Undoing the import for ${hostname} failed: ${error instanceof CertbotError ? error.code : (error as Error).name}`);
      kept.push(hostname);
    }
  }
  return kept;
}

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
  // A name outside the allow-list is refused before its key material is read at all.
  const refused = allowListErrors(config.allowedHostnames, namedHostnames(body.value));
  if (refused.length) return invalidRequest(refused);
  const parsed = parseImportRequest(body.value, config.maxHostnamesPerRequest);
  if (!parsed.ok) return invalidRequest(parsed.errors);

  const client = df.getClient(context);
  // Claimed before anything is stored: a second import (or any other operation) of a name waits its turn.
  const instanceId = `import-${randomUUID()}`;
  const claimed = await claimHostnames(client, request, context, config, parsed.value.map((item) => item.hostname), instanceId);
  if (!claimed.ok) return claimed.response;

  const keyVault = new KeyVaultAdapter(config);
  const input: ImportInput = { certificates: [] };
  const stored: { name: string; hostname: string; effect: ImportEffect }[] = [];
  let current = parsed.value[0].hostname;
  try {
    // New names first: should Key Vault fail part-way, those can be undone; a new version over an
    // existing certificate cannot, so those come last, where the fewest follow them.
    const existing = new Set<string>();
    for (const item of parsed.value) if (await keyVault.hasCertificate(item.hostname)) existing.add(item.hostname);
    const ordered = [...parsed.value].sort((a, b) => Number(existing.has(a.hostname)) - Number(existing.has(b.hostname)));
    for (const item of ordered) {
      current = item.hostname;
      const pfx = toPkcs12(item.key.export({ type: 'pkcs8', format: 'pem' }).toString(), item.chain.map((c) => c.raw));
      const result = await keyVault.importPkcs12(item.hostname, pfx, existing.has(item.hostname));
      stored.push({ name: result.name, hostname: item.hostname, effect: result.effect });
    }
    // The orchestration binds them in the order the caller gave.
    for (const item of parsed.value) input.certificates.push({ hostname: item.hostname, certificateName: stored.find((s) => s.hostname === item.hostname)!.name });
  } catch (error) {
    const typed = error instanceof CertbotError ? error : undefined;
    context.error(`Import of the certificate for ${current} failed: ${typed ? `${typed.code}: ${typed.detail}` : (error as Error).name}`);
    const kept = await undoImports(keyVault, stored, context);
    await claimed.release();
    const keptNote = kept.length ? ` New versions already stored for ${kept.join(', ')} could not be taken back; the gateway may pick them up (import them again to be sure).` : '';
    return problemResponse(502, 'Key Vault import failed', `The certificate for ${current} could not be stored in Key Vault${typed ? ` (${typed.code})` : ''}; nothing was started. Retry later.${keptNote}`);
  }
  const hostnames = input.certificates.map((c) => c.hostname);
  return startClaimed(client, request, context, claimed, Orchestrators.AddCertificateWithPrivateKey, { instanceId, input, hostnames }, 'The certificates are stored in Key Vault but the orchestration could not be started; import them again shortly.');
}

/** The valid hostnames a request body names, under their fields (the rest is refused by the full parse). */
function namedHostnames(body: unknown): { field: string; hostname: string }[] {
  const entries = (body as { hostnames?: unknown } | null)?.hostnames;
  if (!Array.isArray(entries)) return [];
  return entries.flatMap((entry: unknown, index) => {
    const verdict = normaliseHostname((entry as { hostname?: unknown } | null)?.hostname, { wildcard: true });
    return verdict.ok ? [{ field: `hostnames[${index}].hostname`, hostname: verdict.hostname }] : [];
  });
}
