import { createHash } from 'node:crypto';
import type { OrchestrationContext } from 'durable-functions';
import type { ChallengeSnapshot, OrderSnapshot } from '../acme/session';
import { problemError } from '../acme/problems';
import type { IssuedCertificate } from '../azure/keyVault';
import { stepStatus } from '../domain/customStatus';
import type { TxtChallenge } from '../activities/dnsTxtRecord';
import type { TxtLocation } from '../azure/dnsZones';
import type { ChallengeType } from '../domain/config';
import type { TxtVisibility } from '../dns/txtCheck';
import { CertbotError } from '../domain/errors';
import type { RefusedBinding } from '../domain/gatewayChange';
import type { HttpsBinding } from '../domain/gatewayPlan';
import { StepStatus } from '../domain/status';
import { Activities } from '../functions/names';
import { confirmServed } from './confirmServed';
import { applyGatewayChangeOrFail } from './gatewayWriter';
import { asStepError, backoffSeconds, Backoff, callStep, claimOrFail, failOrchestration, notifySuccess, releaseClaims, Step, StepFailure, ValidationPolling, wait } from './steps';
import type { SelfSignedFallbackOutcome } from '../activities/selfSignedFallback';
import { selfSignedFallbackApplies } from '../domain/selfSignedFallback';
import { NOT_COUNTED_FAILURES } from '../domain/failureBackoff';

/**
 * AddCertificateFunctions: issue an ACME certificate for one hostname (or a certificate's several
 * names) over HTTP-01 or DNS-01 and bind it to the gateway. Reads like the contract's step list;
 * each step is one activity.
 */
/** Run by the multiple-hostname orchestration: issue only; it writes the gateway once for all. */
export interface DeferredIssuance {
  hostname: string;
  deferGatewayConfiguration: true;
  challengeType?: ChallengeType;
  /** A certificate for several names: the names after `hostname`. */
  additionalNames?: string[];
  /** The ACME profile the order names (draft-aaron-acme-profiles); absent: none sent. */
  profile?: string;
}

/** A request that names its challenge type (the contract's input, a bare hostname, means http-01). */
export interface IssuanceRequest {
  hostname: string;
  challengeType: ChallengeType;
  additionalNames?: string[];
  /** The ACME profile the order names, decided by the starter (the request's or AcmeProfile) or the certificate renewed; absent: none sent. */
  profile?: string;
  /**
   * Started by renew-now: what went live is a renewal (the success notice says `renewed`). Absent
   * on a first request, and on inputs from before the flag, which therefore count as issued.
   */
  renewal?: true;
  /** SelfSignedFallback was on when a first request started: a failed issuance binds a self-signed stand-in. */
  selfSignedFallback?: true;
}

/**
 * What the renewal timer started before renewal runs (one AddMultipleCertificates run per tick):
 * still read, so that instances in flight across an upgrade finish as they began.
 */
export interface ScheduledRenewal {
  hostname: string;
  startDelaySeconds: number;
}

/** The Completed output of a DNS-01 issuance: whether the name points at the gateway yet (before a cut-over it need not). */
export interface Dns01Outcome {
  hostname: string;
  challengeType: 'dns-01';
  pointsAtGateway: boolean;
}

export interface IssuanceResult {
  hostname: string;
  pointsAtGateway?: boolean;
  binding: HttpsBinding;
  serialNumber: string;
  notAfter: string;
}

