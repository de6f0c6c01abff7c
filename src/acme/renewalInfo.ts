import * as acme from 'acme-client';
import { CertbotError } from '../domain/errors';
import type { SuggestedWindow } from '../domain/renewal';
import { acmeDirectory } from './session';

/**
 * ACME Renewal Information (RFC 9773): the CA says when it wants a certificate renewed, for
 * example early, before a mass revocation. GET renewalInfo/{certID} (section 4.2); undefined when
 * the CA offers no ARI or does not know the certificate (404); a typed error when the CA cannot
 * be reached or answers without a usable window.
 */
export async function fetchSuggestedWindow(directoryUrl: string, certificateId: string): Promise<SuggestedWindow | undefined> {
  const directory = await acmeDirectory(directoryUrl);
  const base = typeof directory.renewalInfo === 'string' ? directory.renewalInfo : undefined;
  if (!base) return undefined;
  const url = `${base.replace(/\/$/, '')}/${certificateId}`;
  let response: { status: number; data: unknown };
  try {
    response = await acme.axios.get(url, { validateStatus: () => true, responseType: 'json' });
  } catch (error) {
    throw new CertbotError('CertificateAuthorityUnavailable', `GET ${url} failed: ${(error as Error).message}`, undefined, true);
  }
  if (response.status === 404) return undefined;
  const window = (response.data as { suggestedWindow?: { start?: unknown; end?: unknown } } | undefined)?.suggestedWindow;
  const start = typeof window?.start === 'string' ? new Date(window.start) : undefined;
  const end = typeof window?.end === 'string' ? new Date(window.end) : undefined;
  if (response.status !== 200 || !start || !end || Number.isNaN(start.getTime()) || Number.isNaN(end.getTime()) || end < start) {
    throw new CertbotError('CertificateAuthorityUnavailable', `GET ${url} answered HTTP ${response.status} without a usable suggestedWindow.`, undefined, true);
  }
  return { start, end };
}
