import { optionalInteger, optionalString } from './validate';

/** Page size and bookmark of a paginated read, from its JSON query. */
export interface PageRequest {
  pageSize: number;
  bookmark: string;
}

const PAGE_SIZE = { min: 1, max: 1000, fallback: 50 };
const BOOKMARK_MAX = 1024;

/** `pageSize` (1-1000, default 50) and `bookmark` ('' for the first page) from a query's fields. */
export function pageRequest(fields: Record<string, unknown>): PageRequest {
  return {
    pageSize: optionalInteger(fields.pageSize, 'pageSize', PAGE_SIZE),
    bookmark: optionalString(fields.bookmark, 'bookmark', BOOKMARK_MAX),
  };
}

/** Fields every page query accepts. */
export const PAGE_FIELDS = ['pageSize', 'bookmark'] as const;
