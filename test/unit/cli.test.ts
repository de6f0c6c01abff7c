import { answerError, parseEndpoint } from '../../src/cli/api';
import { CliError, ExitCode, exitCodeForStatus } from '../../src/cli/exitCodes';
import { certificatesTable, resultLines } from '../../src/cli/format';
import { hostnameResults, OperationStatus, stepText } from '../../src/cli/operations';
import { Redactor } from '../../src/cli/redact';
import { encodeFailure } from '../../src/domain/stepError';
import { instanceIdProblem } from '../../src/http/operationStatus';

const status = (fields: Partial<OperationStatus>): OperationStatus => ({
  instanceId: 'certificate-a.example',
  name: 'AddCertificateFunctions',
  runtimeStatus: 'Running',
  customStatus: null,
  output: null,
  createdTime: '2026-01-01T00:00:00Z',
  lastUpdatedTime: '2026-01-01T00:00:01Z',
  ...fields,
});

describe('the CLI never prints a credential', () => {
  const redactor = new Redactor(['k3y/with+chars==', undefined, 'tok']);

  it('replaces the code= of any URL, and the key and token wherever they appear, also URL-encoded', () => {
    expect(redactor.text('http://h/x?taskHub=a&code=SYSTEMKEY&returnInternalServerErrorOnFailure=true')).toBe('http://h/x?taskHub=a&code=***&returnInternalServerErrorOnFailure=true');
    expect(redactor.text('key k3y/with+chars== and k3y%2Fwith%2Bchars%3D%3D; tok')).toBe('key *** and ***; ***');
  });

  it('redacts every string of a JSON value, keys included', () => {
    expect(redactor.value({ links: ['https://h/?code=abc'], 'tok': { note: 'k3y/with+chars==' }, n: 1 })).toEqual({ links: ['https://h/?code=***'], '***': { note: '***' }, n: 1 });
  });
});

describe('exit codes', () => {
  it('tell bad input (400, 401, 403), unreachable (429, 503, 504) and failed (anything else) apart', () => {
    expect([400, 401, 403].map(exitCodeForStatus)).toEqual([ExitCode.BadInput, ExitCode.BadInput, ExitCode.BadInput]);
    expect([429, 503, 504].map(exitCodeForStatus)).toEqual([ExitCode.Unreachable, ExitCode.Unreachable, ExitCode.Unreachable]);
    expect([404, 409, 500, 502].map(exitCodeForStatus)).toEqual(Array(4).fill(ExitCode.Failed));
  });

  it('a 400 problem body keeps its fields and reasons for the message', () => {
    const error = answerError({ status: 400, body: { title: 'Invalid request', detail: 'hostnames[0].hostname is not valid', errors: [{ field: 'hostnames[0].hostname', reason: 'is not valid' }, { nonsense: 1 }] } });
    expect(error).toBeInstanceOf(CliError);
    expect(error.exitCode).toBe(ExitCode.BadInput);
    expect(error.message).toBe('HTTP 400 Invalid request: hostnames[0].hostname is not valid');
    expect(error.details.errors).toEqual([{ field: 'hostnames[0].hostname', reason: 'is not valid' }]);
  });

  it('an answer without a body still says what to check', () => {
    expect(answerError({ status: 401, body: null }).message).toMatch(/^HTTP 401: the app refused the credentials/);
  });
});

describe('the endpoint', () => {
  it('is an http(s) origin, with or without /api', () => {
    expect(parseEndpoint('http://localhost:7071/api').href).toBe('http://localhost:7071/');
    expect(parseEndpoint('https://app.azurewebsites.net').href).toBe('https://app.azurewebsites.net/');
  });

  it('carries no credentials (they would be printed with it)', () => {
    for (const bad of ['https://app/?code=abc', 'https://user:pw@app/', 'ftp://app/', 'app.azurewebsites.net']) {
      expect(() => parseEndpoint(bad)).toThrow(CliError);
    }
  });
});

