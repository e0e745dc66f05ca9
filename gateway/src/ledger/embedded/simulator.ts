/**
 * The transaction simulator: what fabric-shim's ChaincodeStub talks to in place of the peer's gRPC handler.
 * It follows Fabric's txmgr: reads see committed state only (no read-your-writes), every read records the
 * version it saw, range queries record the keys they returned for phantom checks at validation, writes keep
 * the last value per key, and paginated queries may not be mixed with writes.
 */
import { peer } from '@hyperledger/fabric-protos';
import type { KvMetadataWrite, KvRead, KvWrite, NamespaceRwSet, RangeQuery } from './fabric/protos';
import type { HistoryEntry, VersionedValue } from './storage/ledger-store';

/** The committed state a simulation reads: a view of the ledger store. */
export interface StateReader {
  getState(namespace: string, key: string): Promise<VersionedValue | undefined>;
  scanRange(
    namespace: string,
    startKey: string,
    endKey: string,
  ): AsyncGenerator<{ key: string; value: VersionedValue }>;
  getHistory(namespace: string, key: string): AsyncGenerator<HistoryEntry>;
}

interface ShimIterator<T> {
  next(): Promise<{ value: T; done: boolean }>;
  close(): Promise<void>;
}

const VALIDATION_PARAMETER = 'VALIDATION_PARAMETER';

export class SimulationError extends Error {
  override readonly name = 'SimulationError';
}

function assertPublic(collection: string): void {
  if (collection) {
    throw new SimulationError(
      `private data collection '${collection}' is not defined for this chaincode: the embedded ledger runs public state only`,
    );
  }
}

export class TxSimulator {
  private readonly reads = new Map<string, KvRead>();
  private readonly rangeQueries: RangeQuery[] = [];
  private readonly writes = new Map<string, KvWrite>();
  private readonly metadataWrites = new Map<string, KvMetadataWrite>();
  private paginatedQueryDone = false;
  private writeDone = false;
  private done = false;

  constructor(
    private readonly state: StateReader,
    private readonly namespace: string,
  ) {}

  // ---- fabric-shim handler interface -------------------------------------------------------------

  async handleGetState(collection: string, key: string): Promise<Buffer> {
    assertPublic(collection);
    const versioned = await this.read(key);
    return versioned ? Buffer.from(versioned.value) : Buffer.alloc(0);
  }

  async handlePutState(collection: string, key: string, value: Uint8Array): Promise<void> {
    assertPublic(collection);
    this.beforeWrite(key);
    this.writes.set(key, { key, value: Buffer.from(value), isDelete: false });
  }

  async handleDeleteState(collection: string, key: string): Promise<void> {
    assertPublic(collection);
    this.beforeWrite(key);
    this.writes.set(key, { key, isDelete: true });
  }

  async handlePutStateMetadata(
    collection: string,
    key: string,
    metakey: string,
    value: Uint8Array,
  ): Promise<void> {
    assertPublic(collection);
    this.beforeWrite(key);
    // Fabric writes the key's whole metadata map: start from the committed entries.
    const existing = this.metadataWrites.get(key)?.entries ?? (await this.committedMetadataEntries(key));
    const entries = existing.filter((e) => e.name !== metakey);
    entries.push({ name: metakey, value: Buffer.from(value) });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    this.metadataWrites.set(key, { key, entries });
  }

  async handleGetStateMetadata(collection: string, key: string): Promise<Record<string, Uint8Array>> {
    assertPublic(collection);
    const versioned = await this.read(key);
    const result: Record<string, Uint8Array> = {};
    for (const [name, value] of Object.entries(versioned?.metadata ?? {})) result[name] = value;
    return result;
  }

  async handleGetStateByRange(
    collection: string,
    startKey: string,
    endKey: string,
    _channelId: string,
    _txId: string,
    metadata?: Uint8Array,
  ): Promise<{
    iterator: ShimIterator<{ key: string; value: Buffer }>;
    metadata?: { bookmark: string; fetchedRecordsCount: number };
  }> {
    assertPublic(collection);
    this.assertOpen();
    if (!metadata) return { iterator: this.rangeIterator(startKey, endKey) };

    if (this.writeDone) {
      throw new SimulationError(
        'transaction has already performed write(s), paginated queries are not supported',
      );
    }
    this.paginatedQueryDone = true;
    const query = peer.QueryMetadata.deserializeBinary(metadata);
    const pageSize = query.getPagesize();
    if (pageSize <= 0) throw new SimulationError(`page size must be positive, got ${pageSize}`);
    const bookmark = query.getBookmark();
    const from = bookmark && bookmark > startKey ? bookmark : startKey;
    // Fetch one record past the page: its key is the bookmark the next page starts from.
    const page: Array<{ key: string; value: VersionedValue }> = [];
    let next = '';
    for await (const entry of this.state.scanRange(this.namespace, from, endKey)) {
      if (page.length === pageSize) {
        next = entry.key;
        break;
      }
      page.push(entry);
    }
    this.rangeQueries.push({
      startKey: from,
      endKey,
      itrExhausted: next === '',
      reads: page.map((e) => ({ key: e.key, version: e.value.version })),
    });
    let i = 0;
    const iterator: ShimIterator<{ key: string; value: Buffer }> = {
      next: async () =>
        i < page.length
          ? { value: { key: page[i].key, value: Buffer.from(page[i++].value.value) }, done: false }
          : { value: undefined as never, done: true },
      close: async () => undefined,
    };
    return { iterator, metadata: { bookmark: next, fetchedRecordsCount: page.length } };
  }

