/**
 * The document's component schemas: every request body and answer of the API, and the Durable
 * status body the check-status link answers. Status values and error codes are read from the
 * modules that define them (src/domain/status.ts, src/domain/errors.ts), so they never drift.
 */
import { ChallengeTypes } from '../domain/config';
import { ErrorMessages } from '../domain/errors';
import { MAX_NAMES_PER_CERTIFICATE } from '../domain/requests';
import type { CertificateState } from '../domain/renewal';
import { StepMessages } from '../domain/status';
import { RevocationReasonNames } from '../domain/revocation';
import { CONTRACT_LINKS } from '../http/checkStatus';
import type { Schema } from './types';

export const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const nullable = (schema: Schema): Schema => ({ anyOf: [schema, { type: 'null' }] });
const dateTime: Schema = { type: 'string', format: 'date-time' };

/** A Record, so that a state added to CertificateState without a description fails the build. */
const CERTIFICATE_STATES: Record<CertificateState, string> = {
  valid: 'its newest issued version is not expired',
  expired: 'its newest issued version is expired',
  pending: 'never issued; a Key Vault create is in progress',
  failed: 'never issued; its last attempt failed',
};

/** The Durable extension's OrchestrationRuntimeStatus names (DurableOrchestrationStatus.runtimeStatus). */
const RUNTIME_STATUSES = ['Pending', 'Running', 'Completed', 'ContinuedAsNew', 'Failed', 'Canceled', 'Terminated', 'Suspended'] as const;

const hostname: Schema = {
  type: 'string',
  minLength: 1,
  description:
    'A DNS name, canonicalised by the app (lower case, no trailing dot, IDN as its A-label). IP addresses, single labels and characters IDNA would change are refused; `*.<name>` only with DNS-01.',
  examples: ['www.example.com'],
};

const challengeType: Schema = {
  type: 'string',
  enum: ChallengeTypes,
  description: 'How ownership is proven; without it the `AcmeChallengeType` setting decides (`http-01` by default). A wildcard needs `dns-01`.',
};

const profile: Schema = {
  type: 'string',
  // PROFILE_NAME of src/domain/config.ts.
  pattern: '^[\\x21-\\x7e]{1,64}$',
  description:
    "The ACME certificate profile to order (draft-aaron-acme-profiles), one the CA lists in its directory's `meta.profiles` (Let's Encrypt: `classic`, `tlsserver`, `shortlived`); without it the `AcmeProfile` setting decides (none by default: the CA's default). A profile the CA does not offer gets 400 naming this field and the CA's profiles. Renewals keep the certificate's profile.",
  examples: ['tlsserver'],
};

