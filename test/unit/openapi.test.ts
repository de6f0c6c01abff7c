import { ErrorMessages } from '../../src/domain/errors';
import { StepMessages } from '../../src/domain/status';
import { openApiDocument } from '../../src/openapi/document';
import type { HttpMethod } from '../../src/openapi/types';
import { version } from '../../package.json';
import { swaggerParserValidate } from '../support/openapiSwaggerParser';
import { mismatches, OpenApiValidator } from '../support/openapiValidator';

/** Every [pointer, schema] place in the document where a JSON Schema sits. */
function schemaPointers(): string[][] {
  const pointers: string[][] = Object.keys(openApiDocument.components.schemas).map((name) => ['components', 'schemas', name]);
  for (const [name, response] of Object.entries(openApiDocument.components.responses)) {
    for (const mediaType of Object.keys(response.content ?? {})) pointers.push(['components', 'responses', name, 'content', mediaType, 'schema']);
  }
  for (const name of Object.keys(openApiDocument.components.headers)) pointers.push(['components', 'headers', name, 'schema']);
  for (const [path, item] of Object.entries(openApiDocument.paths)) {
    for (const method of ['get', 'post', 'put', 'delete', 'patch'] as HttpMethod[]) {
      const operation = item[method];
      if (!operation) continue;
      const at = ['paths', path, method];
      operation.parameters?.forEach((_, index) => pointers.push([...at, 'parameters', String(index), 'schema']));
      for (const mediaType of Object.keys(operation.requestBody?.content ?? {})) pointers.push([...at, 'requestBody', 'content', mediaType, 'schema']);
      for (const [status, response] of Object.entries(operation.responses)) {
        if ('$ref' in response) continue;
        for (const mediaType of Object.keys(response.content ?? {})) pointers.push([...at, 'responses', status, 'content', mediaType, 'schema']);
      }
    }
  }
  return pointers;
}

