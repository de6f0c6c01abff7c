import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { openApiDocument } from '../../src/openapi/document';
import type { Header, HttpMethod, MediaType, OpenApiDocument, Response } from '../../src/openapi/types';

/**
 * The app's OpenAPI document as a JSON Schema 2020-12 validator (OpenAPI 3.1's dialect): the whole
 * document is added under one $id, so every schema in it is reached by its JSON pointer and its
 * `#/components/schemas/...` references resolve as they do in the document.
 */
const DOCUMENT_ID = 'https://appgw-certbot.invalid/openapi.json';

/** The document's own top-level fields, which are not JSON Schema keywords. */
const DOCUMENT_FIELDS = ['openapi', 'info', 'jsonSchemaDialect', 'servers', 'tags', 'security', 'paths', 'components'];

const escapePointer = (part: string): string => part.replace(/~/g, '~0').replace(/\//g, '~1');

export const pointerTo = (...parts: string[]): string => `${DOCUMENT_ID}#/${parts.map(escapePointer).join('/')}`;

export class OpenApiValidator {
  readonly ajv: Ajv2020;

  constructor(readonly document: OpenApiDocument = openApiDocument) {
    // strict: an unknown keyword or a type mismatch in a schema is an error, not a silent no-op.
    this.ajv = new Ajv2020({ strict: true, allErrors: true });
    addFormats(this.ajv);
    this.ajv.addVocabulary(DOCUMENT_FIELDS);
    this.ajv.addSchema({ ...structuredClone(document), $id: DOCUMENT_ID });
  }

  /** The compiled schema at a pointer into the document (throws when it does not compile). */
  validatorAt(...parts: string[]): ValidateFunction {
    const validate = this.ajv.getSchema(pointerTo(...parts));
    if (!validate) throw new Error(`no schema at ${parts.join('/')}`);
    return validate;
  }

  /** A documented response, its `$ref` followed; undefined when the status is not documented. */
  response(method: HttpMethod, path: string, status: number): { response: Response; pointer: string[] } | undefined {
    const operation = this.document.paths[path]?.[method];
    if (!operation) throw new Error(`${method.toUpperCase()} ${path} is not in the document`);
    const entry = operation.responses[String(status)];
    if (!entry) return undefined;
    if ('$ref' in entry) {
      const name = entry.$ref.replace('#/components/responses/', '');
      return { response: this.document.components.responses[name], pointer: ['components', 'responses', name] };
    }
    return { response: entry, pointer: ['paths', path, method, 'responses', String(status)] };
  }

  header(entry: Header | { $ref: string }): Header {
    return '$ref' in entry ? this.document.components.headers[entry.$ref.replace('#/components/headers/', '')] : entry;
  }
}

/** An answer as the tests read it: status, headers and the raw body text. */
export interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

export async function answerOf(response: globalThis.Response): Promise<Answer> {
  return { status: response.status, headers: response.headers, text: await response.text() };
}

const isJson = (mediaType: string): boolean => mediaType === 'application/json' || mediaType.endsWith('+json');

/**
 * Whether an answer is one the document describes for the operation: its status is documented,
 * the documented required headers are there, its Content-Type is one the response lists and a JSON
 * body validates against that media type's schema. Returns what does not match (empty: it matches).
 */
export function mismatches(validator: OpenApiValidator, method: HttpMethod, path: string, answer: Answer): string[] {
  const found = validator.response(method, path, answer.status);
  const documented = Object.keys(validator.document.paths[path]?.[method]?.responses ?? {}).join(', ');
  if (!found) return [`status ${answer.status} is not documented for ${method.toUpperCase()} ${path} (documented: ${documented}); body ${answer.text.slice(0, 300)}`];
  const { response, pointer } = found;
  const problems: string[] = [];
  for (const [name, entry] of Object.entries(response.headers ?? {})) {
    if (validator.header(entry).required && !answer.headers.has(name)) problems.push(`header ${name} is missing`);
  }
  const contentType = answer.headers.get('content-type')?.split(';')[0].trim().toLowerCase();
  if (!answer.text) {
    if (response.content && !response['x-body-optional']) problems.push(`no body, but the document describes ${Object.keys(response.content).join(', ')}`);
    return problems;
  }
  if (!response.content) return [...problems, `a body (${contentType}) where the document describes none`];
  const media: MediaType | undefined = contentType ? response.content[contentType] : undefined;
  if (!media || !contentType) return [...problems, `Content-Type ${contentType} is not one of ${Object.keys(response.content).join(', ')}`];
  if (!isJson(contentType)) return problems;
  let body: unknown;
  try {
    body = JSON.parse(answer.text);
  } catch {
    return [...problems, `the ${contentType} body is not JSON`];
  }
  const validate = validator.validatorAt(...pointer, 'content', contentType, 'schema');
  if (!validate(body)) {
    problems.push(`body does not match ${contentType} schema: ${validator.ajv.errorsText(validate.errors, { separator: '; ' })}; body ${answer.text.slice(0, 500)}`);
  }
  return problems;
}

let shared: OpenApiValidator | undefined;

/** Fails the test with every way the answer differs from what the document says of the operation. */
export function expectMatchesDocument(method: HttpMethod, path: string, answer: Answer): void {
  shared ??= new OpenApiValidator();
  expect({ operation: `${method.toUpperCase()} ${path} -> ${answer.status}`, mismatches: mismatches(shared, method, path, answer) }).toEqual({
    operation: `${method.toUpperCase()} ${path} -> ${answer.status}`,
    mismatches: [],
  });
}
