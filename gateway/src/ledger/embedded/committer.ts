/**
 * The committing peer's validation, in block order, with Fabric's rules and codes:
 *   malformed → BAD_PAYLOAD; wrong channel → TARGET_CHAIN_NOT_FOUND; bad creator signature →
 *   BAD_CREATOR_SIGNATURE; txid not bound to nonce+creator → BAD_PROPOSAL_TXID; txid seen before (ledger or
 *   earlier in the block) → DUPLICATE_TXID; endorsements not satisfying the chaincode policy or a written
 *   key's own VALIDATION_PARAMETER policy, or a written key whose policy an earlier transaction of the block
 *   changed → ENDORSEMENT_POLICY_FAILURE; a read version that is no longer
 *   current (counting earlier valid transactions of the same block) → MVCC_READ_CONFLICT; a range query whose
 *   re-execution differs → PHANTOM_READ_CONFLICT. Only valid transactions change state.
 */
import { common, peer } from '@hyperledger/fabric-protos';
import {
  computeTxId,
  decodeTransaction,
  ENDORSER_TRANSACTION,
  type DecodedTransaction,
  type NamespaceRwSet,
  type RangeQuery,
} from './fabric/protos';
import { evaluatePolicy, policyFromEnvelope, type EndorsingIdentity, type Policy } from './policy';
import { VALIDATION_PARAMETER } from './simulator';
import type {
  BlockUpdate,
  KeyWrite,
  LedgerStore,
  MetadataWrite,
  TxUpdate,
  Version,
  VersionedValue,
} from './storage/ledger-store';
import type { MspVerifier } from './msp';

const CODE = peer.TxValidationCode;

/**
 * Derive the state update of a validated block (its TRANSACTIONS_FILTER says which transactions count).
 * `decoded` are the block's transactions already decoded by validation, in order; recovery, which starts
 * from stored bytes, leaves it out and they are decoded here.
 */
export function updateFromBlock(
  block: common.Block,
  namespace: string,
  decoded?: ReadonlyArray<DecodedTransaction | undefined>,
): BlockUpdate {
  const blockNumber = block.getHeader()?.getNumber() ?? 0;
  const filter =
    block.getMetadata()?.getMetadataList_asU8()[common.BlockMetadataIndex.TRANSACTIONS_FILTER] ??
    new Uint8Array();
  const txs: TxUpdate[] = block
    .getData()!
    .getDataList_asU8()
    .map((envelope, txNum) => {
      const code = filter[txNum] ?? CODE.NOT_VALIDATED;
      const tx = decoded ? decoded[txNum] : decodeOrUndefined(envelope);
      const update: TxUpdate = {
        txId: tx?.txId ?? '',
        txNum,
        validationCode: code,
        timestamp: tx?.timestamp ?? { seconds: 0, nanos: 0 },
        writes: [],
        metadataWrites: [],
      };
      if (code === CODE.VALID && tx?.endorsed) {
        for (const set of tx.endorsed.rwSets) {
          if (set.namespace !== namespace) continue;
          update.writes.push(
            ...set.writes.map((w): KeyWrite => ({
              namespace,
              key: w.key,
              isDelete: w.isDelete,
              value: w.isDelete ? undefined : Buffer.from(w.value ?? new Uint8Array()),
            })),
          );
          update.metadataWrites.push(
            ...set.metadataWrites.map((m): MetadataWrite => ({
              namespace,
              key: m.key,
              metadata: Object.fromEntries(m.entries.map((e) => [e.name, Buffer.from(e.value)])),
            })),
          );
        }
      }
      return update;
    });
  return { blockNumber, txs };
}

function decodeOrUndefined(envelope: Uint8Array): DecodedTransaction | undefined {
  try {
    return decodeTransaction(envelope);
  } catch {
    return undefined;
  }
}