describe('the OpenAPI document', () => {
  it('is a valid OpenAPI 3.1 document (swagger-parser), every $ref resolving', async () => {
    expect(await swaggerParserValidate(openApiDocument)).toBeUndefined();
    // The validator does see mistakes (a parameter in a place OpenAPI 3 has no such place).
    const broken = structuredClone(openApiDocument) as unknown as { paths: Record<string, { post: { parameters: { in: string }[] } }> };
    broken.paths['/certificates/{hostname}/renew'].post.parameters[0].in = 'body';
    expect(await swaggerParserValidate(broken)).toBeDefined();
  });

  it('declares each path template parameter on its operations, and no other path parameter (swagger-parser checks this for Swagger 2 only)', () => {
    for (const [path, item] of Object.entries(openApiDocument.paths)) {
      const inTemplate = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
      for (const method of ['get', 'post', 'put', 'delete', 'patch'] as HttpMethod[]) {
        const operation = item[method];
        if (!operation) continue;
        const declared = (operation.parameters ?? []).filter((p) => p.in === 'path');
        expect({ path, method, declared: declared.map((p) => p.name).sort() }).toEqual({ path, method, declared: inTemplate });
        expect(declared.every((p) => p.required === true)).toBe(true);
      }
    }
  });

  it('compiles every schema in it with Ajv in strict JSON Schema 2020-12 mode', () => {
    const validator = new OpenApiValidator();
    const pointers = schemaPointers();
    expect(pointers.length).toBeGreaterThan(30);
    for (const pointer of pointers) expect(() => validator.validatorAt(...pointer)).not.toThrow();
  });

  it('has request examples its own schemas accept', () => {
    const validator = new OpenApiValidator();
    let examples = 0;
    for (const [path, item] of Object.entries(openApiDocument.paths)) {
      const body = item.post?.requestBody;
      for (const [mediaType, media] of Object.entries(body?.content ?? {})) {
        const validate = validator.validatorAt('paths', path, 'post', 'requestBody', 'content', mediaType, 'schema');
        for (const [name, example] of Object.entries(media.examples ?? {})) {
          examples++;
          expect({ path, name, valid: validate(example.value), errors: validate.errors ?? null }).toEqual({ path, name, valid: true, errors: null });
        }
      }
    }
    expect(examples).toBeGreaterThanOrEqual(3);
  });

  it('takes the status values and error codes from the modules that define them, and its version from package.json', () => {
    expect(openApiDocument.components.schemas.StepStatus.enum).toEqual(Object.keys(StepMessages));
    expect(openApiDocument.components.schemas.ErrorCode.enum).toEqual(Object.keys(ErrorMessages));
    expect(openApiDocument.info.version).toBe(version);
  });

  it('refuses what the handlers refuse: a second hostname for the single starter, an empty list, a hostname missing', () => {
    const validator = new OpenApiValidator();
    const single = validator.validatorAt('components', 'schemas', 'AddCertificateRequest');
    expect(single({ hostnames: [{ hostname: 'a.example.com' }] })).toBe(true);
    expect(single({ hostnames: [{ hostname: 'a.example.com' }, { hostname: 'b.example.com' }] })).toBe(false);
    expect(single({ hostnames: [] })).toBe(false);
    expect(single({ hostnames: [{}] })).toBe(false);
    expect(single({ hostnames: [{ hostname: 'a.example.com', challengeType: 'tls-alpn-01' }] })).toBe(false);
  });

  it('holds no secret: no key, token or host of any deployment', () => {
    const text = JSON.stringify(openApiDocument);
    expect(text).not.toMatch(/BEGIN [A-Z ]*PRIVATE KEY|code=[A-Za-z0-9_-]{20,}|eyJ[A-Za-z0-9_-]{10,}\.|azurewebsites\.net/);
    expect(openApiDocument.servers).toEqual([expect.objectContaining({ url: '/api' })]);
  });

  it('tells an answer the document does not describe from one it does (the e2e check\'s own logic)', () => {
    const validator = new OpenApiValidator();
    const answer = (status: number, body: unknown, headers: Record<string, string> = { 'content-type': 'application/json' }) => ({
      status,
      headers: new Headers(headers),
      text: body === undefined ? '' : JSON.stringify(body),
    });
    const links = { id: 'certificate-a.example.com', statusQueryGetUri: 'http://localhost/x?code=k', sendEventPostUri: 'http://localhost/{eventName}', terminatePostUri: 'http://localhost/t?reason={text}', purgeHistoryDeleteUri: 'http://localhost/x' };
    const accepted = { 'content-type': 'application/json', location: links.statusQueryGetUri, 'retry-after': '10' };
    const start = '/AddCertificateFunctions_HttpStart';
    expect(mismatches(validator, 'post', start, answer(202, links, accepted))).toEqual([]);
    expect(mismatches(validator, 'post', start, answer(418, links, accepted))).toEqual([expect.stringMatching(/status 418 is not documented/)]);
    expect(mismatches(validator, 'post', start, answer(202, links))).toEqual(['header Location is missing', 'header Retry-After is missing']);
    expect(mismatches(validator, 'post', start, answer(202, { ...links, rewindPostUri: 'http://localhost/r' }, accepted))).toEqual([expect.stringMatching(/additional properties/)]);
    expect(mismatches(validator, 'post', start, answer(202, links, { ...accepted, 'content-type': 'text/plain' }))).toEqual([expect.stringMatching(/Content-Type text\/plain/)]);
    const problem = { type: 'about:blank', title: 'Invalid request', status: 400, detail: 'hostnames is required' };
    expect(mismatches(validator, 'post', start, answer(400, { ...problem, errors: [{ field: 'hostnames', reason: 'is required' }] }, { 'content-type': 'application/problem+json' }))).toEqual([]);
    expect(mismatches(validator, 'post', start, answer(400, problem, { 'content-type': 'application/problem+json' }))).toEqual([expect.stringMatching(/errors/)]);
    // The host's own 401 has no body, which the document allows for 401 only.
    expect(mismatches(validator, 'post', start, answer(401, undefined, {}))).toEqual([]);
    expect(mismatches(validator, 'post', start, answer(400, undefined, {}))).toEqual([expect.stringMatching(/no body/)]);
  });
});
