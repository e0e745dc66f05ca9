/**
 * Checks answers against the gateway's own OpenAPI 3.1 document: the status must be declared for the operation,
 * the content type must be one the declared answer lists (no body when it lists none), the body must be valid
 * against its JSON Schema (2020-12, as OpenAPI 3.1 uses it; Ajv 8) and declared required headers must be sent.
 *
 * Stricter than the document on one point, on purpose: an object schema that names its properties and says
 * nothing of others is checked as closed (`additionalProperties: false`), so a field the API answers but the
 * document never names is found. The document itself stays open, so that integrators' validators keep working
 * when a later version adds a field.
 */
import Ajv2020 from 'ajv8/dist/2020';
import type { ValidateFunction } from 'ajv8/dist/2020';
import type request from 'supertest';

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;
type Method = (typeof METHODS)[number];

interface ResponseObject {
  description?: string;
  content?: Record<string, { schema?: unknown }>;
  headers?: Record<string, { required?: boolean }>;
}

interface OperationObject {
  responses?: Record<string, ResponseObject>;
}

export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Partial<Record<Method, OperationObject>>>;
  components: { schemas: Record<string, unknown> };
}

/** An answer as received: status, headers and the body's exact text. */
export interface Answer {
  method: string;
  /** The request path (a query string is ignored). */
  path: string;
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** RFC 3339 date-time (with an offset or Z), as `format: date-time` means. */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** A deep copy of `node` where every object schema that lists properties is closed to others. */
function closed(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(closed);
  if (node === null || typeof node !== 'object') return node;
  const result: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    // Examples are data, not schemas.
    result[key] = key === 'example' || key === 'examples' ? value : closed(value);
  }
  if (
    typeof result.properties === 'object' &&
    result.additionalProperties === undefined &&
    result.unevaluatedProperties === undefined
  ) {
    result.additionalProperties = false;
  }
  return result;
}

/** `#/components/schemas/X` → `openapi.json#/components/schemas/X`: refs resolved against the registered document. */
function rebased(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(rebased);
  if (node === null || typeof node !== 'object') return node;
  const result: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    result[key] =
      key === '$ref' && typeof value === 'string' && value.startsWith('#/')
        ? `openapi.json${value}`
        : rebased(value);
  }
  return result;
}

function mediaOf(contentType: string | string[] | undefined): string | undefined {
  const value = Array.isArray(contentType) ? contentType[0] : contentType;
  return value?.split(';')[0].trim().toLowerCase();
}

const isJson = (media: string) => media === 'application/json' || media.endsWith('+json');

export class OpenApiContract {
  private readonly ajv: Ajv2020;
  private readonly validators = new Map<string, ValidateFunction>();
  private readonly routes: Array<{ template: string; method: Method; pattern: RegExp; params: number }> = [];
  /** `METHOD template` → the statuses seen. */
  readonly exercised = new Map<string, Set<number>>();

