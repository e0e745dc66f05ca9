/**
 * The books after a stage, read with the gateway stopped: its embedded ledger opened from the data folder and
 * its embedded PostgreSQL started on its own, with no projector running. So what is compared is exactly what the
 * gateway left behind: a projection that lagged or diverged cannot be repaired before it is looked at.
 *
 * Every difference is returned as a line of text; the stage asserts there are none.
 */
import { join } from 'node:path';
import { Client } from 'pg';
import { startEmbeddedPostgres } from '../../../gateway/src/database/embedded-postgres';
import { EmbeddedLedger } from '../../../gateway/src/ledger/embedded/embedded-ledger';
import type { IdentityRef, LedgerPort } from '../../../gateway/src/ledger/port';
import { freePort } from '../../../gateway/test/support/harness';

const REGULATOR: IdentityRef = { mspId: 'RegulatorMSP', name: 'regulator' };

export interface LedgerLot {
  id: string;
  owner: string;
  status: string;
  volume: number;
  projectCode: string;
  productionMonth: string;
  sequenceStart: number;
  sequenceEnd: number;
  updatedTxId: string;
  boundToGreenPowerTrade: boolean;
}

interface LedgerVoucher {
  voucherId: string;
  consumer: string;
  tradeId: string;
  status: string;
  volumeKwh: number;
  issuedTxId: string;
}

export interface Books {
  ledger: LedgerPort;
  db: Client;
  height: number;
  lots: LedgerLot[];
  vouchers: LedgerVoucher[];
}

async function evaluate<T>(ledger: LedgerPort, transaction: string, arg: string): Promise<T> {
  const bytes = await ledger.evaluate({ identity: REGULATOR, transaction, args: [arg] });
  return JSON.parse(Buffer.from(bytes).toString('utf8')) as T;
}

async function allPages<T>(ledger: LedgerPort, transaction: string): Promise<T[]> {
  const items: T[] = [];
  let bookmark = '';
  for (;;) {
    const page = await evaluate<{ items: T[]; bookmark: string }>(
      ledger,
      transaction,
      JSON.stringify({ pageSize: 1000, bookmark }),
    );
    items.push(...page.items);
    if (!page.bookmark || page.items.length === 0) return items;
    bookmark = page.bookmark;
  }
}

/** Open the stopped gateway's ledger and database; `check` reads them; both are closed again whatever happens. */
export async function withBooks<T>(dataDir: string, check: (books: Books) => Promise<T>): Promise<T> {
  const postgres = await startEmbeddedPostgres({
    dataDir: join(dataDir, 'postgres'),
    port: await freePort(),
  });
  let ledger: EmbeddedLedger | undefined;
  const db = new Client({ connectionString: postgres.url() });
  try {
    await db.connect();
    ledger = await EmbeddedLedger.open({ dataDir: join(dataDir, 'ledger') });
    const height = (await ledger.getChainInfo()).height;
    const lots = await allPages<LedgerLot>(ledger, 'queries:ListLots');
    const vouchers = await allPages<LedgerVoucher>(ledger, 'vouchers:ListVouchers');
    return await check({ ledger, db, height, lots, vouchers });
  } finally {
    await db.end().catch(() => undefined);
    await ledger?.close();
    await postgres.stop();
  }
}

/**
 * The projection against the ledger: every VALID transaction projected (and nothing else), every lot and
 * voucher the same (owner, status, volume, range, last transaction), none missing or extra.
 */
