/**
 * The OpenAPI 3.1 description of the whole HTTP API, served at GET /api/openapi.json. Every
 * function the app registers has its path and method here (test/e2e/openapi.test.ts checks both
 * ways against the registrations and drives each route against the sandbox).
 */
import { version } from '../../package.json';
import { schemas, ref } from './schemas';
import type { Header, MediaType, OpenApiDocument, Operation, Parameter, Response } from './types';

const problemJson = (schemaName: string): Record<string, MediaType> => ({ 'application/problem+json': { schema: ref(schemaName) } });
const problem = (description: string, schemaName = 'Problem'): Response => ({ description, content: problemJson(schemaName) });
const useResponse = (name: string): { $ref: string } => ({ $ref: `#/components/responses/${name}` });

const headers: Record<string, Header> = {
  Location: { description: 'The instance\'s `statusQueryGetUri`.', required: true, schema: { type: 'string', format: 'uri' } },
  RetryAfter: { description: 'Seconds to wait before polling (202) or retrying (503).', required: true, schema: { type: 'string', pattern: '^[0-9]+$' } },
  BackoffOverridden: {
    description: 'Present when the hostname is in its failure back-off (automatic attempts wait 1 min, 10 min, 100 min, then daily after consecutive failures): this manual request went ahead anyway; says how many failures and until when automatic attempts wait.',
    required: false,
    schema: { type: 'string' },
  },
};

const responses: Record<string, Response> = {
  Accepted: {
    description: 'Started: poll `statusQueryGetUri` (answers DurableOrchestrationStatus).',
    headers: {
      Location: { $ref: '#/components/headers/Location' },
      'Retry-After': { $ref: '#/components/headers/RetryAfter' },
      'X-Backoff-Overridden': { $ref: '#/components/headers/BackoffOverridden' },
    },
    content: { 'application/json': { schema: ref('CheckStatusLinks') } },
  },
  InvalidRequest: problem('Bad input: `errors` names each refused field and the reason.', 'ValidationProblem'),
  // Who answers a 401 is not the app: the Functions host checks the key before the worker runs,
  // and App Service Authentication (Return401) refuses before the request reaches the host (Learn,
  // "Authentication and authorization in Azure App Service": "every incoming HTTP request passes
  // through it before being handled by your application code").
  // Its body is not documented, so no schema is promised for it; the sandbox's is a short text.
  Unauthorized: {
    description:
      'No valid credential, refused in front of the app. ApiAuthentication=FunctionKey: the Functions host, without a body. AppServiceAuthentication: App Service Authentication itself, with `WWW-Authenticate: Bearer realm=… authorization_uri=… resource_id=…` and no body or a short non-JSON text (not problem+json). A problem+json 401 comes only from the app, should App Service pass a request without a principal.',
    'x-body-optional': true,
    content: {
      ...problemJson('Problem'),
      'text/plain': { schema: { type: 'string' } },
      'text/html': { schema: { type: 'string' } },
    },
  },
  Forbidden: problem('ApiAuthentication=AppServiceAuthentication only: the caller lacks the app role ApiWriterRole (named in `requiredRole`) that writes need.'),
  Busy: problem('Another operation holds a hostname (one operation per hostname): the holder\'s id and status link.', 'BusyProblem'),
  BusyOrImported: {
    description: 'Another operation holds a hostname, or a hostname holds an imported certificate (refused before any order).',
    content: { 'application/problem+json': { schema: { anyOf: [ref('BusyProblem'), ref('ImportedProblem')] } } },
  },
  RevokeConflict: {
    description: 'Another operation holds the hostname, it holds an imported certificate (its own CA revokes it), or only its self-signed stand-in (SelfSignedFallback), which no CA issued.',
    content: { 'application/problem+json': { schema: { anyOf: [ref('BusyProblem'), ref('ImportedProblem'), ref('SelfSignedProblem')] } } },
  },
  NotManaged: problem('No certificate for the hostname is managed here.'),
  Misconfigured: problem('The function app is misconfigured: the detail goes to its log, or names an invalid ApiAuthentication setting (`code` ConfigurationInvalid).'),
  DependencyRefused: problem('Key Vault, Storage or the gateway refused: a permission to grant is named with its `code`.'),
  Unavailable: { ...problem('A service the app depends on did not answer; retry shortly.'), headers: { 'Retry-After': { $ref: '#/components/headers/RetryAfter' } } },
};

/** The answers every operation that starts an orchestration shares. */
const starterResponses = (conflict: 'Busy' | 'BusyOrImported' | 'RevokeConflict'): Operation['responses'] => ({
  '202': useResponse('Accepted'),
  '400': useResponse('InvalidRequest'),
  '401': useResponse('Unauthorized'),
  '403': useResponse('Forbidden'),
  '409': useResponse(conflict),
  '500': useResponse('Misconfigured'),
  '502': useResponse('DependencyRefused'),
  '503': useResponse('Unavailable'),
});

const hostnameParameter: Parameter = {
  name: 'hostname',
  in: 'path',
  required: true,
  description: 'The certificate\'s hostname (its first name), in any case; decoded once by the host, `*.` allowed for a wildcard.',
  schema: { type: 'string', minLength: 1 },
};

