import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { GatewayAdapter } from '../azure/gateway';
import { KeyVaultAdapter } from '../azure/keyVault';
import { CertbotError } from '../domain/errors';
import { daysLeft, renewalDate } from '../domain/renewal';
import { configOrError, isConfig } from './inProgress';
import { problemResponse } from './problem';

/**
 * GET /api/certificates: every hostname this app manages, with its source, Key Vault name and
 * version, expiry, days left, next renewal date (imported certificates are not renewed: null)
 * and whether the gateway has its HTTPS listener and routing rule.
 */
export async function listCertificates(_request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const config = configOrError(context);
  if (!isConfig(config)) return config;
  try {
    const [certificates, gateway] = await Promise.all([new KeyVaultAdapter(config).listManaged(), new GatewayAdapter(config).read()]);
    const now = new Date();
    const body = certificates.map((certificate) => {
      const listener = (gateway.httpListeners ?? []).find((l) => l.protocol === 'Https' && [l.hostName, ...(l.hostNames ?? [])].includes(certificate.hostname));
      const rule = listener && (gateway.requestRoutingRules ?? []).some((r) => r.httpListener?.id?.toLowerCase().endsWith(`/httplisteners/${listener.name?.toLowerCase()}`));
      return {
        hostname: certificate.hostname,
        source: certificate.source,
        keyVaultName: certificate.name,
        version: certificate.version,
        expiresOn: certificate.notAfter.toISOString(),
        daysLeft: daysLeft(certificate, now),
        nextRenewal: certificate.source === 'acme' ? renewalDate(certificate, config.renewBeforeDays).toISOString() : null,
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
