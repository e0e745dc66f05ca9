/**
 * Types of the gateway's operations, derived from the generated OpenAPI types (generated/openapi.ts) by
 * operationId: a changed document, regenerated, changes them, and the client's methods fail to compile where they
 * no longer fit.
 */
import type { components, operations } from './generated/openapi';

export type { components, operations, paths } from './generated/openapi';

/** Every schema of the document by name: `Schemas['TradeStatusDto']`. */
export type Schemas = components['schemas'];

export type OperationId = keyof operations;

type Parameters<K extends OperationId> = operations[K]['parameters'];

/** The path parameters of an operation (never when it has none). */
export type PathParams<K extends OperationId> = NonNullable<Parameters<K>['path']>;

/** The query parameters of an operation (never when it has none). */
export type QueryParams<K extends OperationId> = NonNullable<Parameters<K>['query']>;

type JsonContent<Body> = Body extends { content: { 'application/json': infer Json } } ? Json : never;

/** The JSON request body of an operation (never when it takes none, or takes no JSON). */
export type RequestBody<K extends OperationId> = JsonContent<NonNullable<operations[K]['requestBody']>>;

type SuccessStatus = 200 | 201 | 202 | 204;

type BodyOf<Response> = Response extends { content: { 'application/json': infer Body } }
  ? Body
  : Response extends { content: { 'text/html': infer Html } }
    ? Html
    : Response extends { content: { 'text/csv': infer Csv } }
      ? Csv
      : undefined;

/**
 * The body of an operation's success answer: its JSON, the HTML of a page, the text of an export (CSV, or NDJSON
 * when asked for), undefined for 204.
 */
export type SuccessBody<K extends OperationId> = {
  [S in keyof operations[K]['responses']]: S extends SuccessStatus
    ? BodyOf<operations[K]['responses'][S]>
    : never;
}[keyof operations[K]['responses']];

/** The operations that answer a page `{ items, nextCursor }` and take a `cursor`. */
export type PaginatedOperationId = {
  [K in OperationId]: SuccessBody<K> extends { items: unknown[]; nextCursor?: unknown }
    ? 'cursor' extends keyof QueryParams<K>
      ? K
      : never
    : never;
}[OperationId];

/** One item of a paginated operation's pages. */
export type PageItem<K extends PaginatedOperationId> =
  SuccessBody<K> extends { items: Array<infer Item> } ? Item : never;
