import { common } from '@hyperledger/fabric-protos';
import type { DataSource } from 'typeorm';
import type { LedgerPort } from '../ledger/port';

/** The row of `ledger_channel` that names the channel the projection belongs to. */
const BINDING_NAME = 'projection';

/** The database projects another channel than the ledger this gateway is connected to. */
export class ChannelMismatchError extends Error {
  override readonly name = 'ChannelMismatchError';
}

/** The data hash in block 0's header: set when the channel was created, the same on every peer, never again. */
export async function genesisDataHash(ledger: LedgerPort): Promise<string> {
  const bytes = await ledger.getBlock(0);
  if (!bytes) throw new Error('the ledger has no block 0');
  const header = common.Block.deserializeBinary(bytes).getHeader();
  if (!header) throw new Error('block 0 has no header');
  return Buffer.from(header.getDataHash_asU8()).toString('hex');
}

/**
 * Records on first start which channel this database projects, and refuses afterwards to serve another one: a
 * channel re-created under the same name (or another network's) would otherwise be answered from rows of the
 * old one (a new participant answered 201, then 404 when read back, and nothing noticed).
 */
export async function bindToChannel(dataSource: DataSource, ledger: LedgerPort): Promise<string> {
  const hash = await genesisDataHash(ledger);
  const rows = (await dataSource.query(
    `INSERT INTO ledger_channel (name, genesis_data_hash) VALUES ($1, $2)
     ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name
     RETURNING genesis_data_hash, recorded_at`,
    [BINDING_NAME, hash],
  )) as Array<{ genesis_data_hash: string; recorded_at: Date }>;
  const bound = rows[0];
  if (bound.genesis_data_hash !== hash) {
    throw new ChannelMismatchError(
      `this database projects the channel whose genesis block data hash is ${bound.genesis_data_hash} ` +
        `(recorded ${bound.recorded_at.toISOString()}), but the ledger's channel has ${hash}: the channel was ` +
        're-created or this is another network. Nothing is served from rows of another channel: start the ' +
        'gateway with an empty database (a new DATABASE_URL, or a new GEC_DATA_DIR for the embedded one) to ' +
        'project this channel from its first block.',
    );
  }
  return hash;
}

/** The projection has applied a transaction the ledger does not hold. */
export class ProjectionAheadError extends Error {
  override readonly name = 'ProjectionAheadError';
}

/**
 * The projection's checkpoint must be a transaction the ledger holds, in the same block: after a repair cut
 * damaged blocks away, or a ledger restored from an older copy, the projection would otherwise keep serving rows
 * (with their proofs) of transactions that no longer exist, and never project the ones that replace them.
 */
export async function requireCheckpointOnLedger(
  checkpoint: { blockNumber: number; txId: string } | undefined,
  ledger: LedgerPort,
): Promise<void> {
  if (!checkpoint?.txId) return;
  const info = await ledger.getTransaction(checkpoint.txId);
  if (info && info.blockNumber === checkpoint.blockNumber) return;
  const chain = await ledger.getChainInfo();
  const repairs = chain.startup?.repairs ?? [];
  throw new ProjectionAheadError(
    `this database has projected transaction ${checkpoint.txId} of block ${checkpoint.blockNumber}, which the ` +
      `ledger (height ${chain.height}) ${info ? `holds in block ${info.blockNumber}` : 'does not hold'}: its ` +
      'blocks were cut away or restored from an older copy. Nothing is served from rows the ledger does not ' +
      'prove: start the gateway with an empty database to project the ledger as it is' +
      (repairs.length > 0 ? `. The ledger's start-up said: ${repairs.join(' ')}` : '.'),
  );
}