const jsonBody = (schemaName: string, description: string, examples: MediaType['examples']): Operation['requestBody'] => ({
  description,
  required: true,
  content: { 'application/json': { schema: ref(schemaName), examples } },
});

const dashboardResponses: Operation['responses'] = {
  '200': {
    description: 'The file, revalidated on every load (`ETag`, `Cache-Control: no-cache`).',
    content: {
      'text/html': { schema: { type: 'string' } },
      'text/javascript': { schema: { type: 'string' } },
      'text/css': { schema: { type: 'string' } },
    },
  },
  '304': { description: '`If-None-Match` named the current ETag.' },
  '404': problem('No such dashboard file, or this deployment has no dashboard build.'),
  '503': useResponse('Unavailable'),
};

export const openApiDocument: OpenApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'appgw-certbot',
    version,
    description:
      'Free, automatically renewed TLS certificates for Azure Application Gateway. Starters answer 202 with Durable check-status links; poll `statusQueryGetUri` (DurableOrchestrationStatus) and show `customStatus.message`.\n\n' +
      'Authentication depends on the deployment (app setting `ApiAuthentication`): `FunctionKey` (the default) asks for a function key, as the `x-functions-key` header or the `code` query parameter, on every operation except the anonymous ones; `AppServiceAuthentication` puts App Service Authentication (Microsoft Entra ID) in front instead (`easyAuth`: a bearer token, or its session cookie), where reads need any signed-in caller and writes the app role `ApiWriterRole`. Only one of the listed schemes applies to a given deployment.',
    license: { name: 'MIT', identifier: 'MIT' },
  },
  servers: [{ url: '/api', description: 'The function app\'s HTTP route prefix (host.json default).' }],
  tags: [
    { name: 'certificates', description: 'Issue, import, list, renew, revoke and remove certificates.' },
    { name: 'operations', description: 'Running and finished operations.' },
    { name: 'meta', description: 'The dashboard and this document.' },
  ],
  security: [{ functionKey: [] }, { functionKeyQuery: [] }, { easyAuth: [] }],
  paths: {
    '/AddCertificateFunctions_HttpStart': {
      post: {
        operationId: 'AddCertificateFunctions_HttpStart',
        summary: 'Issue a certificate for one hostname',
        description: 'Runs AddCertificateFunctions under the instance id `certificate-<hostname>`. A hostname holding an imported certificate, or held by another operation, gets 409.',
        tags: ['certificates'],
        requestBody: jsonBody('AddCertificateRequest', 'Exactly one hostname.', {
          contract: { summary: 'The contract\'s body', value: { hostnames: [{ hostname: 'www.example.com' }] } },
          dns01: { summary: 'DNS-01 (needed for a wildcard)', value: { hostnames: [{ hostname: '*.example.com', challengeType: 'dns-01' }] } },
          profile: { summary: "A profile the CA offers (Let's Encrypt's 45-day tlsserver)", value: { hostnames: [{ hostname: 'www.example.com', profile: 'tlsserver' }] } },
        }),
        responses: starterResponses('BusyOrImported'),
      },
    },
    '/AddMultipleCertificatesFunctions_HttpStart': {
      post: {
        operationId: 'AddMultipleCertificatesFunctions_HttpStart',
        summary: 'Issue certificates for several hostnames in one run',
        description: 'One certificate per hostname, or one per `group`; one gateway write for all. `customStatus` adds `progress` and `failures`.',
        tags: ['certificates'],
        requestBody: jsonBody('AddMultipleCertificatesRequest', '1 to MaxHostnamesPerRequest distinct hostnames.', {
          contract: { summary: 'The contract\'s body', value: { hostnames: [{ hostname: 'example1.com' }, { hostname: 'example2.com' }] } },
          group: { summary: 'Two names in one certificate', value: { hostnames: [{ hostname: 'shop.example.com', group: 'shop' }, { hostname: 'www.shop.example.com', group: 'shop' }] } },
        }),
        responses: starterResponses('BusyOrImported'),
      },
    },
    '/AddCertificateWithPrivateKeyFunctions_HttpStart': {
      post: {
        operationId: 'AddCertificateWithPrivateKeyFunctions_HttpStart',
        summary: 'Import your own certificates and bind them',
        description: 'JSON (not multipart). Everything is checked before anything starts; the key goes straight into Key Vault and never into the orchestration. 502 when Key Vault fails part-way (what was stored is taken back, nothing started).',
        tags: ['certificates'],
        requestBody: jsonBody('ImportCertificateRequest', 'The key and certificate (or chain) per hostname.', {
          contract: {
            summary: 'The contract\'s body (key and certificate elided)',
            description: 'The values are shortened here; send the whole PEM or base64 DER.',
            value: { hostnames: [{ hostname: 'example.com', privatekey: 'MIIEvgIBADANBgkqhkiG9…', certificate: 'MIIFVjCCBD6gAwIBAgIS…' }] },
          },
        }),
        responses: starterResponses('Busy'),
      },
    },
    '/certificates': {
      get: {
        operationId: 'ListCertificates',
        summary: 'List every managed hostname',
        tags: ['certificates'],
        responses: {
          '200': { description: 'Every certificate Key Vault holds for the app, with its gateway binding.', content: { 'application/json': { schema: { type: 'array', items: ref('CertificateListItem') } } } },
          '401': useResponse('Unauthorized'),
          '500': useResponse('Misconfigured'),
          '502': useResponse('DependencyRefused'),
          '503': useResponse('Unavailable'),
        },
      },
    },
    '/certificates/{hostname}/renew': {
      post: {
        operationId: 'RenewCertificate',
        summary: 'Renew one certificate now',
        description: 'The issuing orchestration again, proven the way it was first proven, for the same names. No body.',
        tags: ['certificates'],
        parameters: [hostnameParameter],
        responses: { ...starterResponses('BusyOrImported'), '404': useResponse('NotManaged') },
      },
    },
    '/certificates/{hostname}/revoke': {
      post: {
        operationId: 'RevokeCertificate',
        summary: 'Revoke one certificate with the CA',
        description:
          'Runs RevokeCertificateFunctions (`revocation-<hostname>`): revokes the current ACME certificate through the account key and records the revocation on its Key Vault version (the list shows it). `keyCompromise` and `superseded` then issue a replacement with a new key (AddCertificateFunctions as a sub-orchestration, `certificate-<hostname>`) and bind it. Output `{hostname, revoked: {serialNumber, reason, at, alreadyRevoked}, replacement: {version, serialNumber, notAfter} | null}`. An imported certificate is refused (409): its own CA revokes it.',
        tags: ['certificates'],
        parameters: [hostnameParameter],
        requestBody: jsonBody('RevokeCertificateRequest', 'The reason.', {
          keyCompromise: { summary: 'The key leaked: revoke and replace', value: { reason: 'keyCompromise' } },
          cessationOfOperation: { summary: 'The site is retired: revoke only', value: { reason: 'cessationOfOperation' } },
        }),
        responses: { ...starterResponses('RevokeConflict'), '404': useResponse('NotManaged') },
      },
    },
    '/certificates/{hostname}': {
      delete: {
        operationId: 'RemoveCertificate',
        summary: 'Take a certificate off the gateway and out of Key Vault',
        description: 'Runs RemoveCertificateFunctions (`removal-<hostname>`); output `{hostname, purged, note?}`.',
        tags: ['certificates'],
        parameters: [
          hostnameParameter,
          { name: 'purge', in: 'query', required: false, description: 'Also purge the soft-deleted certificate (refused by a purge-protected vault: then `purged: false` and a `note`).', schema: { type: 'string', enum: ['true', 'false'] } },
        ],
        responses: { ...starterResponses('Busy'), '404': useResponse('NotManaged') },
      },
    },
    '/operations/{instanceId}': {
      get: {
        operationId: 'GetOperation',
        summary: 'The status of one operation',
        tags: ['operations'],
        parameters: [{ name: 'instanceId', in: 'path', required: true, description: 'The `id` a starter answered.', schema: { type: 'string', minLength: 1 } }],
        responses: {
          '200': { description: 'The operation.', content: { 'application/json': { schema: ref('Operation') } } },
          '400': useResponse('InvalidRequest'),
          '401': useResponse('Unauthorized'),
          '404': problem('No operation with that id.'),
          '500': useResponse('Misconfigured'),
          '503': useResponse('Unavailable'),
        },
      },
    },
    '/dashboard': {
      get: { operationId: 'Dashboard', summary: 'The dashboard page', description: 'Anonymous: it holds no data; its API calls carry the caller\'s own credentials.', tags: ['meta'], security: [], responses: dashboardResponses },
    },
    '/dashboard/{file}': {
      get: {
        operationId: 'DashboardFile',
        summary: 'A dashboard file',
        tags: ['meta'],
        security: [],
        parameters: [{ name: 'file', in: 'path', required: true, description: 'One of the dashboard\'s files.', schema: { type: 'string', enum: ['index.html', 'app.js', 'app.css'] } }],
        responses: dashboardResponses,
      },
    },
    '/openapi.json': {
      get: {
        operationId: 'OpenApiDocument',
        summary: 'This document',
        description: 'Anonymous: it describes the API and holds no secret.',
        tags: ['meta'],
        security: [],
        responses: { '200': { description: 'The OpenAPI 3.1 document.', content: { 'application/json': { schema: { type: 'object', required: ['openapi', 'paths'], properties: { openapi: { type: 'string', const: '3.1.0' }, paths: { type: 'object' } } } } } } },
      },
    },
  },
  components: {
    schemas,
    responses,
    headers,
    securitySchemes: {
      functionKey: { type: 'apiKey', in: 'header', name: 'x-functions-key', description: 'A function key (or the host key) of the function app.' },
      functionKeyQuery: { type: 'apiKey', in: 'query', name: 'code', description: 'The same function key as the `code` query parameter (the check-status links carry one).' },
      easyAuth: {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'JWT',
        description: 'App Service Authentication (Entra ID), where the deployment enables it: a bearer token for the app\'s registration (or the session cookie it sets).',
      },
    },
  },
};
