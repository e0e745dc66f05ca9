import type { CertificateLot, Exchange, Issuance, Redemption } from '@gec/chaincode';
import { toIssuanceDto, toLotDto } from '../certificates/certificates.dto';
import type { DocRow } from '../certificates/ledger-support';
import { toExchangeDto } from '../exchanges/exchanges.dto';
import { toRedemptionDto } from '../redemptions/redemptions.dto';
import { toStatusDto, type TradeRow } from '../trades/trade-model';
import { toVoucherDto, VOUCHER_SELECT, type VoucherRow } from '../vouchers/vouchers.service';
import type { SqlQuery, TabularExport } from './row-stream';

/** `column = $n` for each filter given, in order. */
function whereOf(filters: Array<[column: string, value: string | undefined]>): SqlQuery {
  const params: unknown[] = [];
  const terms: string[] = [];
  for (const [column, value] of filters) {
    if (value === undefined) continue;
    params.push(value);
    terms.push(`${column} = $${params.length}`);
  }
  return { text: terms.length ? `WHERE ${terms.join(' AND ')}` : '', params };
}

/** A projected table's rows (doc and block) with the list's filters, in the list's order (by id). */
function docExport<T, Item extends object>(
  name: string,
  table: string,
  filters: Array<[string, string | undefined]>,
  toItem: (doc: T, blockNumber: number) => Item,
  columns: readonly string[],
): TabularExport<DocRow<T>> {
  const where = whereOf(filters);
  return {
    name,
    query: { text: `SELECT doc, block_number FROM ${table} ${where.text} ORDER BY id`, params: where.params },
    toItem: (row) => toItem(row.doc, Number(row.block_number)),
    columns,
  };
}

const PROOF = ['ledger.txId', 'ledger.blockNumber', 'ledger.committedAt'];

export function lotsExport(q: {
  owner?: string;
  unitId?: string;
  status?: string;
  productionMonth?: string;
}): TabularExport<DocRow<CertificateLot>> {
  return docExport(
    'lots',
    'certificate_lots',
    [
      ['owner', q.owner],
      ['unit_id', q.unitId],
      ['status', q.status],
      ['production_month', q.productionMonth],
    ],
    toLotDto,
    [
      'id',
      'serialStart',
      'serialEnd',
      'certificates',
      'volumeKwh',
      'unitId',
      'technology',
      'province',
      'productionMonth',
      'owner',
      'status',
      'tradable',
      'boundToGreenPowerTrade',
      'parentLotId',
      'issuedAt',
      'expiresAt',
      'updatedAt',
      ...PROOF,
    ],
  );
}

export function issuancesExport(q: { unitId?: string; month?: string }): TabularExport<DocRow<Issuance>> {
  return docExport(
    'issuances',
    'issuances',
    [
      ['unit_id', q.unitId],
      ['production_month', q.month],
    ],
    toIssuanceDto,
    [
      'id',
      'unitId',
      'projectCode',
      'productionMonth',
      'attestedKwh',
      'carryInKwh',
      'carryOutKwh',
      'certificates',
      'lotId',
      'serialStart',
      'serialEnd',
      'tradable',
      'expiresAt',
      'issuedAt',
      'issuedByMsp',
      ...PROOF,
    ],
  );
}

const CONSUMED = ['certificates', 'volumeKwh', 'ranges'];

export function redemptionsExport(q: { owner?: string }): TabularExport<DocRow<Redemption>> {
  return docExport('redemptions', 'redemptions', [['owner', q.owner]], toRedemptionDto, [
    'id',
    'owner',
    'beneficiary',
    'purpose',
    'consumptionStartMonth',
    'consumptionEndMonth',
    ...CONSUMED,
    'redeemedAt',
    'redeemedByMsp',
    ...PROOF,
  ]);
}

export function exchangesExport(q: { owner?: string }): TabularExport<DocRow<Exchange>> {
  return docExport('exchanges', 'exchanges', [['owner', q.owner]], toExchangeDto, [
    'id',
    'owner',
    'electricityReference',
    'purpose',
    ...CONSUMED,
    'exchangedAt',
    'exchangedByMsp',
    ...PROOF,
  ]);
}

export function tradesExport(q: {
  state?: string;
  seller?: string;
  buyer?: string;
}): TabularExport<TradeRow> {
  const where = whereOf([
    ['state', q.state],
    ['seller', q.seller],
    ['buyer', q.buyer],
  ]);
  return {
    name: 'trades',
    query: {
      text: `SELECT * FROM trades ${where.text} ORDER BY received_at, trade_id`,
      params: where.params,
    },
    toItem: toStatusDto,
    columns: [
      'tradeId',
      'state',
      'tradingCenter',
      'kind',
      'seller',
      'buyer',
      'volumeKwh',
      'deliveryStart',
      'deliveryEnd',
      'receivedAt',
      'finishedAt',
      'failure.code',
      'failure.detail',
      'voucherId',
      'tradeDataHash',
      'checkDataHash',
      'meterEvidenceDigest',
      ...PROOF,
    ],
  };
}

export function vouchersExport(q: { consumer?: string; status?: string }): TabularExport<VoucherRow> {
  const where = whereOf([
    ['v.consumer', q.consumer],
    ['v.status', q.status],
  ]);
  return {
    name: 'vouchers',
    query: { text: `${VOUCHER_SELECT} ${where.text} ORDER BY v.id`, params: where.params },
    toItem: toVoucherDto,
    columns: [
      'id',
      'consumer',
      'seller',
      'volumeKwh',
      'periodStart',
      'periodEnd',
      'status',
      'priceFen',
      'currency',
      'trade.tradeId',
      'trade.kind',
      'sourceLots',
      ...PROOF,
    ],
  };
}