export function* addCertificateOrchestrator(context: OrchestrationContext): Step<IssuanceResult | Dns01Outcome | null> {
  // The contract's input is the hostname itself; sub-orchestrations and DNS-01 requests pass an object.
  const input = context.df.getInput<string | IssuanceRequest | DeferredIssuance | ScheduledRenewal>();
  const hostname = typeof input === 'string' ? input : input.hostname;
  const challengeType: ChallengeType = typeof input !== 'string' && 'challengeType' in input && input.challengeType ? input.challengeType : 'http-01';
  const dns01 = challengeType === 'dns-01';
  const additionalNames = typeof input !== 'string' && 'additionalNames' in input ? (input.additionalNames ?? []) : [];
  const profile = typeof input !== 'string' && 'profile' in input ? input.profile : undefined;
  // Every name of the certificate, the hostname first (the one it is managed by).
  const names = [hostname, ...additionalNames];
  const deferred = typeof input !== 'string' && 'deferGatewayConfiguration' in input;
  // Renewal is the caller's intent, carried in the input (replay reads the same): renew-now sets the
  // flag; a ScheduledRenewal is the renewal timer's older per-hostname input.
  const renewal = typeof input !== 'string' && (('renewal' in input && input.renewal === true) || 'startDelaySeconds' in input);
  const fallback = typeof input !== 'string' && 'selfSignedFallback' in input && input.selfSignedFallback === true && !renewal;
  if (typeof input !== 'string' && 'startDelaySeconds' in input && input.startDelaySeconds > 0) {
    yield* wait(context, input.startDelaySeconds);
  }
  // This run, for the failure back-off (the instance id is reused by every run for the hostname).
  const run = `${context.df.instanceId}@${context.df.currentUtcDateTime.toISOString()}`;
  let step: StepStatus = 'GetApplicationGatewayPublicIpStep';
  const report = (status: StepStatus): void => {
    step = status;
    context.df.setCustomStatus(stepStatus(status));
  };
  // The validation files and DNS-01 TXT values this run may have written (deleted once the CA has
  // decided, or if the run fails): one per authorization of the order.
  let pendingTokens: string[] = [];
  let pendingTxts: TxtChallenge[] = [];
  // The Key Vault create this run made and has not merged yet (deleted if the run fails).
  let pendingCreate: { certificateName: string; run: string } | undefined;

  try {
    // The first contract step shows from the start; holding the hostname is part of it.
    report('GetApplicationGatewayPublicIpStep');
    if (!deferred) yield* claimOrFail(context, names);
    const gatewayIps = yield* callStep<string[]>(context, Activities.GetGatewayPublicIps);
    // Room on the gateway is counted before the CA is asked (a batch counts for all its hostnames).
    if (!deferred) {
      const [noRoom] = yield* callStep<RefusedBinding[]>(context, Activities.CheckGatewayCapacity, { hostnames: [hostname], ...(additionalNames.length ? { additionalNames: { [hostname]: additionalNames } } : {}) });
      if (noRoom) throw new StepFailure({ code: noRoom.code, detail: noRoom.detail });
    }

    report('CheckDnsResolutionStep');
    let pointsAtGateway = true;
    for (const name of names) {
      const answer = yield* callStep<{ pointsAtGateway: boolean }>(context, Activities.CheckDnsResolution, { hostname: name, gatewayIps, mustPointAtGateway: !dns01 });
      pointsAtGateway &&= answer.pointsAtGateway;
    }

    report('CheckCaaRecordsStep');
    for (const name of names) yield* callStep(context, Activities.CheckCaaRecords, { hostname: name, validationMethod: challengeType });

    report('GetAcmeOrderStep');
    let order = yield* callStep<OrderSnapshot>(context, Activities.CreateAcmeOrder, { hostname, ...(additionalNames.length ? { names } : {}), ...(profile === undefined ? {} : { profile }) });
    // What the rate-limit accounting counted for this order's certificate (given back if it cannot issue).
    const rateLimitKeys = order.rateLimitKeys ?? [];

    if (order.status === 'pending') {
      const getChallenge = dns01 ? Activities.GetDns01Challenge : Activities.GetHttp01Challenge;
      // Every authorization is answered before any is awaited: the CA validates them side by side.
      // DNS-01 writes every TXT value first and waits for them together: Azure DNS takes up to a
      // minute to reach its name servers, once for all names rather than once per name.
      const dnsAnswers: { txt: TxtChallenge; challengeUrl: string }[] = [];
      for (const authorizationUrl of order.authorizations) {
        report(dns01 ? 'GetAcmeDns01ChallengeStep' : 'GetAcmeHttp01ChallengeStep');
        const challenge = yield* callStep<ChallengeSnapshot>(context, getChallenge, { authorizationUrl });
        if (challenge.authorizationStatus !== 'pending') continue;
        // The name this authorization proves (a wildcard's is its base name, flagged wildcard).
        const proven = challenge.identifier ?? hostname;
        if (dns01) {
          report('CreateDnsTxtRecordStep');
          // Recorded before the write, so that a create that wrote and then failed is cleaned up too.
          pendingTxts = [...pendingTxts, { hostname: proven, value: challenge.keyAuthorization }];
          const location = yield* callStep<TxtLocation>(context, Activities.CreateDnsTxtRecord, pendingTxts[pendingTxts.length - 1]);
          const txt: TxtChallenge = { hostname: proven, value: challenge.keyAuthorization, location };
          pendingTxts = [...pendingTxts.slice(0, -1), txt];
          dnsAnswers.push({ txt, challengeUrl: challenge.challengeUrl });
        } else {
          report('UploadValidationFileToBlobStorageStep');
          pendingTokens = [...pendingTokens, challenge.token];
          yield* callStep(context, Activities.UploadValidationFile, {
            hostname: proven,
            token: challenge.token,
            keyAuthorization: challenge.keyAuthorization,
          });

          report('AnswerAcmeHttp01ChallengeStep');
          yield* callStep(context, Activities.AnswerHttp01Challenge, { challengeUrl: challenge.challengeUrl });
        }
      }
      if (dnsAnswers.length > 0) {
        report('CheckDnsTxtRecordStep');
        for (const { txt } of dnsAnswers) yield* awaitTxtOnNameServers(context, txt);

        report('AnswerAcmeDns01ChallengeStep');
        for (const { challengeUrl } of dnsAnswers) yield* callStep(context, Activities.AnswerDns01Challenge, { challengeUrl });
      }

      report('CheckAcmeOrderStep');
      for (const [index, authorizationUrl] of order.authorizations.entries()) {
        try {
          yield* awaitAuthorization(context, authorizationUrl, getChallenge, rateLimitKeys, order.url);
        } catch (error) {
          // Every authorization was answered, so the CA validates and counts each: the others are read
          // once, so that those that failed too are counted by the app as well (rate-limit accounting).
          for (const other of order.authorizations.slice(index + 1)) yield* quietly(context, getChallenge, { authorizationUrl: other, rateLimitKeys, orderUrl: order.url });
          throw error;
        }
      }

      if (pendingTxts.length > 0) {
        // The CA has decided: the records have done their work, and a TXT left behind is clutter in the zone.
        report('DeleteDnsTxtRecordStep');
        // Not quiet: transient failures are retried, and what still fails (a permission taken away, the
        // zone gone) would leave a record behind on every issuance, so it is reported (the CA keeps the
        // authorization valid for a retry).
        for (const txt of pendingTxts) yield* callStep(context, Activities.DeleteDnsTxtRecord, txt);
        pendingTxts = [];
      }
    }

    report('CreateCertificateStep');
    // Marks this run's create in Key Vault, so that a retry reuses it and a later run replaces it.
    // Not newGuid: that moves the context's guid counter, which would change the request ids of
    // instances replaying across this upgrade (their gateway requests would never be answered).
    const createRun = runTag(context);
    const { certificateName, csrPem } = yield* callStep<{ certificateName: string; csrPem: string }>(
      context,
      Activities.CreateCertificateSigningRequest,
      { hostname, run: createRun, ...(dns01 ? { challengeType } : {}), ...(additionalNames.length ? { names } : {}), ...(profile === undefined ? {} : { profile }) },
    );
    pendingCreate = { certificateName, run: createRun };
    if (order.status === 'pending' || order.status === 'ready') {
      order = yield* callStep<OrderSnapshot>(context, Activities.FinalizeAcmeOrder, { order, csrPem });
    }
    order = yield* awaitOrder(context, order);
    const issued = yield* callStep<IssuedCertificate>(context, Activities.MergeIssuedCertificate, {
      order,
      certificateName,
      names,
    });
    pendingCreate = undefined;

    if (pendingTokens.length > 0) {
      report('DeleteValidationFileFromBlobStorageStep');
      for (const token of pendingTokens) yield* callStep(context, Activities.DeleteValidationFile, { token });
      pendingTokens = [];
    }

    const binding: HttpsBinding = { hostname, ...(additionalNames.length ? { hostnames: names } : {}), name: issued.name, keyVaultSecretId: issued.secretId, refresh: true };
    if (deferred) {
      yield* quietly(context, Activities.RecordIssuanceOutcome, { hostname });
      report('Completed');
      return { hostname, binding, serialNumber: issued.serialNumber, notAfter: issued.notAfter, ...(dns01 ? { pointsAtGateway } : {}) };
    }
    report('ConfigureApplicationGatewayStep');
    yield* bindAndConfirm(context, binding, issued.serialNumber, gatewayIps);

    yield* releaseClaims(context, names);
    yield* notifySuccess(context, {
      instanceId: context.df.instanceId,
      ...(renewal ? { renewal: true } : {}),
      certificates: [{ hostname, ...(additionalNames.length ? { names } : {}), certificateName: issued.name, notAfter: issued.notAfter, challengeType }],
    });
    // Last, after every step this run had before the back-off existed: an instance replaying across the upgrade meets it where its history ends.
    yield* quietly(context, Activities.RecordIssuanceOutcome, { hostname });
    report('Completed');
    return dns01 ? { hostname, challengeType, pointsAtGateway } : null;
  } catch (error) {
    for (const token of pendingTokens) yield* deleteQuietly(context, token);
    for (const txt of pendingTxts) yield* quietly(context, Activities.DeleteDnsTxtRecord, txt);
    if (pendingCreate) yield* quietly(context, Activities.DiscardPendingCertificate, pendingCreate);
    const { code } = asStepError(error);
    // Still holding the names: the stand-in's gateway write is this run's.
    const standIn = fallback && !deferred && selfSignedFallbackApplies(code, step) ? yield* bindSelfSignedStandIn(context, hostname, names, dns01, profile) : undefined;
    // Inside a batch the batch holds the hostname, and reports once for all its hostnames.
    if (!deferred) yield* releaseClaims(context, names);
    // The hostname's next automatic attempt waits (1 min, 10 min, 100 min, then daily). Late in the
    // run (only the failure notice follows), so that few instances replaying across the upgrade meet it mid-history.
    if (!NOT_COUNTED_FAILURES.has(code)) yield* quietly(context, Activities.RecordIssuanceOutcome, { hostname, failure: { code, run } });
    return yield* failOrchestration(context, error, { failedStep: step, hostname, ...(standIn ? { selfSignedFallback: standIn } : {}) }, !deferred);
  }
}

