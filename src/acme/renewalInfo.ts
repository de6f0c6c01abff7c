import * as acme from 'acme-client';
import { CertbotError } from '../domain/errors';
import type { ManagedCertificate } from '../azure/keyVault';
import type { CertbotConfig } from '../domain/config';
import type { CaRenewalAdvice, SuggestedWindow } from '../domain/renewal';
import { parseRetryAfter } from './problems';
import { acmeDirectory } from './session';

/** Answers are kept for their Retry-After (RFC 9773 section 4.3: do not ask again sooner), at most a day. */
const DEFAULT_RETRY_AFTER_SECONDS = 6 * 3600;
const MAX_RETRY_AFTER_SECONDS = 24 * 3600;
const answers = new Map<string, { window: SuggestedWindow | undefined; until: number }>();

/**
 * ACME Renewal Information (RFC 9773): the CA says when it wants a certificate renewed, for
 * example early, before a mass revocation. GET renewalInfo/{certID} (section 4.2); undefined when
 * the CA offers no ARI or does not know the certificate (404); a typed error when the CA cannot
 * be reached or answers without a usable window.
 */
export async function fetchSuggestedWindow(directoryUrl: string, certificateId: string): Promise<SuggestedWindow | undefined> {
  const key = `${directoryUrl}|${certificateId}`;
  const cached = answers.get(key);
  if (cached && cached.until > Date.now()) return cached.window;
  const directory = await acmeDirectory(directoryUrl);
  const base = typeof directory.renewalInfo === 'string' ? directory.renewalInfo : undefined;
  if (!base) return undefined;
  const url = `${base.replace(/\/$/, '')}/${certificateId}`;
  let response: { status: number; data: unknown; headers: Record<string, unknown> };
  try {
    response = await acme.axios.get(url, { validateStatus: () => true, responseType: 'json' });
  } catch (error) {
    throw new CertbotError('CertificateAuthorityUnavailable', `GET ${url} failed: ${(error as Error).message}`, undefined, true);
  }
  const remember = (window: SuggestedWindow | undefined): SuggestedWindow | undefined => {
    const seconds = parseRetryAfter(response.headers['retry-after']) ?? DEFAULT_RETRY_AFTER_SECONDS;
    answers.set(key, { window, until: Date.now() + Math.min(seconds, MAX_RETRY_AFTER_SECONDS) * 1000 });
    return window;
  };
  if (response.status === 404) return remember(undefined);
  const window = (response.data as { suggestedWindow?: { start?: unknown; end?: unknown } } | undefined)?.suggestedWindow;
  const start = typeof window?.start === 'string' ? new Date(window.start) : undefined;
  const end = typeof window?.end === 'string' ? new Date(window.end) : undefined;
  if (response.status !== 200 || !start || !end || Number.isNaN(start.getTime()) || Number.isNaN(end.getTime()) || end < start) {
    throw new CertbotError('CertificateAuthorityUnavailable', `GET ${url} answered HTTP ${response.status} without a usable suggestedWindow.`, undefined, true);
  }
  return remember({ start, end });
}

/**
 * The CA's advice for one managed certificate: only ACME certificates this app issued from the
 * configured CA can be asked about. A failing lookup is reported through `warn` and yields no
 * advice, so the date rules still apply and one bad answer does not stop the others.
 */
export async function caAdviceFor(certificate: ManagedCertificate, config: CertbotConfig, warn: (message: string) => void): Promise<CaRenewalAdvice | undefined> {
  const certificateId = certificate.renewalCertificateId;
  if (certificate.source !== 'acme' || !certificateId || certificate.acmeEndpoint !== config.acmeEndpoint.href) return undefined;
  try {
    const window = await fetchSuggestedWindow(config.acmeEndpoint.href, certificateId);
    return window ? { window, certificateId } : undefined;
  } catch (error) {
    warn(`Renewal information for ${certificate.hostname} unavailable, using the date rules: ${(error as Error).message}`);
    return undefined;
  }
}