export async function projectionDifferences(books: Books): Promise<string[]> {
  const differences: string[] = [];
  // Every VALID transaction on the ledger projected, nothing else, and the checkpoint at the last of them.
  const valid = new Map<string, number>();
  if (books.height > 1) {
    const blocks = books.ledger.blockEvents({ startBlock: 1 });
    try {
      for await (const block of blocks) {
        for (const tx of block.transactions)
          if (tx.validationCode === 'VALID') valid.set(tx.txId, block.blockNumber);
        if (block.blockNumber >= books.height - 1) break;
      }
    } finally {
      blocks.close();
    }
  }
  const projectedEvents = await books.db.query<{ tx_id: string; block_number: string }>(
    'SELECT tx_id, block_number FROM projected_events',
  );
  const projectedTx = new Set(projectedEvents.rows.map((r) => r.tx_id));
  for (const [txId, block] of valid) {
    if (!projectedTx.has(txId)) differences.push(`VALID tx ${txId} (block ${block}) not projected`);
  }
  for (const txId of projectedTx)
    if (!valid.has(txId)) differences.push(`projected tx ${txId} is not VALID on the ledger`);
  const checkpoint = await books.db.query<{ block_number: string }>(
    'SELECT block_number FROM ledger_checkpoints',
  );
  const lastValid = Math.max(0, ...valid.values());
  const projectedBlock = Number(checkpoint.rows[0]?.block_number ?? -1);
  if (projectedBlock !== lastValid) {
    differences.push(
      `projection checkpoint at block ${projectedBlock}, last block with a VALID transaction ${lastValid}`,
    );
  }

  const rows = await books.db.query<{
    id: string;
    owner: string;
    status: string;
    volume: string;
    sequence_start: number;
    sequence_end: number;
    updated_tx_id: string;
  }>('SELECT id, owner, status, volume, sequence_start, sequence_end, updated_tx_id FROM certificate_lots');
  const projected = new Map(rows.rows.map((r) => [r.id.trim(), r]));
  for (const lot of books.lots) {
    const row = projected.get(lot.id);
    projected.delete(lot.id);
    const want = `${lot.owner} ${lot.status} ${lot.volume} [${lot.sequenceStart},${lot.sequenceEnd}] ${lot.updatedTxId}`;
    const got = row
      ? `${row.owner} ${row.status} ${row.volume} [${row.sequence_start},${row.sequence_end}] ${row.updated_tx_id}`
      : 'missing';
    if (want !== got) differences.push(`lot ${lot.id}: ledger ${want}, projection ${got}`);
  }
  for (const id of projected.keys()) differences.push(`lot ${id}: in the projection, not on the ledger`);

  const vouchers = await books.db.query<{
    id: string;
    consumer: string;
    trade_id: string;
    status: string;
    volume_kwh: string;
    issued_tx_id: string;
  }>('SELECT id, consumer, trade_id, status, volume_kwh, issued_tx_id FROM vouchers');
  const projectedVouchers = new Map(vouchers.rows.map((r) => [r.id, r]));
  for (const v of books.vouchers) {
    const row = projectedVouchers.get(v.voucherId);
    projectedVouchers.delete(v.voucherId);
    const want = `${v.consumer} ${v.tradeId} ${v.status} ${v.volumeKwh} ${v.issuedTxId}`;
    const got = row
      ? `${row.consumer} ${row.trade_id} ${row.status} ${row.volume_kwh} ${row.issued_tx_id}`
      : 'missing';
    if (want !== got) differences.push(`voucher ${v.voucherId}: ledger ${want}, projection ${got}`);
  }
  for (const id of projectedVouchers.keys())
    differences.push(`voucher ${id}: in the projection, not on the ledger`);
  return differences;
}

/**
 * Conservation of certificates: for each issuance (unit code and month), the lots on the ledger hold disjoint
 * serial ranges that cover 1..issued exactly, so no serial is in two places and none is lost.
 */
export function conservationDifferences(lots: LedgerLot[], issued: Map<string, number>): string[] {
  const differences: string[] = [];
  const byIssuance = new Map<string, LedgerLot[]>();
  for (const lot of lots) {
    const key = `${lot.projectCode}/${lot.productionMonth}`;
    byIssuance.set(key, [...(byIssuance.get(key) ?? []), lot]);
  }
  for (const [key, certificates] of issued) {
    const mine = (byIssuance.get(key) ?? []).sort((a, b) => a.sequenceStart - b.sequenceStart);
    byIssuance.delete(key);
    let next = 1;
    for (const lot of mine) {
      if (lot.sequenceStart !== next) {
        differences.push(
          `${key}: lot ${lot.id} starts at ${lot.sequenceStart}, expected ${next} (${lot.sequenceStart < next ? 'overlap: a serial in two places' : 'gap: serials lost'})`,
        );
      }
      if (lot.volume !== lot.sequenceEnd - lot.sequenceStart + 1) {
        differences.push(`${key}: lot ${lot.id} volume ${lot.volume} ≠ its range`);
      }
      next = Math.max(next, lot.sequenceEnd + 1);
    }
    if (next - 1 !== certificates)
      differences.push(`${key}: lots cover 1..${next - 1}, issued ${certificates}`);
  }
  for (const key of byIssuance.keys()) differences.push(`${key}: lots of an issuance nobody made`);
  return differences;
}
