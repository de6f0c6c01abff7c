import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { GatewayAdapter } from '../azure/gateway';
import { KeyVaultAdapter } from '../azure/keyVault';
import { CertbotError } from '../domain/errors';
import { caAdviceFor } from '../acme/renewalInfo';
import { daysLeft, nextRenewal } from '../domain/renewal';
import { configOrError, isConfig } from './configuration';
import { problemResponse } from './problem';

const ADVICE_CONCURRENCY = 8;

/** `work` over every item, at most `limit` at a time, results in input order. */
async function mapLimited<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * GET /api/certificates: every hostname this app manages, with its source, Key Vault name and
 * version, expiry, days left, next renewal date (imported certificates are not renewed: null),
 * the CA's suggested renewal window where it offers one (RFC 9773), and whether the gateway has
 * its HTTPS listener and routing rule.
 */
export async function listCertificates(_request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const config = configOrError(context);
  if (!isConfig(config)) return config;
  try {
    const [certificates, gateway] = await Promise.all([new KeyVaultAdapter(config).listManaged(), new GatewayAdapter(config).read()]);
    const advice = await mapLimited(certificates, ADVICE_CONCURRENCY, (c) => caAdviceFor(c, config, (message) => context.warn(message)));
    const now = new Date();
    const body = certificates.map((certificate, index) => {
      const listener = (gateway.httpListeners ?? []).find((l) => l.protocol === 'Https' && [l.hostName, ...(l.hostNames ?? [])].includes(certificate.hostname));
      const rule = listener && (gateway.requestRoutingRules ?? []).some((r) => r.httpListener?.id?.toLowerCase().endsWith(`/httplisteners/${listener.name?.toLowerCase()}`));
      return {
        hostname: certificate.hostname,
        source: certificate.source,
        keyVaultName: certificate.name,
        version: certificate.version,
        expiresOn: certificate.notAfter.toISOString(),
        daysLeft: daysLeft(certificate, now),
        nextRenewal: certificate.source === 'acme' ? nextRenewal(certificate, config.renewBeforeDays, advice[index]).toISOString() : null,
        renewalWindow: advice[index] ? { start: advice[index].window.start.toISOString(), end: advice[index].window.end.toISOString() } : null,
        gateway: { listener: !!listener, rule: !!rule },
      };
    });
    return { status: 200, jsonBody: body };
  } catch (error) {
    const typed = error instanceof CertbotError ? error : undefined;
    context.error(`Listing certificates failed: ${typed ? `${typed.code}: ${typed.detail}` : (error as Error).name}`);
    return problemResponse(502, 'Listing failed', typed ? `${typed.code}: the app could not read Key Vault or the gateway; see its logs.` : 'The app could not list certificates; see its logs.');
  }
}
