import type {
  CertificateLot,
  Exchange,
  GenerationUnit,
  Issuance,
  Listing,
  MeterAttestation,
  Redemption,
} from '@gec/chaincode';
import {
  AUDIT_LOG_SELECT,
  auditLogFilters,
  toAuditLogEntry,
  type AuditLogRow,
} from '../audit/audit-log.service';
import { toIssuanceDto, toLotDto } from '../certificates/certificates.dto';
import type { DocRow } from '../certificates/ledger-support';
import { toExchangeDto } from '../exchanges/exchanges.dto';
import { listingFilters } from '../listings/listings.service';
import { toListingDto } from '../listings/listings.dto';
import { attestationFilters, toAttestationDto } from '../meter-attestations/meter-attestations';
import type { ParticipantEntity } from '../participants/participant.entity';
import { toParticipantDto } from '../participants/participants.service';
import { toRedemptionDto } from '../redemptions/redemptions.dto';
import { toStatusDto, type TradeRow } from '../trades/trade-model';
import { toUnitDto } from '../units/units.dto';
import { unitFilters } from '../units/units.service';
import { toVoucherDto, VOUCHER_SELECT, type VoucherRow } from '../vouchers/vouchers.service';
import type { SqlQuery, TabularExport } from './row-stream';

/** A `WHERE` of the filters given, `[condition with ?, value]` as the list services write them, in order. */
function whereOf(filters: Array<[condition: string, value: unknown]>): SqlQuery {
  const params: unknown[] = [];
  const terms: string[] = [];
  for (const [condition, value] of filters) {
    if (value === undefined) continue;
    params.push(value);
    terms.push(condition.replace('?', `$${params.length}`));
  }
  return { text: terms.length ? `WHERE ${terms.join(' AND ')}` : '', params };
}

/** A projected table's rows (doc and block) with the list's filters, in the list's order (by id). */
function docExport<T, Item extends object>(
  name: string,
  table: string,
  filters: Array<[string, unknown]>,
  toItem: (doc: T, blockNumber: number) => Item,
  columns: readonly string[],
): TabularExport<DocRow<T>> {
  const where = whereOf(filters);
  return {
    name,
    query: {
      text: `SELECT doc, block_number FROM ${table} ${where.text} ORDER BY id`,
      params: where.params,
    },
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
      ['owner = ?', q.owner],
      ['unit_id = ?', q.unitId],
      ['status = ?', q.status],
      ['production_month = ?', q.productionMonth],
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
      ['unit_id = ?', q.unitId],
      ['production_month = ?', q.month],
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
  return docExport('redemptions', 'redemptions', [['owner = ?', q.owner]], toRedemptionDto, [
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
  return docExport('exchanges', 'exchanges', [['owner = ?', q.owner]], toExchangeDto, [
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
    ['state = ?', q.state],
    ['seller = ?', q.seller],
    ['buyer = ?', q.buyer],
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
    ['v.consumer = ?', q.consumer],
    ['v.status = ?', q.status],
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

/** A participant row with its columns named as the entity's properties (block_number as PostgreSQL's text). */
type ParticipantRow = Omit<ParticipantEntity, 'blockNumber'> & { blockNumber: string };

export function participantsExport(q: { kind?: string; status?: string }): TabularExport<ParticipantRow> {
  const where = whereOf([
    ['kind = ?', q.kind],
    ['status = ?', q.status],
  ]);
  return {
    name: 'participants',
    query: {
      text: `SELECT id, kind, name, region, status, status_reason AS "statusReason",
                    registered_by_msp AS "registeredByMsp", registered_at AS "registeredAt",
                    updated_at AS "updatedAt", updated_tx_id AS "updatedTxId", block_number AS "blockNumber"
               FROM participants ${where.text} ORDER BY id`,
      params: where.params,
    },
    toItem: (row) => toParticipantDto({ ...row, blockNumber: Number(row.blockNumber) } as ParticipantEntity),
    columns: [
      'id',
      'kind',
      'name',
      'region',
      'status',
      'statusReason',
      'registeredByMsp',
      'registeredAt',
      'updatedAt',
      ...PROOF,
    ],
  };
}

export function unitsExport(q: { owner?: string; status?: string }): TabularExport<DocRow<GenerationUnit>> {
  return docExport('units', 'units', unitFilters(q), toUnitDto, [
    'id',
    'owner',
    'name',
    'projectCode',
    'technology',
    'capacityKw',
    'province',
    'meterIds',
    'commissioningDate',
    'status',
    'statusReason',
    'carryKwh',
    'lastIssuedMonth',
    'registeredByMsp',
    'registeredAt',
    'updatedAt',
    ...PROOF,
  ]);
}

export function listingsExport(q: { status?: string; seller?: string }): TabularExport<DocRow<Listing>> {
  return docExport('listings', 'listings', listingFilters(q), toListingDto, [
    'id',
    'lotId',
    'seller',
    'certificates',
    'volumeKwh',
    'soldCertificates',
    'unitPriceFen',
    'currency',
    'status',
    'closedReason',
    'listedByMsp',
    'listedAt',
    'updatedAt',
    ...PROOF,
  ]);
}

/** An attestation row with the block of each of its versions' transactions (tx id → block). */
type AttestationRow = DocRow<MeterAttestation> & { version_blocks: Record<string, number> };

export function meterAttestationsExport(q: {
  meterId?: string;
  period?: string;
}): TabularExport<AttestationRow> {
  const where = whereOf(attestationFilters(q));
  return {
    name: 'meter-attestations',
    query: {
      // Each version's block, as the list looks it up in projected_events, here in the same statement.
      text: `SELECT a.doc, a.block_number,
                    (SELECT coalesce(jsonb_object_agg(e.tx_id, e.block_number), '{}'::jsonb)
                       FROM projected_events e
                      WHERE e.tx_id IN (SELECT v->>'txId' FROM jsonb_array_elements(a.doc->'versions') v))
                      AS version_blocks
               FROM ledger_meter_attestations a ${where.text} ORDER BY a.meter_id, a.period`,
      params: where.params,
    },
    toItem: (row) =>
      toAttestationDto(
        row.doc,
        Number(row.block_number),
        new Map(row.doc.versions.map((v) => [v.version, row.version_blocks[v.txId] ?? null])),
      ),
    columns: [
      'meterId',
      'period',
      'periodStart',
      'periodEnd',
      'version',
      'totalKwh',
      'digest',
      'attestedAt',
      'versions',
      ...PROOF,
    ],
  };
}

export function auditLogExport(q: {
  from?: string;
  to?: string;
  apiKeyId?: string;
  status?: number;
}): TabularExport<AuditLogRow> {
  const where = whereOf(auditLogFilters(q));
  return {
    name: 'regulator-audit-log',
    // By the log's bigint position, not the text the select makes of it (as the list orders).
    query: {
      text: `${AUDIT_LOG_SELECT} ${where.text} ORDER BY regulator_audit_log.id`,
      params: where.params,
    },
    toItem: toAuditLogEntry,
    columns: [
      'id',
      'receivedAt',
      'answeredAt',
      'requestId',
      'apiKeyId',
      'role',
      'actsFor',
      'method',
      'path',
      'operationId',
      'status',
      'problemCode',
    ],
  };
}