describe('following an operation', () => {
  const single = { instanceId: 'certificate-a.example', hostnames: ['a.example'], batch: false };

  it('shows a step as its contract name and message', () => {
    expect(stepText(status({ customStatus: { status: 'CheckDnsResolutionStep', message: 'Checking.', error: null } }))).toBe('CheckDnsResolutionStep: Checking.');
    expect(stepText(status({ runtimeStatus: 'Pending' }))).toBe('waiting to start');
  });

  it('reads a failed single run\'s failure record', () => {
    const output = `Orchestrator function 'AddCertificateFunctions' failed: ${encodeFailure({ code: 'HostnameNotResolvingToApplicationGateway', detail: 'points at 192.0.2.10', message: 'Not resolving.', instanceId: 'certificate-a.example', failedStep: 'CheckDnsResolutionStep' })}`;
    expect(hostnameResults(status({ runtimeStatus: 'Failed', output }), single)).toEqual([
      { hostname: 'a.example', status: 'Failed', code: 'HostnameNotResolvingToApplicationGateway', message: 'Not resolving.', detail: 'points at 192.0.2.10', failedStep: 'CheckDnsResolutionStep' },
    ]);
    expect(hostnameResults(status({ runtimeStatus: 'Terminated' }), single)).toEqual([{ hostname: 'a.example', status: 'Terminated', code: null }]);
  });

  it('reads a batch\'s per-hostname list from its output or its failure record', () => {
    const batch = { instanceId: 'batch-1', hostnames: ['a.example', 'b.example'], batch: true };
    const hostnames = [
      { hostname: 'a.example', instanceId: 'certificate-a.example', status: 'Completed', error: null },
      { hostname: 'b.example', instanceId: 'certificate-b.example', status: 'Failed', error: 'AcmeCaaForbidden', detail: 'CAA', failedStep: 'CheckCaaRecordsStep' },
    ];
    const output = `x ${encodeFailure({ code: 'AcmeCaaForbidden', detail: '1 of 2 hostnames failed.', message: 'm', instanceId: 'batch-1', hostnames })}`;
    const results = hostnameResults(status({ runtimeStatus: 'Failed', output }), batch);
    expect(results).toEqual([
      { hostname: 'a.example', status: 'Completed', code: null },
      { hostname: 'b.example', status: 'Failed', code: 'AcmeCaaForbidden', detail: 'CAA', failedStep: 'CheckCaaRecordsStep' },
    ]);
    expect(resultLines(results)).toEqual(['✔ a.example: Completed', '✖ b.example: Failed AcmeCaaForbidden', '    CAA', '    failed step: CheckCaaRecordsStep']);
  });
});

describe('the list table', () => {
  it('has a row per certificate, its columns aligned', () => {
    const text = certificatesTable([
      { hostname: 'a.example', source: 'acme', challengeType: 'http-01', state: 'valid', expiresOn: '2026-04-01T00:00:00Z', daysLeft: 80, nextRenewal: '2026-03-02T00:00:00Z', overdue: false, gateway: { listener: true, rule: true } },
      { hostname: 'longer.example', source: 'import', hostnames: ['longer.example'], challengeType: null, state: 'expired', expiresOn: null, daysLeft: null, nextRenewal: null, overdue: true, gateway: { listener: false, rule: false } },
    ]).split('\n');
    expect(text).toHaveLength(3);
    // Each cell starts where its column's header does.
    const at = (column: string): number => text[0].indexOf(column);
    expect(text[1].indexOf('valid')).toBe(at('STATE'));
    expect(text[2].indexOf('expired')).toBe(at('STATE'));
    expect(text[1].indexOf('2026-03-02')).toBe(at('RENEWAL'));
    expect(text[2].indexOf('overdue')).toBe(at('RENEWAL'));
    expect(text[1].indexOf('bound')).toBe(at('GATEWAY'));
    expect(text[2].indexOf('not bound')).toBe(at('GATEWAY'));
    expect(text.every((line) => line === line.trimEnd())).toBe(true);
    expect(certificatesTable([])).toBe('No certificates are managed yet.');
  });
});

describe('the operations route\'s instance ids', () => {
  it('refuses what no instance id of the Durable client can be', () => {
    expect(instanceIdProblem('')).toBe('is required');
    expect(instanceIdProblem('x'.repeat(257))).toMatch(/at most 256/);
    for (const bad of ['a/b', 'a\\b', 'a?b', 'a#b', 'a%2Fb', 'a\u0000b', 'a\nb', 'a\u007fb']) expect(instanceIdProblem(bad)).toMatch(/character/);
    for (const good of ['certificate-www.example.com', 'batch-0b3c', 'renewals-20261204T030000Z', `certificate-${'a'.repeat(200)}~0123abcd`, 'certificate-*.example.com']) {
      expect(instanceIdProblem(good)).toBeUndefined();
    }
  });
});
