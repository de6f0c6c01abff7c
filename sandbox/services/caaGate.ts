import { CaaLookup, CaaProblem, checkCaa } from './caaCheck';

/**
 * The ACME proxy's CAA state: what it relayed of Pebble's authorizations and orders, the CAA check
 * when a client answers a challenge, and the rewriting of later answers for a refused authorization.
 *
 * Boulder checks CAA as part of validating a challenge (ra.checkDCVAndCAA); a refused authorization
 * ends `invalid` with a `caa` (or `dns`) problem on its attempted challenge (sa/model.go: once a
 * challenge was attempted only that one is listed), its orders are `invalid`, and a finalize of
 * them is 403 orderNotReady (wfe2 FinalizeOrder; RFC 8555 section 7.4). Pebble cannot be told to
 * fail a validation, so the proxy lets Pebble check the request (JWS, nonce, ownership) and then
 * shows the refusal in place of whatever Pebble's validator concludes.
 */
export interface CaaRefusal {
  /** The identifier as the order has it (`*.` first for a wildcard). */
  identifier: string;
  accountUri: string;
  validationMethod: string;
  authorizationUrl: string;
  challengeUrl: string;
  problem: CaaProblem;
  /** When the check refused (the challenge's `validated`, as Boulder records the attempt). */
  at: Date;
}

interface SeenChallenge {
  authzPath: string;
  identifier: string;
  identifierType: string;
  type: string;
}

export type ChallengeDecision =
  | { kind: 'forward'; refusal?: CaaRefusal }
  | { kind: 'answer'; status: number; type: string; detail: string };

const pathOf = (url: string): string => {
  try {
    return new URL(url, 'https://proxy.invalid').pathname;
  } catch {
    return url;
  }
};

type Json = Record<string, unknown>;

export class CaaGate {
  readonly refusals: CaaRefusal[] = [];
  /** CAA checks made (kept out of `Counters`: its `acme` counts are summed as ACME requests by tests and the bench). */
  checks = 0;
  private readonly challenges = new Map<string, SeenChallenge>();
  private readonly authzStatus = new Map<string, string>();
  private readonly refusedAuthz = new Map<string, CaaRefusal>();
  private readonly orderAuthzs = new Map<string, string[]>();
  private readonly orderOfFinalize = new Map<string, string>();

  constructor(
    private readonly lookup: CaaLookup,
    readonly issuerDomain: string,
  ) {}

  /** Pebble's authorization, as relayed at `path`: remembers its challenges and identifier; returns the client's view. */
  authz(path: string, body: Json): Json {
    const authzPath = pathOf(path);
    const identifier = (body.identifier ?? {}) as { type?: string; value?: string };
    const value = String(identifier.value ?? '');
    // Pebble (wfe.go) strips "*." from a wildcard authorization's identifier and sets `wildcard`.
    const orderName = body.wildcard === true && !value.startsWith('*.') ? `*.${value}` : value;
    for (const challenge of (body.challenges ?? []) as Json[]) {
      if (typeof challenge.url !== 'string') continue;
      this.challenges.set(pathOf(challenge.url), { authzPath, identifier: orderName, identifierType: String(identifier.type ?? ''), type: String(challenge.type ?? '') });
    }
    if (typeof body.status === 'string') this.authzStatus.set(authzPath, body.status);
    const refusal = this.refusedAuthz.get(authzPath);
    if (!refusal) return body;
    const attempted = ((body.challenges ?? []) as Json[]).find((c) => typeof c.url === 'string' && pathOf(c.url) === pathOf(refusal.challengeUrl));
    return { ...body, status: 'invalid', challenges: [this.refusedChallenge(attempted ?? { type: refusal.validationMethod, url: refusal.challengeUrl }, refusal)] };
  }