/** State as seen during validation: committed state overlaid with earlier valid transactions of the block. */
class BlockOverlay {
  private readonly pending = new Map<string, VersionedValue | null>();

  constructor(
    private readonly store: LedgerStore,
    private readonly namespace: string,
  ) {}

  /** Whether an earlier valid transaction of the block wrote `key` (its value or its metadata). */
  written(key: string): boolean {
    return this.pending.has(key);
  }

  async get(key: string): Promise<VersionedValue | undefined> {
    const local = this.pending.get(key);
    if (local !== undefined) return local ?? undefined;
    return this.store.getState(this.namespace, key);
  }

  apply(rwSet: NamespaceRwSet, version: Version, committed: Map<string, VersionedValue | undefined>): void {
    for (const w of rwSet.writes) {
      const before = committed.get(w.key);
      this.pending.set(
        w.key,
        w.isDelete
          ? null
          : { value: Buffer.from(w.value ?? new Uint8Array()), version, metadata: before?.metadata },
      );
    }
    for (const m of rwSet.metadataWrites) {
      const current = this.pending.get(m.key) ?? committed.get(m.key);
      if (!current) continue;
      this.pending.set(m.key, {
        ...current,
        version,
        metadata: Object.fromEntries(m.entries.map((e) => [e.name, Buffer.from(e.value)])),
      });
    }
  }

  /** Re-execute a range query over committed state merged with the block's pending writes, in key order. */
  async *scan(startKey: string, endKey: string): AsyncGenerator<{ key: string; version: Version }> {
    const inRange = (key: string) => key >= startKey && (endKey === '' || key < endKey);
    const pendingKeys = [...this.pending.keys()].filter(inRange).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    let p = 0;
    for await (const entry of this.store.scanRange(this.namespace, startKey, endKey)) {
      while (p < pendingKeys.length && pendingKeys[p] < entry.key) {
        const value = this.pending.get(pendingKeys[p]);
        if (value) yield { key: pendingKeys[p], version: value.version };
        p++;
      }
      if (p < pendingKeys.length && pendingKeys[p] === entry.key) {
        const value = this.pending.get(pendingKeys[p]);
        if (value) yield { key: entry.key, version: value.version };
        p++;
        continue;
      }
      yield { key: entry.key, version: entry.value.version };
    }
    for (; p < pendingKeys.length; p++) {
      const value = this.pending.get(pendingKeys[p]);
      if (value) yield { key: pendingKeys[p], version: value.version };
    }
  }
}

function sameVersion(a: Version | undefined, b: Version | undefined): boolean {
  if (!a || !b) return !a && !b;
  return a.blockNum === b.blockNum && a.txNum === b.txNum;
}

export interface ValidationContext {
  channelId: string;
  namespace: string;
  verifier: MspVerifier;
  chaincodePolicy: Policy;
  store: LedgerStore;
}

export interface ValidatedTransaction {
  txNum: number;
  code: number;
  decoded?: DecodedTransaction;
}

/** What the order-independent checks of a transaction found. */
interface Prechecked {
  decoded?: DecodedTransaction;
  /** Set when the transaction already failed a check that does not depend on its place in the block. */
  code?: number;
  endorsers: EndorsingIdentity[];
}

/**
 * Validate every transaction of a block and write the codes into its TRANSACTIONS_FILTER. As in Fabric, the
 * checks that do not depend on other transactions (structure, creator signature, txid binding, endorsement
 * signatures) run for the whole block in parallel; duplicates, policies (a key's policy may be changed by an
 * earlier transaction of the block), MVCC and phantoms are then checked in block order.
 */