  constructor(readonly document: OpenApiDocument) {
    this.ajv = new Ajv2020({ strict: false, allErrors: true });
    this.ajv.addFormat('date-time', {
      type: 'string',
      validate: (s: string) => DATE_TIME.test(s) && !Number.isNaN(Date.parse(s)),
    });
    this.ajv.addSchema(rebased(closed({ components: document.components })) as object, 'openapi.json');
    for (const [template, item] of Object.entries(document.paths)) {
      for (const method of METHODS) {
        if (!item[method]) continue;
        const params = (template.match(/\{[^}]+\}/g) ?? []).length;
        const source = template
          .split(/\{[^}]+\}/)
          .map((part) => part.replace(/[.*+?^$()|[\]\\]/g, '\\$&'))
          .join('[^/]+');
        this.routes.push({ template, method, pattern: new RegExp(`^${source}$`), params });
      }
    }
    // The most literal template first: /v1/parameters/pause before a /v1/parameters/{x}.
    this.routes.sort((a, b) => a.params - b.params);
  }

  /** `METHOD template` of every operation in the document. */
  operations(): string[] {
    return this.routes.map((r) => `${r.method.toUpperCase()} ${r.template}`).sort();
  }

  /** The document's operation for a request, or undefined (a path it does not describe). */
  operationOf(method: string, path: string): { key: string; operation: OperationObject } | undefined {
    const m = method.toLowerCase();
    const route = this.routes.find((r) => r.method === m && r.pattern.test(path));
    if (!route) return undefined;
    return {
      key: `${m.toUpperCase()} ${route.template}`,
      operation: this.document.paths[route.template][route.method]!,
    };
  }

  /** Every way `answer` differs from what the document declares (empty: it conforms). */
  check(answer: Answer): string[] {
    const found = this.operationOf(answer.method, answer.path);
    const where = `${answer.method.toUpperCase()} ${answer.path} → ${answer.status}`;
    if (!found) return [`${where}: no operation in the document`];
    const seen = this.exercised.get(found.key) ?? new Set<number>();
    seen.add(answer.status);
    this.exercised.set(found.key, seen);
    const declared = found.operation.responses?.[String(answer.status)] ?? found.operation.responses?.default;
    if (!declared) {
      const statuses = Object.keys(found.operation.responses ?? {}).join(', ');
      return [
        `${where}: status not declared for ${found.key} (declared: ${statuses}); body ${answer.text.slice(0, 200)}`,
      ];
    }
    const problems: string[] = [];
    for (const [name, header] of Object.entries(declared.headers ?? {})) {
      if (header.required && answer.headers[name.toLowerCase()] === undefined) {
        problems.push(`${where}: declared header ${name} missing`);
      }
    }
    const content = declared.content ?? {};
    const media = mediaOf(answer.headers['content-type']);
    if (Object.keys(content).length === 0) {
      if (answer.text.length > 0)
        problems.push(`${where}: a body (${media}) where the document declares none`);
      return problems;
    }
    if (!media || !content[media]) {
      problems.push(
        `${where}: content type ${media} not declared (declared: ${Object.keys(content).join(', ')})`,
      );
      return problems;
    }
    const schema = content[media].schema;
    if (schema === undefined) return problems;
    let body: unknown = answer.text;
    if (isJson(media)) {
      try {
        body = JSON.parse(answer.text);
      } catch {
        return [...problems, `${where}: ${media} body is not JSON: ${answer.text.slice(0, 200)}`];
      }
    }
    const validate = this.validator(`${found.key} ${answer.status} ${media}`, schema);
    if (!validate(body)) {
      const errors = (validate.errors ?? [])
        .slice(0, 8)
        .map((e) => `${e.instancePath || '/'} ${e.message}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`);
      problems.push(
        `${where}: body invalid against the document: ${errors.join('; ')}; body ${answer.text.slice(0, 300)}`,
      );
    }
    return problems;
  }

  /** Whether `body` is valid against the schema of `status` `media` of `METHOD template` (for unit checks). */
  validates(method: string, template: string, status: number, media: string, body: unknown): boolean {
    const operation = this.document.paths[template]?.[method.toLowerCase() as Method];
    const schema = operation?.responses?.[String(status)]?.content?.[media]?.schema;
    if (schema === undefined) throw new Error(`no schema for ${method} ${template} ${status} ${media}`);
    return this.validator(`${method.toUpperCase()} ${template} ${status} ${media}`, schema)(body);
  }

  private validator(key: string, schema: unknown): ValidateFunction {
    let validate = this.validators.get(key);
    if (!validate) {
      validate = this.ajv.compile(rebased(closed(schema)) as object);
      this.validators.set(key, validate);
    }
    return validate;
  }
}

const AGENT_METHODS = new Set(['get', 'post', 'put', 'patch', 'delete']);

interface ObservedTest {
  method: string;
  url: string;
  on(event: 'response', listener: (res: request.Response) => void): unknown;
}

/**
 * A supertest agent whose every answer is checked against the document: what differs goes to `violations`
 * (a listener cannot fail the test; the test asserts the list is empty).
 */
export function checkedAgent<T extends ReturnType<typeof request>>(
  agent: T,
  contract: OpenApiContract,
  violations: string[],
): T {
  return new Proxy(agent, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof property !== 'string' || !AGENT_METHODS.has(property) || typeof value !== 'function')
        return value;
      return (...args: unknown[]) => {
        const test = (value as (...a: unknown[]) => unknown).apply(target, args) as ObservedTest;
        test.on('response', (res) => {
          violations.push(
            ...contract.check({
              method: test.method,
              path: new URL(test.url).pathname,
              status: res.status,
              headers: res.headers as Record<string, string>,
              text: res.text ?? '',
            }),
          );
        });
        return test;
      };
    },
  });
}
