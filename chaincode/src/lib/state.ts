import { Context } from 'fabric-contract-api';
import { canonicalJsonBytes } from './canonical-json';

/**
 * World-state access: canonical JSON values, composite-key indexes and paginated queries.
 */

/** Value of an index entry: the key carries the information, the value is a single NUL byte. */
const INDEX_VALUE = Uint8Array.of(0);

export interface StateRecord {
  key: string;
  value: Uint8Array;
}

export interface StatePage {
  records: StateRecord[];
  /** Where the next page starts; '' once the query is exhausted. */
  bookmark: string;
  fetchedCount: number;
}

/** A composite-key query: every key of `objectType` whose attributes start with `attributes`. */
export interface PartialKeyQuery {
  objectType: string;
  attributes: readonly string[];
}

/** A range query over simple keys: `[startKey, endKey)`. */
export interface RangeQuery {
  startKey: string;
  endKey: string;
}

export function compositeKey(ctx: Context, objectType: string, attributes: readonly string[]): string {
  return ctx.stub.createCompositeKey(objectType, [...attributes]);
}

/** The attributes of a composite key created by `compositeKey`. */
export function keyAttributes(ctx: Context, key: string): string[] {
  return ctx.stub.splitCompositeKey(key).attributes;
}

/** The parsed JSON at `key`, or undefined when the key is absent. */
export async function getJson(ctx: Context, key: string): Promise<unknown> {
  const bytes = await ctx.stub.getState(key);
  if (!bytes || bytes.length === 0) return undefined;
  return parseJson(bytes);
}

export async function exists(ctx: Context, key: string): Promise<boolean> {
  const bytes = await ctx.stub.getState(key);
  return Boolean(bytes && bytes.length > 0);
}

/** Write `value` as canonical JSON. */
export async function putJson(ctx: Context, key: string, value: unknown): Promise<void> {
  await ctx.stub.putState(key, canonicalJsonBytes(value));
}

/** Add the index entry `objectType~attributes`. */
export async function putIndex(
  ctx: Context,
  objectType: string,
  attributes: readonly string[],
): Promise<void> {
  await ctx.stub.putState(compositeKey(ctx, objectType, attributes), INDEX_VALUE);
}

export async function deleteIndex(
  ctx: Context,
  objectType: string,
  attributes: readonly string[],
): Promise<void> {
  await ctx.stub.deleteState(compositeKey(ctx, objectType, attributes));
}

/**
 * One page of a composite-key or range query, in key order, with Fabric's bookmark.
 * Fabric allows paginated queries only in read-only (evaluated) transactions.
 */
export async function queryPage(
  ctx: Context,
  query: PartialKeyQuery | RangeQuery,
  pageSize: number,
  bookmark: string,
): Promise<StatePage> {
  const response =
    'objectType' in query
      ? await ctx.stub.getStateByPartialCompositeKeyWithPagination(
          query.objectType,
          [...query.attributes],
          pageSize,
          bookmark,
        )
      : await ctx.stub.getStateByRangeWithPagination(query.startKey, query.endKey, pageSize, bookmark);
  const { iterator, metadata } = response;
  const records: StateRecord[] = [];
  try {
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
      records.push({ key: next.value.key, value: next.value.value });
    }
  } finally {
    await iterator.close();
  }
  return {
    records,
    bookmark: metadata?.bookmark ?? '',
    fetchedCount: metadata?.fetchedRecordsCount ?? records.length,
  };
}

/** Parse a state value written by `putJson`. */
export function parseJson(value: Uint8Array): unknown {
  return JSON.parse(Buffer.from(value).toString('utf8')) as unknown;
}

/**
 * Every record under a partial composite key, in key order, without pagination (so it can run in a write;
 * Fabric re-checks the range at validation). Only for sets known to stay small, e.g. one unit's issuances.
 */
export async function queryAll(
  ctx: Context,
  objectType: string,
  attributes: readonly string[],
): Promise<StateRecord[]> {
  const iterator = await ctx.stub.getStateByPartialCompositeKey(objectType, [...attributes]);
  const records: StateRecord[] = [];
  try {
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
      records.push({ key: next.value.key, value: next.value.value });
    }
  } finally {
    await iterator.close();
  }
  return records;
}