/**
 * SelfSignedFallback: Key Vault makes a self-signed certificate for the new hostname and the gateway
 * gets its listener and rule, so the name answers HTTPS (with a warning) until issuance succeeds.
 * What happened goes into the failure record; a failure here never hides the issuance's own.
 */
function* bindSelfSignedStandIn(context: OrchestrationContext, hostname: string, names: string[], dns01: boolean, profile: string | undefined): Step<SelfSignedStandIn | undefined> {
  try {
    // The challenge type and profile go on it, so the renewal timer orders the real one as the request asked.
    const outcome = yield* callStep<SelfSignedFallbackOutcome>(context, Activities.CreateSelfSignedFallback, { hostname, ...(names.length > 1 ? { names } : {}), ...(dns01 ? { challengeType: 'dns-01' } : {}), ...(profile === undefined ? {} : { profile }) });
    if ('disabled' in outcome) return undefined;
    if ('kept' in outcome) return { bound: false, detail: `Not bound: the hostname has a certificate of its own (${outcome.kept}), which a stand-in never replaces.` };
    const { certificate } = outcome;
    context.df.setCustomStatus(stepStatus('ConfigureApplicationGatewayStep'));
    yield* applyGatewayChangeOrFail(context, [{ hostname, ...(names.length > 1 ? { hostnames: names } : {}), name: certificate.name, keyVaultSecretId: certificate.secretId, refresh: true }]);
    return { bound: true, certificateName: certificate.name, notAfter: certificate.notAfter, detail: 'A self-signed certificate is on the listener until issuance succeeds; browsers warn on it.' };
  } catch (error) {
    const info = asStepError(error);
    return { bound: false, detail: `The self-signed stand-in failed: ${info.code}: ${info.detail}` };
  }
}