export const schemas: Record<string, Schema> = {
  ErrorCode: { type: 'string', enum: Object.keys(ErrorMessages), description: 'A typed failure code (README, "Error codes").' },
  StepStatus: { type: 'string', enum: Object.keys(StepMessages), description: 'The contract\'s `customStatus.status` values.' },

  HostnameEntry: {
    type: 'object',
    required: ['hostname'],
    properties: { hostname, challengeType, profile },
  },
  GroupedHostnameEntry: {
    type: 'object',
    required: ['hostname'],
    properties: {
      hostname,
      challengeType,
      profile,
      group: {
        type: 'string',
        // The pattern of src/domain/requests.ts (GROUP); the e2e test posts a name it refuses.
        pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$',
        description: `Entries with the same group share one certificate (at most ${MAX_NAMES_PER_CERTIFICATE} names, one challenge type; the first name is its identity).`,
      },
    },
  },
  AddCertificateRequest: {
    type: 'object',
    required: ['hostnames'],
    properties: { hostnames: { type: 'array', items: ref('HostnameEntry'), minItems: 1, maxItems: 1, description: 'Exactly one hostname.' } },
  },
  RevokeCertificateRequest: {
    type: 'object',
    required: ['reason'],
    properties: {
      reason: {
        type: 'string',
        enum: RevocationReasonNames,
        description: 'An RFC 5280 CRLReason Let\'s Encrypt accepts from a subscriber. `keyCompromise` and `superseded` also replace the certificate with a new key and bind it; `cessationOfOperation` and `unspecified` revoke only (the gateway serves the revoked certificate until it is renewed or removed).',
      },
    },
  },
  AddMultipleCertificatesRequest: {
    type: 'object',
    required: ['hostnames'],
    properties: {
      hostnames: {
        type: 'array',
        items: ref('GroupedHostnameEntry'),
        minItems: 1,
        description: 'Distinct hostnames, 1 to the `MaxHostnamesPerRequest` setting (100 by default; more gets 400).',
      },
    },
  },
  ImportCertificateEntry: {
    type: 'object',
    required: ['hostname', 'privatekey', 'certificate'],
    properties: {
      hostname,
      privatekey: { type: 'string', minLength: 1, description: 'PEM or base64 DER: PKCS#8, PKCS#1, SEC1, or encrypted PKCS#8 with `password`.' },
      certificate: { type: 'string', minLength: 1, description: 'PEM or base64 DER: the leaf, or the full chain (put in order leaf first).' },
      password: { type: 'string', description: 'The password of an encrypted private key.' },
    },
  },
  ImportCertificateRequest: {
    type: 'object',
    required: ['hostnames'],
    properties: {
      hostnames: {
        type: 'array',
        items: ref('ImportCertificateEntry'),
        minItems: 1,
        description: 'Distinct hostnames, 1 to the `MaxHostnamesPerRequest` setting. Everything is checked (key matches, covers the hostname, not expired, TLS server certificate) before anything starts.',
      },
    },
  },

  CheckStatusLinks: {
    type: 'object',
    description: 'The Durable check-status links, exactly the contract\'s (src/http/checkStatus.ts). `statusQueryGetUri` answers `DurableOrchestrationStatus`.',
    required: CONTRACT_LINKS,
    additionalProperties: false,
    properties: {
      id: { type: 'string', description: 'The orchestration instance id.' },
      statusQueryGetUri: { type: 'string', format: 'uri', description: 'Poll this; it carries `returnInternalServerErrorOnFailure=true`, so a Failed instance answers 500.' },
      sendEventPostUri: { type: 'string', description: 'A URI template (`{eventName}`).' },
      terminatePostUri: { type: 'string', description: 'A URI template (`{text}`).' },
      purgeHistoryDeleteUri: { type: 'string', format: 'uri' },
    },
  },

  CustomStatus: {
    type: 'object',
    description: 'The contract\'s `{status, message, error}`; a multiple-hostname run adds `progress` and `failures` (its latest 10 failed hostnames).',
    required: ['status', 'message', 'error'],
    additionalProperties: false,
    properties: {
      status: ref('StepStatus'),
      message: { type: 'string', description: 'Human readable; the step\'s message, or the error\'s when Failed.' },
      error: nullable(ref('ErrorCode')),
      progress: {
        type: 'object',
        required: ['done', 'failed', 'issuing', 'queued', 'total'],
        additionalProperties: false,
        properties: Object.fromEntries(['done', 'failed', 'issuing', 'queued', 'total'].map((k) => [k, { type: 'integer', minimum: 0 }])),
      },
      failures: {
        type: 'array',
        maxItems: 10,
        items: { type: 'object', required: ['hostname', 'error'], additionalProperties: false, properties: { hostname: { type: 'string' }, error: ref('ErrorCode') } },
      },
    },
  },
  DurableOrchestrationStatus: {
    type: 'object',
    description:
      'What `statusQueryGetUri` answers (served by the Durable Functions extension, not by this app): 202 while Pending or Running, 200 when finished, 500 when Failed (the link asks for it). A Failed `output` is `"Orchestrator function \'…\' failed: [certbot-error]{json}[/certbot-error]"` with the failure record.',
    required: ['name', 'instanceId', 'runtimeStatus', 'input', 'customStatus', 'output', 'createdTime', 'lastUpdatedTime'],
    properties: {
      name: { type: 'string', description: 'The orchestrator: AddCertificateFunctions, AddMultipleCertificatesFunctions, AddCertificateWithPrivateKeyFunctions, RemoveCertificateFunctions or RevokeCertificateFunctions.' },
      instanceId: { type: 'string' },
      runtimeStatus: { type: 'string', enum: RUNTIME_STATUSES },
      input: { description: 'The orchestration input (the bare hostname for the contract\'s single-hostname request).' },
      customStatus: nullable(ref('CustomStatus')),
      output: { description: 'null, a result object (multiple hostnames: `{hostnames: [...]}`; removal: `{hostname, purged, note?}`) or, when Failed, the failure text.' },
      createdTime: dateTime,
      lastUpdatedTime: dateTime,
      historyEvents: { type: 'array', items: { type: 'object' }, description: 'Only with `showHistory=true`.' },
    },
  },
  Operation: {
    type: 'object',
    description: 'An orchestration\'s status as this app reports it (no input: it may name key material).',
    required: ['instanceId', 'name', 'runtimeStatus', 'customStatus', 'output', 'createdTime', 'lastUpdatedTime'],
    additionalProperties: false,
    properties: {
      instanceId: { type: 'string' },
      name: { type: 'string' },
      runtimeStatus: { type: 'string', enum: RUNTIME_STATUSES },
      customStatus: nullable(ref('CustomStatus')),
      output: { description: 'As in DurableOrchestrationStatus.' },
      createdTime: dateTime,
      lastUpdatedTime: dateTime,
    },
  },

  CertificateListItem: {
    type: 'object',
    required: [
      'hostname', 'source', 'hostnames', 'challengeType', 'profile', 'state', 'keyVaultName', 'version', 'expiresOn', 'daysLeft',
      'nextRenewal', 'overdue', 'pendingOperation', 'renewalWindow', 'gateway', 'lastFailure', 'revoked', 'consecutiveFailures', 'nextAttemptAt',
    ],
    additionalProperties: false,
    properties: {
      hostname: { type: 'string', description: 'The certificate\'s identity (its first name).' },
      source: { type: 'string', enum: ['acme', 'import', 'self-signed'], description: '`self-signed`: the SelfSignedFallback stand-in, replaced by the next successful issuance.' },
      hostnames: { type: 'array', items: { type: 'string' }, minItems: 1, description: 'Every name the certificate holds.' },
      challengeType: nullable({ type: 'string', enum: ChallengeTypes }),
      profile: nullable({ type: 'string', description: 'The ACME profile its order named (renewals name the same); null: none (the CA\'s default), or imported.' }),
      state: {
        type: 'string',
        enum: Object.keys(CERTIFICATE_STATES),
        description: Object.entries(CERTIFICATE_STATES).map(([state, meaning]) => `\`${state}\`: ${meaning}`).join('; '),
      },
      keyVaultName: { type: 'string' },
      version: nullable({ type: 'string' }),
      expiresOn: nullable(dateTime),
      daysLeft: nullable({ type: 'integer' }),
      nextRenewal: nullable({ ...dateTime, description: 'null for imported certificates (never renewed).' }),
      overdue: { type: 'boolean', description: 'A create left unmerged, or a renewal time passed more than a day ago, with no run at work on it.' },
      pendingOperation: nullable({
        type: 'object',
        required: ['status', 'since'],
        additionalProperties: false,
        properties: { status: { type: 'string', description: 'Key Vault\'s certificate operation status.' }, since: nullable(dateTime) },
      }),
      renewalWindow: nullable({
        type: 'object',
        description: 'The CA\'s suggested renewal window (ACME Renewal Information, RFC 9773).',
        required: ['start', 'end'],
        additionalProperties: false,
        properties: { start: dateTime, end: dateTime },
      }),
      gateway: {
        type: 'object',
        required: ['listener', 'rule'],
        additionalProperties: false,
        properties: { listener: { type: 'boolean' }, rule: { type: 'boolean' } },
      },
      revoked: nullable({
        type: 'object',
        description: 'The current version was revoked through this app (POST /certificates/{hostname}/revoke); null otherwise. A revocation that replaced the certificate leaves the new version current, so this is null again then.',
        required: ['reason', 'at', 'serialNumber'],
        additionalProperties: false,
        properties: { reason: { type: 'string', enum: RevocationReasonNames }, at: dateTime, serialNumber: { type: 'string', description: 'The revoked certificate\'s serial number (hex).' } },
      }),
      lastFailure: nullable({
        type: 'object',
        description: 'The hostname\'s own last run (certificate-<hostname>: a single-hostname request or renew-now, or a batch\'s or the renewal timer\'s part for the name up to the Key Vault merge) when it failed; null when it did not fail, is running, or its history was purged. A batch\'s gateway step and imports report under their own instances.',
        required: ['instanceId', 'code', 'message', 'failedStep', 'at', 'record'],
        additionalProperties: false,
        properties: {
          instanceId: { type: 'string' },
          code: ref('ErrorCode'),
          message: { type: 'string' },
          failedStep: nullable({ type: 'string' }),
          at: { ...dateTime, description: 'When the run ended.' },
          record: {
            type: 'object',
            description: 'The run\'s whole failure record, as its Failed output carries it (never a secret), ready for a ticket.',
            required: ['code', 'message', 'detail', 'instanceId'],
            properties: {
              code: ref('ErrorCode'),
              message: { type: 'string' },
              detail: { type: 'string' },
              instanceId: { type: 'string' },
              failedStep: { type: 'string' },
              selfSignedFallback: {
                type: 'object',
                description: 'SelfSignedFallback: whether a self-signed stand-in was bound to the new hostname\'s listener after this failure.',
                required: ['bound', 'detail'],
                properties: { bound: { type: 'boolean' }, certificateName: { type: 'string' }, notAfter: { type: 'string' }, detail: { type: 'string' } },
              },
              retryAfterSeconds: { type: 'integer', description: 'The CA\'s Retry-After (AcmeRateLimited), or the seconds until a counted rate limit frees up (AcmeRateLimitWouldBeExceeded).' },
              retryAt: { ...dateTime, description: 'When that is (UTC).' },
            },
          },
        },
      }),
      consecutiveFailures: { type: 'integer', minimum: 0, description: 'Failed runs for the hostname since its last success (the failure back-off).' },
      nextAttemptAt: nullable({ ...dateTime, description: 'Automatic renewals of the hostname wait until then after failures (1 min, 10 min, 100 min, then daily, Let\'s Encrypt\'s integration guide); a manual issue or renew-now goes ahead anyway. null: no failure since the last success.' }),
    },
  },

  FieldError: {
    type: 'object',
    required: ['field', 'reason'],
    additionalProperties: false,
    properties: {
      field: { type: 'string', description: 'The refused field, e.g. `hostnames[0].hostname`, or `(body)`.', examples: ['hostnames[0].hostname'] },
      reason: { type: 'string', examples: ['is required'] },
    },
  },
  Problem: {
    type: 'object',
    description: 'RFC 9457 problem details (src/http/problem.ts). Never holds a stack trace or a secret.',
    required: ['type', 'title', 'status', 'detail'],
    properties: {
      type: { type: 'string', const: 'about:blank' },
      title: { type: 'string' },
      status: { type: 'integer', minimum: 400, maximum: 599 },
      detail: { type: 'string' },
      errors: { type: 'array', items: ref('FieldError') },
      code: { ...ref('ErrorCode'), description: 'Where a dependency refused with a typed code (a permission to grant).' },
    },
  },
  ValidationProblem: {
    allOf: [ref('Problem'), { type: 'object', required: ['errors'], properties: { status: { const: 400 }, errors: { type: 'array', minItems: 1 } } }],
  },
  BusyProblem: {
    description: 'Another operation holds a hostname. For one holder of one hostname the holder\'s check-status links come along.',
    allOf: [
      ref('Problem'),
      {
        type: 'object',
        required: ['hostnames', 'holders'],
        properties: {
          status: { const: 409 },
          hostnames: { type: 'array', items: { type: 'string' }, minItems: 1 },
          holders: {
            type: 'array',
            items: {
              type: 'object',
              required: ['hostname', 'instanceId', 'statusQueryGetUri'],
              additionalProperties: false,
              properties: { hostname: { type: 'string' }, instanceId: nullable({ type: 'string' }), statusQueryGetUri: nullable({ type: 'string', format: 'uri' }) },
            },
          },
          ...Object.fromEntries(CONTRACT_LINKS.map((link) => [link, { type: 'string' }])),
        },
      },
    ],
  },
  SelfSignedProblem: {
    description: 'The hostname has only its self-signed stand-in (SelfSignedFallback), which no CA issued: nothing to revoke.',
    allOf: [ref('Problem'), { type: 'object', properties: { status: { const: 409 }, title: { const: 'Self-signed stand-in' } } }],
  },
  ImportedProblem: {
    description: 'The hostname holds an imported certificate, which ACME never replaces (`HostnameHasImportedCertificate`).',
    allOf: [ref('Problem'), { type: 'object', properties: { status: { const: 409 }, title: { const: 'Imported certificate' }, hostnames: { type: 'array', items: { type: 'string' } } } }],
  },
};