  async handleGetQueryResult(): Promise<never> {
    throw new SimulationError(
      'rich queries (getQueryResult) need CouchDB; the gec channel runs LevelDB state, use key ranges and composite keys',
    );
  }

  async handleGetHistoryForKey(key: string): Promise<ShimIterator<unknown>> {
    this.assertOpen();
    // History is not re-checked at validation (Fabric's rule): nothing is recorded in the read set.
    const source = this.state.getHistory(this.namespace, key);
    return {
      next: async () => {
        const item = await source.next();
        if (item.done) return { value: undefined, done: true };
        const entry = item.value;
        return {
          value: {
            txId: entry.txId,
            value: Buffer.from(entry.value),
            isDelete: entry.isDelete,
            timestamp: { seconds: entry.timestamp.seconds, nanos: entry.timestamp.nanos },
          },
          done: false,
        };
      },
      close: async () => {
        await source.return(undefined);
      },
    };
  }

  async handleInvokeChaincode(chaincodeName: string): Promise<never> {
    throw new SimulationError(
      `chaincode-to-chaincode calls are not used by gec (asked for '${chaincodeName}')`,
    );
  }

  async handleGetPrivateDataHash(collection: string): Promise<never> {
    assertPublic(collection || 'unknown');
    throw new SimulationError('private data is not supported');
  }

  async handlePurgeState(collection: string): Promise<never> {
    assertPublic(collection || 'unknown');
    throw new SimulationError('private data is not supported');
  }

  async handleQueryStateClose(): Promise<void> {
    // Iterators are closed through the objects returned above.
  }

  // ---- results ------------------------------------------------------------------------------------

  /** Close the simulation and return its read/write set, keys sorted as Fabric's rwset builder does. */
  results(): NamespaceRwSet {
    this.done = true;
    const byKey = <T extends { key: string }>(items: Iterable<T>) =>
      [...items].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return {
      namespace: this.namespace,
      reads: byKey(this.reads.values()),
      rangeQueries: this.rangeQueries,
      writes: byKey(this.writes.values()),
      metadataWrites: byKey(this.metadataWrites.values()),
    };
  }

  hasWrites(): boolean {
    return this.writes.size > 0 || this.metadataWrites.size > 0;
  }

  // ---- internals -----------------------------------------------------------------------------------

  private assertOpen(): void {
    if (this.done) throw new SimulationError('the transaction simulation has already finished');
  }

  private beforeWrite(key: string): void {
    this.assertOpen();
    if (!key) throw new SimulationError('key must not be empty');
    if (this.paginatedQueryDone) {
      throw new SimulationError('txSimulator does not support write operations after paginated queries');
    }
    this.writeDone = true;
  }

  private async read(key: string): Promise<VersionedValue | undefined> {
    this.assertOpen();
    const versioned = await this.state.getState(this.namespace, key);
    // The first read of a key is the one validated (Fabric keeps the first version seen).
    if (!this.reads.has(key)) this.reads.set(key, { key, version: versioned?.version });
    return versioned;
  }

  private async committedMetadataEntries(key: string): Promise<Array<{ name: string; value: Uint8Array }>> {
    const versioned = await this.read(key);
    return Object.entries(versioned?.metadata ?? {}).map(([name, value]) => ({ name, value }));
  }

  private rangeIterator(startKey: string, endKey: string): ShimIterator<{ key: string; value: Buffer }> {
    const source = this.state.scanRange(this.namespace, startKey, endKey);
    const query: RangeQuery = { startKey, endKey, itrExhausted: false, reads: [] };
    this.rangeQueries.push(query);
    return {
      next: async () => {
        const item = await source.next();
        if (item.done) {
          query.itrExhausted = true;
          return { value: undefined as never, done: true };
        }
        query.reads.push({ key: item.value.key, version: item.value.value.version });
        return { value: { key: item.value.key, value: Buffer.from(item.value.value.value) }, done: false };
      },
      close: async () => {
        await source.return(undefined);
      },
    };
  }
}

export { VALIDATION_PARAMETER };