export async function validateBlock(
  block: common.Block,
  ctx: ValidationContext,
): Promise<ValidatedTransaction[]> {
  const blockNumber = block.getHeader()!.getNumber();
  const envelopes = block.getData()!.getDataList_asU8();
  const prechecked = await Promise.all(envelopes.map((envelope) => precheck(envelope, ctx)));
  const overlay = new BlockOverlay(ctx.store, ctx.namespace);
  const seenTxIds = new Set<string>();
  const policyUpdates = new Set<string>();
  const results: ValidatedTransaction[] = [];
  for (let txNum = 0; txNum < envelopes.length; txNum++) {
    const { decoded, endorsers } = prechecked[txNum];
    let code = prechecked[txNum].code;
    if (code === undefined && decoded) {
      try {
        code = await validateInOrder(decoded, endorsers, blockNumber, txNum, ctx, {
          overlay,
          seenTxIds,
          policyUpdates,
        });
      } catch {
        code = CODE.BAD_PAYLOAD;
      }
    }
    if (decoded?.txId) seenTxIds.add(decoded.txId);
    results.push({ txNum, code: code ?? CODE.BAD_PAYLOAD, decoded });
  }

  const metadata = block.getMetadata()!;
  const entries = metadata.getMetadataList_asU8();
  entries[common.BlockMetadataIndex.TRANSACTIONS_FILTER] = Uint8Array.from(results.map((r) => r.code));
  metadata.setMetadataList(entries);
  return results;
}

async function precheck(envelope: Uint8Array, ctx: ValidationContext): Promise<Prechecked> {
  let tx: DecodedTransaction;
  try {
    tx = decodeTransaction(envelope);
  } catch {
    return { code: CODE.BAD_PAYLOAD, endorsers: [] };
  }
  const fail = (code: number): Prechecked => ({ decoded: tx, code, endorsers: [] });
  if (tx.headerType !== ENDORSER_TRANSACTION || !tx.endorsed) return fail(CODE.UNKNOWN_TX_TYPE);
  if (tx.channelId !== ctx.channelId) return fail(CODE.TARGET_CHAIN_NOT_FOUND);
  if (computeTxId(tx.nonce, tx.creator) !== tx.txId) return fail(CODE.BAD_PROPOSAL_TXID);
  if (tx.endorsed.chaincodeName !== ctx.namespace) return fail(CODE.INVALID_CHAINCODE);
  if (tx.endorsed.rwSets.some((s) => s.namespace !== ctx.namespace)) return fail(CODE.ILLEGAL_WRITESET);
  const endorsed = tx.endorsed;
  const [creatorOk, ...endorsements] = await Promise.all([
    ctx.verifier.verifyAsync(tx.creator, tx.envelopePayload, tx.envelopeSignature).then(
      () => true,
      () => false,
    ),
    ...endorsed.endorsements.map((e) =>
      ctx.verifier
        .verifyAsync(e.endorser, Buffer.concat([endorsed.proposalResponsePayload, e.endorser]), e.signature)
        .then(
          (identity): EndorsingIdentity => ({ mspId: identity.mspId, role: identity.role }),
          // An invalid endorsement simply does not count towards a policy.
          () => undefined,
        ),
    ),
  ]);
  if (!creatorOk) return fail(CODE.BAD_CREATOR_SIGNATURE);
  return { decoded: tx, endorsers: endorsements.filter((e): e is EndorsingIdentity => e !== undefined) };
}

/** What the in-order checks carry from one transaction of a block to the next. */
interface BlockProgress {
  overlay: BlockOverlay;
  seenTxIds: Set<string>;
  /**
   * Keys whose metadata (key-level policy) an earlier transaction of the block wrote and that passed its
   * endorsement policy check, whatever its MVCC outcome: Fabric's key-level validation parameter manager
   * (ExtractValidationParameterDependency, then the earlier transaction's VSCC result).
   */
  policyUpdates: Set<string>;
}