export interface SelfSignedStandIn {
  bound: boolean;
  certificateName?: string;
  notAfter?: string;
  detail: string;
}

/**
 * ConfigureApplicationGatewayStep for one certificate: bind it (through the one gateway writer)
 * and confirm the gateway serves it, or fail with the code that says why not. Also the end of a
 * revocation's replacement, whose issuance runs deferred (src/orchestrators/revokeCertificate.ts).
 */
export function* bindAndConfirm(context: OrchestrationContext, binding: HttpsBinding, serialNumber: string, gatewayIps?: string[]): Step<void> {
  yield* applyGatewayChangeOrFail(context, [binding]);
  const [notLive] = yield* confirmServed(context, [{ binding, serialNumber }], gatewayIps);
  if (notLive) throw new StepFailure({ code: notLive.code, detail: notLive.detail });
}

/** The validation file must not outlive a failure; a failing delete must not hide the first error. */
function* deleteQuietly(context: OrchestrationContext, token: string): Step<void> {
  yield* quietly(context, Activities.DeleteValidationFile, { token });
}

/** Clean-up after a failure: the original failure is what the user must act on, not the clean-up's. */
function* quietly(context: OrchestrationContext, activityName: string, input: unknown): Step<void> {
  try {
    yield* callStep(context, activityName, input);
  } catch {
    // Left for the next run, which handles it (a leftover create is replaced, a file overwritten).
  }
}