  /** Pebble's order (newOrder, order, finalize answers): remembers its authorizations; invalid when one was refused. */
  order(orderPath: string, body: Json): Json {
    const authzs = ((body.authorizations ?? []) as unknown[]).filter((a): a is string => typeof a === 'string').map(pathOf);
    this.orderAuthzs.set(pathOf(orderPath), authzs);
    if (typeof body.finalize === 'string') this.orderOfFinalize.set(pathOf(body.finalize), pathOf(orderPath));
    // RFC 8555 section 7.1.6: an order is invalid once one of its authorizations is.
    return authzs.some((a) => this.refusedAuthz.has(a)) ? { ...body, status: 'invalid' } : body;
  }

  /** Pebble's challenge object at `path`, as the client should see it. */
  challenge(path: string, body: Json): Json {
    const seen = this.challenges.get(pathOf(path));
    const refusal = seen && this.refusedAuthz.get(seen.authzPath);
    return refusal && pathOf(refusal.challengeUrl) === pathOf(path) ? this.refusedChallenge(body, refusal) : body;
  }

  /** The challenge POST's own answer once Pebble accepted it: RFC 8555 section 7.5.1, validation under way. */
  accepted(body: Json): Json {
    return { ...body, status: 'processing' };
  }

  /**
   * A client answers the challenge at `path`: check CAA (Boulder: only for a pending authorization of a
   * DNS identifier). A refusal is returned to be committed with `commit` once Pebble accepted the POST.
   */
  async beforeChallenge(path: string, challengeUrl: string, accountUri: string): Promise<ChallengeDecision> {
    const seen = this.challenges.get(pathOf(path));
    if (!seen) {
      // Every challenge URL reaches a client in an authorization this proxy relayed; one it never saw cannot be checked.
      return { kind: 'answer', status: 500, type: 'urn:ietf:params:acme:error:serverInternal', detail: 'The sandbox ACME proxy never relayed this challenge, so it cannot check CAA for it' };
    }
    if (this.refusedAuthz.has(seen.authzPath)) {
      // Boulder RA PerformValidation on a non-pending authorization; wfe2 prefixes "Unable to update challenge".
      return { kind: 'answer', status: 400, type: 'urn:ietf:params:acme:error:malformed', detail: 'Unable to update challenge :: authorization must be pending' };
    }
    // Boulder: a valid authorization is returned as is, without validation or CAA (wfe2 postChallenge);
    // other non-pending states are Pebble's to refuse. IP identifiers have no CAA (ra.checkDCVAndCAA).
    if (this.authzStatus.get(seen.authzPath) !== 'pending' || seen.identifierType !== 'dns') return { kind: 'forward' };
    this.checks += 1;
    const decision = await checkCaa({ identifier: seen.identifier, accountUri, validationMethod: seen.type, issuerDomain: this.issuerDomain }, this.lookup);
    if (decision.allowed) return { kind: 'forward' };
    const authorizationUrl = new URL(seen.authzPath, challengeUrl).href;
    return {
      kind: 'forward',
      refusal: { identifier: seen.identifier, accountUri, validationMethod: seen.type, authorizationUrl, challengeUrl, problem: decision.problem, at: new Date() },
    };
  }

  commit(refusal: CaaRefusal): void {
    const authzPath = pathOf(refusal.authorizationUrl);
    if (this.refusedAuthz.has(authzPath)) return;
    this.refusedAuthz.set(authzPath, refusal);
    this.refusals.push(refusal);
  }

  /** A finalize of an order holding a refused authorization: Boulder wfe2 FinalizeOrder's 403 orderNotReady. */
  finalizeRefusal(finalizePath: string): { status: number; type: string; detail: string } | undefined {
    const orderPath = this.orderOfFinalize.get(pathOf(finalizePath));
    const authzs = orderPath ? (this.orderAuthzs.get(orderPath) ?? []) : [];
    if (!authzs.some((a) => this.refusedAuthz.has(a))) return undefined;
    return { status: 403, type: 'urn:ietf:params:acme:error:orderNotReady', detail: 'Order\'s status ("invalid") is not acceptable for finalization' };
  }

  private refusedChallenge(challenge: Json, refusal: CaaRefusal): Json {
    return { ...challenge, status: 'invalid', validated: refusal.at.toISOString(), error: refusal.problem };
  }
}
