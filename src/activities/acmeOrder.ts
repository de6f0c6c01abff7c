import { AcmeSession, ChallengeSnapshot, OrderSnapshot } from '../acme/session';
import { RateLimitLedgerStore } from '../azure/rateLimitLedger';
import { CertbotError } from '../domain/errors';
import { activity, StepServices } from './context';

/**
 * GetAcmeOrderStep: a new order for the hostname (the CA reuses still-valid authorizations). A
 * renewal names the certificate it replaces (RFC 9773), so the CA can relax its limits for it; a
 * `profile` is sent as the order's (draft-aaron-acme-profiles).
 */
export const createAcmeOrder = activity<{ hostname: string; names?: string[]; profile?: string }, OrderSnapshot>(async ({ hostname, names, profile }, { config, keyVault, locks }) => {
  const session = await AcmeSession.open(config, keyVault, locks);
  const ledger = new RateLimitLedgerStore(config);
  let rateLimitKeys: string[] = [];
  let reserved: { withReplaces: boolean } | undefined;
  // Counted before each request is sent (an ARI renewal, then without `replaces` if the CA refuses
  // it); an order that would exceed a limit is not sent (AcmeRateLimitWouldBeExceeded).
  const replaces = await keyVault.replacedCertificateId(hostname, config.acmeEndpoint);
  try {
    const order = await session.newOrder(hostname, replaces, names, profile, async (withReplaces) => {
      reserved = undefined;
      rateLimitKeys = (await ledger.reserve(session.accountUrl(), names ?? [hostname], withReplaces)).pendingKeys;
      reserved = { withReplaces };
    });
    return rateLimitKeys.length ? { ...order, rateLimitKeys } : order;
  } catch (error) {
    // This attempt's reservation is given back (the step is retried, and reserves again): a CA
    // outage must not use up the limits the CA itself never counted.
    if (reserved) {
      const orderNotCreated = error instanceof CertbotError && error.code !== 'CertificateAuthorityUnavailable';
      await ledger.release(session.accountUrl(), rateLimitKeys, orderNotCreated && !reserved.withReplaces).catch(() => undefined);
    }
    throw error;
  }
});

/**
 * The authorization and its challenge of `type`. Seen invalid, it is counted against its identifier
 * (the CA's failed-validation limit) and the order's certificate no longer is (it cannot issue now):
 * here, where the failure is first seen, before the name is free for another order; once per
 * authorization, however often it is read.
 */
async function challengeOf(
  { authorizationUrl, rateLimitKeys, orderUrl }: { authorizationUrl: string; rateLimitKeys?: string[]; orderUrl?: string },
  type: 'http-01' | 'dns-01',
  { config, keyVault, locks }: StepServices,
): Promise<ChallengeSnapshot> {
  const session = await AcmeSession.open(config, keyVault, locks);
  const snapshot = await session.challenge(authorizationUrl, type);
  if (snapshot.authorizationStatus === 'invalid') {
    await new RateLimitLedgerStore(config).failedAuthorization(session.accountUrl(), snapshot.identifier, rateLimitKeys ?? [], authorizationUrl, orderUrl);
  }
  return snapshot;
}

/** CheckAcmeOrderStep / CreateCertificateStep polling: the order as the CA sees it now. */
export const getAcmeOrder = activity<{ orderUrl: string }, OrderSnapshot>(async ({ orderUrl }, { config, keyVault, locks }) => {
  const session = await AcmeSession.open(config, keyVault, locks);
  return session.getOrder(orderUrl);
});

/** GetAcmeHttp01ChallengeStep and validation polling: the authorization and its http-01 challenge. */
export const getHttp01Challenge = activity<{ authorizationUrl: string; rateLimitKeys?: string[]; orderUrl?: string }, ChallengeSnapshot>((input, services) => challengeOf(input, 'http-01', services));

/** GetAcmeDns01ChallengeStep and its validation polling: the authorization and its dns-01 challenge (the TXT value). */
export const getDns01Challenge = activity<{ authorizationUrl: string; rateLimitKeys?: string[]; orderUrl?: string }, ChallengeSnapshot>((input, services) => challengeOf(input, 'dns-01', services));

/** AnswerAcmeHttp01ChallengeStep: tell the CA the file is in place. */
export const answerHttp01Challenge = activity<{ challengeUrl: string }, void>(async ({ challengeUrl }, { config, keyVault, locks }) => {
  const session = await AcmeSession.open(config, keyVault, locks);
  await session.answerChallenge(challengeUrl, 'http-01');
});

/** AnswerAcmeDns01ChallengeStep: tell the CA the TXT record is on the zone's name servers. */
export const answerDns01Challenge = activity<{ challengeUrl: string }, void>(async ({ challengeUrl }, { config, keyVault, locks }) => {
  const session = await AcmeSession.open(config, keyVault, locks);
  await session.answerChallenge(challengeUrl, 'dns-01');
});