/** Fetches until settled, waiting by the backoff; past its budget fails with `tooLong(last value)`. */
function* pollUntilSettled<T extends { retryAfterSeconds?: number }>(
  context: OrchestrationContext,
  fetch: () => Step<T>,
  settled: (value: T) => boolean,
  backoff: Backoff,
  tooLong: (last: T) => CertbotError,
): Step<T> {
  let waited = 0;
  for (let attempt = 0; ; attempt++) {
    const value = yield* fetch();
    if (settled(value)) return value;
    const pause = backoffSeconds(backoff, attempt, value.retryAfterSeconds);
    if (waited + pause > backoff.budgetSeconds) throw StepFailure.of(tooLong(value));
    waited += pause;
    yield* wait(context, pause);
  }
}

/** Azure DNS reaches its name servers within about a minute (Learn, Azure DNS FAQ); ten is generous. */
const TxtPropagation: Backoff = { firstSeconds: 2, maxSeconds: 20, budgetSeconds: 10 * 60 };

/** Answering before every name server has the record would let the CA ask one that does not, and fail. */
function* awaitTxtOnNameServers(context: OrchestrationContext, txt: TxtChallenge): Step<void> {
  // (Name servers send no Retry-After: the backoff alone paces the checks.)
  yield* pollUntilSettled<TxtVisibility & { retryAfterSeconds?: number }>(
    context,
    () => callStep<TxtVisibility>(context, Activities.CheckDnsTxtRecord, txt),
    (check) => check.visible,
    TxtPropagation,
    ({ missingOn }) =>
      new CertbotError('DnsTxtRecordNotVisible', `After ${TxtPropagation.budgetSeconds / 60} minutes the TXT record for ${txt.hostname} is still missing on ${missingOn.join(', ') || "the zone's name servers"}.`),
  );
}

function* awaitAuthorization(context: OrchestrationContext, authorizationUrl: string, getChallenge: string, rateLimitKeys: string[], orderUrl: string): Step<void> {
  yield* wait(context, ValidationPolling.firstSeconds);
  const authz = yield* pollUntilSettled(
    context,
    // The read that sees the authorization invalid counts it for the rate limits (src/activities/acmeOrder.ts).
    () => callStep<ChallengeSnapshot>(context, getChallenge, { authorizationUrl, rateLimitKeys, orderUrl }),
    (a) => a.authorizationStatus !== 'pending',
    ValidationPolling,
    () => new CertbotError('AcmeOrderFailed', `The CA did not finish validating the hostname within ${ValidationPolling.budgetSeconds / 60} minutes.`),
  );
  if (authz.authorizationStatus !== 'valid') {
    const problem = authz.problem ?? {
      type: 'urn:ietf:params:acme:error:unauthorized',
      detail: `authorization is ${authz.authorizationStatus}`,
      status: 403,
    };
    throw StepFailure.of(problemError(problem));
  }
}

function* awaitOrder(context: OrchestrationContext, order: OrderSnapshot): Step<OrderSnapshot> {
  if (order.status === 'valid') return order;
  yield* wait(context, ValidationPolling.firstSeconds);
  const settledOrder = yield* pollUntilSettled(
    context,
    () => callStep<OrderSnapshot>(context, Activities.GetAcmeOrder, { orderUrl: order.url }),
    (o) => o.status === 'valid' || o.status === 'invalid',
    ValidationPolling,
    () => new CertbotError('AcmeOrderFailed', `The CA did not finish issuing the certificate within ${ValidationPolling.budgetSeconds / 60} minutes.`),
  );
  if (settledOrder.status !== 'valid') {
    throw StepFailure.of(
      problemError(
        settledOrder.problem ?? { type: 'urn:ietf:params:acme:error:serverInternal', detail: 'order became invalid', status: 500 },
      ),
    );
  }
  return settledOrder;
}

/**
 * This run's id for its Key Vault create: the instance and the replay-safe time it reached this
 * step, hashed (a pure function, so deterministic) to fit a Key Vault tag value (256 characters).
 */
function runTag(context: OrchestrationContext): string {
  return createHash('sha256').update(`${context.df.instanceId}@${context.df.currentUtcDateTime.toISOString()}`).digest('hex').slice(0, 32);
}