async function validateInOrder(
  tx: DecodedTransaction,
  endorsers: EndorsingIdentity[],
  blockNumber: number,
  txNum: number,
  ctx: ValidationContext,
  { overlay, seenTxIds, policyUpdates }: BlockProgress,
): Promise<number> {
  if (seenTxIds.has(tx.txId) || (await ctx.store.getTxLocation(tx.txId))) return CODE.DUPLICATE_TXID;
  const rwSet = tx.endorsed?.rwSets.find((s) => s.namespace === ctx.namespace) ?? {
    namespace: ctx.namespace,
    reads: [],
    rangeQueries: [],
    writes: [],
    metadataWrites: [],
  };
  // State-based endorsement: a written key with its own VALIDATION_PARAMETER is governed by that policy;
  // every other write needs the chaincode policy.
  const committed = new Map<string, VersionedValue | undefined>();
  const touched = [
    ...new Set([...rwSet.writes.map((w) => w.key), ...rwSet.metadataWrites.map((m) => m.key)]),
  ];
  // As Fabric's key-level validator: writing a key whose policy an earlier transaction of this block changed
  // fails the policy check (ValidationParameterUpdatedError), before any MVCC check. The endorsers simulated
  // against the policy before that change, so no endorsement of this transaction can be trusted for the key.
  if (touched.some((key) => policyUpdates.has(key))) return CODE.ENDORSEMENT_POLICY_FAILURE;
  let needsChaincodePolicy = touched.length === 0;
  for (const key of touched) {
    const current = await overlay.get(key);
    committed.set(key, current);
    // The policy in force is the one committed before this block (Fabric's validator reads it at the previous
    // block's height): an earlier transaction of the block may have deleted the key, never changed its policy.
    const before = overlay.written(key) ? await ctx.store.getState(ctx.namespace, key) : current;
    const keyPolicy = before?.metadata?.[VALIDATION_PARAMETER];
    if (keyPolicy && keyPolicy.length > 0) {
      let policy: Policy;
      try {
        policy = policyFromEnvelope(keyPolicy);
      } catch {
        return CODE.ENDORSEMENT_POLICY_FAILURE;
      }
      if (!evaluatePolicy(policy, endorsers)) return CODE.ENDORSEMENT_POLICY_FAILURE;
    } else {
      needsChaincodePolicy = true;
    }
  }
  if (needsChaincodePolicy && !evaluatePolicy(ctx.chaincodePolicy, endorsers))
    return CODE.ENDORSEMENT_POLICY_FAILURE;
  for (const m of rwSet.metadataWrites) policyUpdates.add(m.key);

  for (const read of rwSet.reads) {
    const current = await overlay.get(read.key);
    if (!sameVersion(current?.version, read.version)) return CODE.MVCC_READ_CONFLICT;
  }
  for (const query of rwSet.rangeQueries) {
    if (!(await rangeUnchanged(query, overlay))) return CODE.PHANTOM_READ_CONFLICT;
  }

  overlay.apply(rwSet, { blockNum: blockNumber, txNum }, committed);
  return CODE.VALID;
}

/** Fabric's RangeQueryValidator: the re-executed query must yield the same keys at the same versions. */
async function rangeUnchanged(query: RangeQuery, overlay: BlockOverlay): Promise<boolean> {
  const recorded = query.reads;
  if (!query.itrExhausted && recorded.length === 0) return true;
  // A query stopped early is only re-checked up to (and including) the last key it returned.
  const iterator = overlay.scan(query.startKey, query.endKey);
  const lastKey = recorded.length > 0 ? recorded[recorded.length - 1].key : '';
  let i = 0;
  try {
    for await (const entry of iterator) {
      if (!query.itrExhausted && entry.key > lastKey) return i === recorded.length;
      if (i >= recorded.length) return false;
      if (entry.key !== recorded[i].key || !sameVersion(entry.version, recorded[i].version)) return false;
      i++;
    }
  } finally {
    await iterator.return(undefined);
  }
  return i === recorded.length;
}

export function validationCodeName(code: number): string {
  const entry = Object.entries(CODE).find(([, value]) => value === code);
  return entry ? entry[0] : `UNKNOWN_${code}`;
}
