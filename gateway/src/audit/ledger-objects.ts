import type { IdentityRef, LedgerPort } from '../ledger/port';

/** Objects read per evaluate (the chaincode's largest page). */
const PAGE_SIZE = 1000;

/** One world-state object as the ledger stores it. */
export interface LedgerObject {
  /** Its key's attributes, e.g. `[lotId]`, `[meterId, period]`. */
  key: string[];
  /** Its stored JSON, parsed. */
  value: Record<string, unknown>;
}

/**
 * Every stored object of one type (`queries:ListObjects`), in key order, a page of 1,000 per evaluate: what an
 * audit compares the gateway's own copies with. Works alike on the embedded ledger and on a Fabric peer.
 */
export async function* ledgerObjects(
  ledger: LedgerPort,
  identity: IdentityRef,
  type: string,
): AsyncGenerator<LedgerObject> {
  let bookmark = '';
  for (;;) {
    const bytes = await ledger.evaluate({
      identity,
      transaction: 'queries:ListObjects',
      args: [JSON.stringify({ type, pageSize: PAGE_SIZE, bookmark })],
    });
    const page = JSON.parse(Buffer.from(bytes).toString('utf8')) as {
      items: Array<{ key: string[]; value: string }>;
      bookmark: string;
    };
    for (const item of page.items) {
      yield { key: item.key, value: JSON.parse(item.value) as Record<string, unknown> };
    }
    if (!page.bookmark || page.items.length === 0) return;
    bookmark = page.bookmark;
  }
}

/** Byte order of UTF-8 strings, attribute by attribute (a shorter key first): the ledger's key order. */
export function compareKeys(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const order = Buffer.compare(Buffer.from(a[i], 'utf8'), Buffer.from(b[i], 'utf8'));
    if (order !== 0) return order;
  }
  return a.length - b.length;
}
