import { CertbotError, ErrorCode } from '../domain/errors';

/** An RFC 8555 section 6.7 problem document as the CA sent it, plus the HTTP facts around it. */
export interface AcmeProblem {
  type: string;
  detail: string;
  status: number;
  retryAfterSeconds?: number;
}

const PREFIX = 'urn:ietf:params:acme:error:';

/** Which problem types mean what to the user (RFC 8555 section 6.7, RFC 8657 for caa). */
const CODES: Record<string, ErrorCode> = {
  rateLimited: 'AcmeRateLimited',
  rejectedIdentifier: 'AcmeIdentifierRejected',
  unsupportedIdentifier: 'AcmeIdentifierRejected',
  caa: 'AcmeCaaForbidden',
  unauthorized: 'AcmeChallengeFailed',
  connection: 'AcmeChallengeFailed',
  dns: 'AcmeChallengeFailed',
  incorrectResponse: 'AcmeChallengeFailed',
  tls: 'AcmeChallengeFailed',
  accountDoesNotExist: 'AcmeAccountFailed',
  invalidContact: 'AcmeAccountFailed',
  unsupportedContact: 'AcmeAccountFailed',
  externalAccountRequired: 'AcmeExternalAccountRequired',
  // draft-aaron-acme-profiles: a newOrder naming a profile the CA does not offer.
  invalidProfile: 'AcmeProfileInvalid',
  userActionRequired: 'AcmeAccountFailed',
  serverInternal: 'CertificateAuthorityUnavailable',
};

export function problemCode(problem: Pick<AcmeProblem, 'type' | 'status'>): ErrorCode {
  const short = problem.type.startsWith(PREFIX) ? problem.type.slice(PREFIX.length) : problem.type;
  if (CODES[short]) return CODES[short];
  if (problem.status === 429) return 'AcmeRateLimited';
  if (problem.status >= 500) return 'CertificateAuthorityUnavailable';
  return 'AcmeOrderFailed';
}

/** Transient on the CA's side: worth waiting for (Retry-After) and trying again. */
export function isTransientProblem(problem: AcmeProblem): boolean {
  return problem.status >= 500 || problem.type === `${PREFIX}badNonce`;
}

export function problemError(problem: AcmeProblem): CertbotError {
  const detail = `${problem.type}: ${problem.detail} (HTTP ${problem.status})`;
  return new CertbotError(problemCode(problem), detail, problem.retryAfterSeconds, isTransientProblem(problem));
}

/** The problem document an authorization or challenge carries after it became invalid. */
export function describeEmbeddedProblem(error: unknown): AcmeProblem | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { type, detail, status } = error as Record<string, unknown>;
  if (typeof type !== 'string') return undefined;
  return { type, detail: typeof detail === 'string' ? detail : '', status: typeof status === 'number' ? status : 403 };
}

export { parseRetryAfter } from '../domain/retryAfter';
