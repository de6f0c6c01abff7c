import { AcmeSession, ChallengeSnapshot, OrderSnapshot } from '../acme/session';
import { activity } from './context';

/**
 * GetAcmeOrderStep: a new order for the hostname (the CA reuses still-valid authorizations). A
 * renewal names the certificate it replaces (RFC 9773), so the CA can relax its limits for it; a
 * `profile` is sent as the order's (draft-aaron-acme-profiles).
 */
export const createAcmeOrder = activity<{ hostname: string; names?: string[]; profile?: string }, OrderSnapshot>(async ({ hostname, names, profile }, { config, keyVault, locks }) => {
  const session = await AcmeSession.open(config, keyVault, locks);
  return session.newOrder(hostname, await keyVault.replacedCertificateId(hostname, config.acmeEndpoint), names, profile);
});

/** CheckAcmeOrderStep / CreateCertificateStep polling: the order as the CA sees it now. */
export const getAcmeOrder = activity<{ orderUrl: string }, OrderSnapshot>(async ({ orderUrl }, { config, keyVault, locks }) => {
  const session = await AcmeSession.open(config, keyVault, locks);
  return session.getOrder(orderUrl);
});

/** GetAcmeHttp01ChallengeStep and validation polling: the authorization and its http-01 challenge. */
export const getHttp01Challenge = activity<{ authorizationUrl: string }, ChallengeSnapshot>(
  async ({ authorizationUrl }, { config, keyVault, locks }) => {
    const session = await AcmeSession.open(config, keyVault, locks);
    return session.challenge(authorizationUrl, 'http-01');
  },
);

/** GetAcmeDns01ChallengeStep and its validation polling: the authorization and its dns-01 challenge (the TXT value). */
export const getDns01Challenge = activity<{ authorizationUrl: string }, ChallengeSnapshot>(
  async ({ authorizationUrl }, { config, keyVault, locks }) => {
    const session = await AcmeSession.open(config, keyVault, locks);
    return session.challenge(authorizationUrl, 'dns-01');
  },
);

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
