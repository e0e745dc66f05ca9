/**
 * Block and chaincode event streams, as Fabric's deliver service gives them: a stream starts at any block
 * still in the block store (so a client resumes from its checkpoint after a restart), replays stored blocks,
 * then follows new commits. Chaincode events come only from valid transactions.
 */
import { common, peer } from '@hyperledger/fabric-protos';
import { decodeTransaction } from './fabric/protos';
import { validationCodeName } from './committer';
import type { BlockEvent, ChaincodeEvent, Checkpoint, EventStream, ValidationCodeName } from '../port';

/** Wakes stream readers when a block commits. */
export class CommitSignal {
  private waiters: Array<() => void> = [];

  notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  wait(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}

export interface BlockSource {
  height(): number;
  getBlock(n: number): Promise<common.Block | undefined>;
  blockHash(n: number): Promise<{ hash: string; previousHash: string }>;
  signal: CommitSignal;
  closed(): boolean;
}

function stream<T>(
  source: BlockSource,
  produce: (block: common.Block) => Promise<T[]>,
  start: number,
): EventStream<T> {
  let closed = false;
  const iterable: EventStream<T> = {
    close: () => {
      closed = true;
      source.signal.notify();
    },
    [Symbol.asyncIterator]: async function* () {
      let next = start;
      while (!closed && !source.closed()) {
        if (next >= source.height()) {
          await source.signal.wait();
          continue;
        }
        const block = await source.getBlock(next);
        if (!block) throw new Error(`block ${next} is missing from the block store`);
        for (const item of await produce(block)) {
          if (closed) return;
          yield item;
        }
        next++;
      }
    },
  };
  return iterable;
}

function codesOf(block: common.Block): Uint8Array {
  return (
    block.getMetadata()?.getMetadataList_asU8()[common.BlockMetadataIndex.TRANSACTIONS_FILTER] ??
    new Uint8Array()
  );
}

export function chaincodeEventStream(
  source: BlockSource,
  chaincodeName: string,
  start?: Checkpoint,
): EventStream<ChaincodeEvent> {
  const startBlock = start?.blockNumber ?? source.height();
  let skipUntilTx = start?.txId;
  return stream(
    source,
    async (block) => {
      const blockNumber = block.getHeader()!.getNumber();
      const codes = codesOf(block);
      const events: ChaincodeEvent[] = [];
      const envelopes = block.getData()!.getDataList_asU8();
      for (let txNum = 0; txNum < envelopes.length; txNum++) {
        const tx = decodeTransaction(envelopes[txNum]);
        if (skipUntilTx !== undefined && blockNumber === startBlock) {
          // Resume after the checkpointed transaction of the start block.
          if (tx.txId === skipUntilTx) skipUntilTx = undefined;
          continue;
        }
        const event = tx.endorsed?.event;
        if (codes[txNum] !== peer.TxValidationCode.VALID || !event) continue;
        if (tx.endorsed?.chaincodeName !== chaincodeName) continue;
        events.push({
          blockNumber,
          txId: tx.txId,
          txNumber: txNum,
          chaincodeName,
          eventName: event.eventName,
          payload: event.payload,
        });
      }
      skipUntilTx = undefined;
      return events;
    },
    startBlock,
  );
}

export function blockEventStream(source: BlockSource, startBlock?: number): EventStream<BlockEvent> {
  return stream(
    source,
    async (block) => {
      const number = block.getHeader()!.getNumber();
      const codes = codesOf(block);
      const { hash, previousHash } = await source.blockHash(number);
      return [
        {
          blockNumber: number,
          blockHash: hash,
          previousHash,
          bytes: block.serializeBinary(),
          transactions: block
            .getData()!
            .getDataList_asU8()
            .map((envelope, txNumber) => {
              let txId = '';
              try {
                txId = decodeTransaction(envelope).txId;
              } catch {
                // A malformed envelope keeps its place and code; it has no readable id.
              }
              return {
                txId,
                txNumber,
                validationCode: validationCodeName(codes[txNumber]) as ValidationCodeName,
              };
            }),
        },
      ];
    },
    startBlock ?? source.height(),
  );
}
