/**
 * The parts of OpenAPI 3.1 (https://spec.openapis.org/oas/v3.1.0) and of JSON Schema 2020-12 this
 * app's document uses, typed so that a misspelt field fails the build instead of the validator.
 */
export type JsonType = 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean' | 'null';

export interface Schema {
  $ref?: string;
  title?: string;
  description?: string;
  type?: JsonType | JsonType[];
  enum?: readonly (string | number | boolean | null)[];
  const?: string | number | boolean | null;
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  items?: Schema;
  minItems?: number;
  maxItems?: number;
  properties?: Record<string, Schema>;
  required?: readonly string[];
  additionalProperties?: boolean | Schema;
  allOf?: Schema[];
  anyOf?: Schema[];
  oneOf?: Schema[];
  examples?: unknown[];
}

export interface Example {
  summary?: string;
  description?: string;
  value: unknown;
}

export interface MediaType {
  schema: Schema;
  examples?: Record<string, Example>;
}

export interface Header {
  description: string;
  required?: boolean;
  schema: Schema;
}

export interface Response {
  description: string;
  /** An extension: the status may also come without a body (the Functions host's own 401). */
  'x-body-optional'?: boolean;
  headers?: Record<string, Header | { $ref: string }>;
  content?: Record<string, MediaType>;
}

export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  description: string;
  required?: boolean;
  schema: Schema;
  examples?: Record<string, Example>;
}

export interface RequestBody {
  description: string;
  required: boolean;
  content: Record<string, MediaType>;
}

export type SecurityRequirement = Record<string, string[]>;

export interface Operation {
  operationId: string;
  summary: string;
  description?: string;
  tags?: string[];
  parameters?: Parameter[];
  requestBody?: RequestBody;
  responses: Record<string, Response | { $ref: string }>;
  /** `[]`: anonymous. Absent: the document's own `security`. */
  security?: SecurityRequirement[];
}

export type HttpMethod = 'get' | 'post' | 'put' | 'delete' | 'patch';

export type PathItem = Partial<Record<HttpMethod, Operation>> & { description?: string };

export type SecurityScheme =
  | { type: 'apiKey'; name: string; in: 'header' | 'query'; description: string }
  | { type: 'http'; scheme: 'bearer'; bearerFormat?: string; description: string };

export interface OpenApiDocument {
  openapi: '3.1.0';
  info: { title: string; version: string; description: string; license?: { name: string; identifier: string } };
  jsonSchemaDialect?: string;
  servers: { url: string; description: string }[];
  tags?: { name: string; description: string }[];
  security: SecurityRequirement[];
  paths: Record<string, PathItem>;
  components: {
    schemas: Record<string, Schema>;
    responses: Record<string, Response>;
    headers: Record<string, Header>;
    securitySchemes: Record<string, SecurityScheme>;
  };
}
