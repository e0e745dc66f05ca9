import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { LEDGER_PORT } from '../ledger-module/ledger.tokens';
import type { IdentityRef, LedgerPort } from '../ledger/port';
import { periodReadings } from '../metering/period-digest';
import { Projector } from '../projection/projector.service';
import { canonical, sha256Hex } from '../trades/trade-model';
import { compareKeys, ledgerObjects, type LedgerObject } from './ledger-objects';

/**
 * The projection check: every table the gateway keeps from the ledger, compared with the ledger's state, and the
 * data the ledger attests by hash (stored trade bodies, meter readings) hashed again.
 *
 * Each table is read in key order beside the ledger's objects of its type (`queries:ListObjects`, 1,000 per
 * evaluate), merged like a sort-merge join, so memory stays bounded whatever the size. For each key: a ledger
 * object without a row, a row without a ledger object, and every column and `doc` field whose value differs,
 * with both values. A difference on an object whose last transaction the projector has not applied yet (written
 * while the check ran) is counted as `pending`, not reported.
 */

export const AUDIT_TABLES = [
  'participants',
  'units',
  'issuances',
  'certificate_lots',
  'listings',
  'vouchers',
  'redemptions',
  'exchanges',
  'ledger_meter_attestations',
  'trades',
  'meters',
  'meter_readings',
] as const;
export type AuditTable = (typeof AUDIT_TABLES)[number];

export const DIFFERENCE_KINDS = ['MISSING_IN_DATABASE', 'MISSING_ON_LEDGER', 'DIFFERS'] as const;
export type DifferenceKind = (typeof DIFFERENCE_KINDS)[number];

export interface Difference {
  /** The table holding the row (a related table for ranges, versions and sales). */
  table: string;
  /** The row's key, attributes joined with `/` (as the ledger keys the object). */
  key: string;
  kind: DifferenceKind;
  /** The column, `doc.<field>` for the ledger object kept as JSON, or what was recomputed; null when missing. */
  field: string | null;
  /** The value on the ledger, and in PostgreSQL (or recomputed from it); null when absent. */
  ledger: string | null;
  stored: string | null;
}

export interface TableCheck {
  table: AuditTable;
  /** The ledger object type compared with (`queries:ListObjects`). */
  ledgerType: string;
  ledgerObjects: number;
  rows: number;
  differences: number;
  pending: number;
  /** Why the table could not be checked (null when it was). */
  error: string | null;
  /** What the check of this table covers and leaves out. */
  note: string;
}

export interface ProjectionCheck {
  ok: boolean;
  checkedAt: string;
  /** The projection's checkpoint and the ledger's height when the check started. */
  checkpoint: { blockNumber: number; txId: string } | null;
  height: number;
  tables: TableCheck[];
  /** Differences found in all (only the first `limit` are listed). */
  count: number;
  limit: number;
  differences: Difference[];
}

type Row = Record<string, unknown>;
type ValueKind = 'text' | 'int' | 'time';
type Column = [column: string, field: string, kind: ValueKind];

const ROWS_PER_QUERY = 1000;

interface TableSpec {
  table: AuditTable;
  ledgerType: string;
  note: string;
  /** SQL key columns, in the order of the ledger key's attributes. */
  keys: string[];
  /** The table (alias t) and any condition on the rows compared. */
  from: string;
  where?: string;
  /** Extra selected expressions (related tables), by alias. */
  select?: string[];
  columns: Column[];
  /** The row keeps the ledger object as `doc` (compared field by field). */
  doc: boolean;
  /** A ledger object without a row is a difference (false where the table holds only this gateway's own). */
  rowForEveryObject: boolean;
  /** The transaction that last changed the object: a difference is pending until it is projected. */
  lastTx: (value: Row) => string | undefined;
  /** Checks beyond columns and doc (related tables, recomputed hashes). */
  extra?: (object: LedgerObject, row: Row, context: CheckContext) => Promise<Difference[]> | Difference[];
}

interface CheckContext {
  query: (sql: string, params: unknown[]) => Promise<unknown>;
}

const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const updatedTx = (v: Row) => text(v.updatedTxId);
const txIdOf = (v: Row) => text(v.txId);

/** A value as a difference shows it: strings as they are, times in RFC 3339, the rest as JSON. */
function shown(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return value;
  if (value instanceof Date) return value.toISOString();
  return canonicalOrString(value);
}

function canonicalOrString(value: unknown): string {
  try {
    return canonical(value);
  } catch {
    return String(value);
  }
}

/** Whether a column holds what the ledger field holds ('' and null are the same absent text). */
function sameValue(kind: ValueKind, ledgerValue: unknown, stored: unknown): boolean {
  const absent = (v: unknown) => v === undefined || v === null || v === '';
  if (absent(ledgerValue) || absent(stored)) return absent(ledgerValue) && absent(stored);
  switch (kind) {
    case 'text':
      return String(ledgerValue) === String(stored);
    case 'int':
      return String(ledgerValue) === String(stored);
    case 'time': {
      const a = new Date(ledgerValue as string).getTime();
      const b = stored instanceof Date ? stored.getTime() : new Date(String(stored)).getTime();
      return a === b;
    }
  }
}

function storedShown(kind: ValueKind, stored: unknown): string | null {
  if (kind === 'time' && stored !== null && stored !== undefined) {
    return (stored instanceof Date ? stored : new Date(String(stored))).toISOString();
  }
  return shown(stored);
}

/** Every column (and, with `doc`, every field of the kept ledger object) of one row against the ledger object. */
function compareRow(
  spec: Pick<TableSpec, 'columns' | 'doc'> & { table: string },
  key: string,
  value: Row,
  row: Row,
): Difference[] {
  const out: Difference[] = [];
  for (const [column, field, kind] of spec.columns) {
    if (!sameValue(kind, value[field], row[column])) {
      out.push({
        table: spec.table,
        key,
        kind: 'DIFFERS',
        field: column,
        ledger: shown(value[field]),
        stored: storedShown(kind, row[column]),
      });
    }
  }
  if (spec.doc) {
    const doc = (row.doc ?? {}) as Row;
    const fields = [...new Set([...Object.keys(value), ...Object.keys(doc)])].sort();
    for (const field of fields) {
      const a = value[field] === undefined ? undefined : canonicalOrString(value[field]);
      const b = doc[field] === undefined ? undefined : canonicalOrString(doc[field]);
      if (a !== b) {
        out.push({
          table: spec.table,
          key,
          kind: 'DIFFERS',
          field: `doc.${field}`,
          ledger: shown(value[field]),
          stored: shown(doc[field]),
        });
      }
    }
  }
  return out;
}

/** Items of a ledger list against rows of a related table, by an item key (ranges, attestation versions). */
function compareItems(
  table: string,
  key: string,
  ledgerItems: Row[],
  storedItems: Row[],
  itemKey: (item: Row) => string,
  fields: Array<[column: string, field: string, kind: ValueKind]>,
): Difference[] {
  const out: Difference[] = [];
  const stored = new Map(storedItems.map((item) => [String(item.key), item]));
  for (const item of ledgerItems) {
    const id = itemKey(item);
    const row = stored.get(id);
    stored.delete(id);
    if (!row) {
      out.push({
        table,
        key: `${key}/${id}`,
        kind: 'MISSING_IN_DATABASE',
        field: null,
        ledger: null,
        stored: null,
      });
      continue;
    }
    for (const [column, field, kind] of fields) {
      if (!sameValue(kind, item[field], row[column])) {
        out.push({
          table,
          key: `${key}/${id}`,
          kind: 'DIFFERS',
          field: column,
          ledger: shown(item[field]),
          stored: storedShown(kind, row[column]),
        });
      }
    }
  }
  for (const id of stored.keys()) {
    out.push({
      table,
      key: `${key}/${id}`,
      kind: 'MISSING_ON_LEDGER',
      field: null,
      ledger: null,
      stored: null,
    });
  }
  return out;
}

const consumption = (kind: 'redemption' | 'exchange', at: string): TableSpec => ({
  table: `${kind}s` as AuditTable,
  ledgerType: kind,
  note: `${kind}s and ${kind}_ranges (each consumed serial range) against the ledger's ${kind}s`,
  keys: ['id'],
  from: `${kind}s t`,
  select: [
    `(SELECT coalesce(jsonb_agg(jsonb_build_object('key', r.lot_id, 'lot_id', r.lot_id, 'serial_start',
       r.serial_start, 'serial_end', r.serial_end, 'volume', r.volume)), '[]')
      FROM ${kind}_ranges r WHERE r.${kind}_id = t.id) AS ranges`,
  ],
  columns: [
    ['owner', 'owner', 'text'],
    ['volume', 'volume', 'int'],
    ['consumed_at', at, 'time'],
    ['tx_id', 'txId', 'text'],
  ],
  doc: true,
  rowForEveryObject: true,
  lastTx: txIdOf,
  extra: (object, row) =>
    compareItems(
      `${kind}_ranges`,
      object.key.join('/'),
      (object.value.ranges as Row[] | undefined) ?? [],
      row.ranges as Row[],
      (item) => String(item.lotId),
      [
        ['serial_start', 'serialStart', 'text'],
        ['serial_end', 'serialEnd', 'text'],
        ['volume', 'volume', 'int'],
      ],
    ),
});

const SPECS: TableSpec[] = [
  {
    table: 'participants',
    ledgerType: 'participant',
    note: 'every column against the ledger participant (the credit code is kept only hashed, on the ledger)',
    keys: ['id'],
    from: 'participants t',
    columns: [
      ['kind', 'kind', 'text'],
      ['name', 'name', 'text'],
      ['region', 'region', 'text'],
      ['status', 'status', 'text'],
      ['status_reason', 'statusReason', 'text'],
      ['registered_by_msp', 'registeredByMsp', 'text'],
      ['registered_by', 'registeredBy', 'text'],
      ['registered_at', 'registeredAt', 'time'],
      ['registered_tx_id', 'registeredTxId', 'text'],
      ['updated_at', 'updatedAt', 'time'],
      ['updated_tx_id', 'updatedTxId', 'text'],
    ],
    doc: false,
    rowForEveryObject: true,
    lastTx: updatedTx,
  },
  {
    table: 'units',
    ledgerType: 'unit',
    note: 'every column and the kept ledger object against the ledger unit',
    keys: ['id'],
    from: 'units t',
    columns: [
      ['owner', 'owner', 'text'],
      ['project_code', 'projectCode', 'text'],
      ['technology', 'technology', 'text'],
      ['province', 'province', 'text'],
      ['status', 'status', 'text'],
      ['updated_at', 'updatedAt', 'time'],
      ['updated_tx_id', 'updatedTxId', 'text'],
    ],
    doc: true,
    rowForEveryObject: true,
    lastTx: updatedTx,
  },
  {
    table: 'issuances',
    ledgerType: 'issuance',
    note: 'keyed by unit and month as on the ledger; every column and the kept ledger object',
    keys: ['unit_id', 'production_month'],
    from: 'issuances t',
    columns: [
      ['id', 'id', 'text'],
      ['certificates', 'certificates', 'int'],
      ['lot_id', 'lotId', 'text'],
      ['issued_at', 'issuedAt', 'time'],
      ['updated_at', 'updatedAt', 'time'],
      ['updated_tx_id', 'updatedTxId', 'text'],
    ],
    doc: true,
    rowForEveryObject: true,
    lastTx: updatedTx,
  },
  {
    table: 'certificate_lots',
    ledgerType: 'lot',
    note:
      'every column and the kept ledger object, and the newest row of certificate_lot_versions (older versions ' +
      'are history: the ledger holds them per key, read one lot at a time by GET /v1/lots/{lotId}/history)',
    keys: ['id'],
    from: 'certificate_lots t',
    select: [
      `(SELECT jsonb_build_object('txId', v.tx_id, 'doc', v.doc) FROM certificate_lot_versions v
        WHERE v.lot_id = t.id ORDER BY v.block_number DESC, v.tx_number DESC LIMIT 1) AS latest_version`,
    ],
    columns: [
      ['project_code', 'projectCode', 'text'],
      ['production_month', 'productionMonth', 'text'],
      ['sequence_start', 'sequenceStart', 'int'],
      ['sequence_end', 'sequenceEnd', 'int'],
      ['volume', 'volume', 'int'],
      ['unit_id', 'unitId', 'text'],
      ['owner', 'owner', 'text'],
      ['status', 'status', 'text'],
      ['expires_at', 'expiresAt', 'time'],
      ['parent_lot_id', 'parentLotId', 'text'],
      ['updated_at', 'updatedAt', 'time'],
      ['updated_tx_id', 'updatedTxId', 'text'],
    ],
    doc: true,
    rowForEveryObject: true,
    lastTx: updatedTx,
    extra: (object, row) => {
      const latest = row.latest_version as { txId: string; doc: Row } | null;
      const key = object.key.join('/');
      if (!latest) {
        return [
          {
            table: 'certificate_lot_versions',
            key: `${key}/${String(object.value.updatedTxId)}`,
            kind: 'MISSING_IN_DATABASE',
            field: null,
            ledger: null,
            stored: null,
          },
        ];
      }
      return compareRow(
        { table: 'certificate_lot_versions', columns: [], doc: true },
        `${key}/${latest.txId}`,
        object.value,
        { doc: latest.doc },
      );
    },
  },
  {
    table: 'listings',
    ledgerType: 'listing',
    note: 'every column and the kept ledger object; the certificates in listing_sales add up to soldVolume',
    keys: ['id'],
    from: 'listings t',
    select: [
      '(SELECT coalesce(sum(s.volume), 0) FROM listing_sales s WHERE s.listing_id = t.id)::text AS sales_volume',
    ],
    columns: [
      ['lot_id', 'lotId', 'text'],
      ['seller', 'seller', 'text'],
      ['status', 'status', 'text'],
      ['volume', 'volume', 'int'],
      ['sold_volume', 'soldVolume', 'int'],
      ['unit_price_fen', 'unitPriceFen', 'int'],
      ['listed_at', 'listedAt', 'time'],
      ['updated_at', 'updatedAt', 'time'],
      ['updated_tx_id', 'updatedTxId', 'text'],
    ],
    doc: true,
    rowForEveryObject: true,
    lastTx: updatedTx,
    extra: (object, row) =>
      sameValue('int', object.value.soldVolume, row.sales_volume)
        ? []
        : [
            {
              table: 'listing_sales',
              key: object.key.join('/'),
              kind: 'DIFFERS',
              field: 'sum(volume)',
              ledger: shown(object.value.soldVolume),
              stored: shown(row.sales_volume),
            },
          ],
  },
  {
    table: 'vouchers',
    ledgerType: 'voucher',
    note: 'every column and the kept ledger object against the custody contract’s voucher',
    keys: ['id'],
    from: 'vouchers t',
    columns: [
      ['consumer', 'consumer', 'text'],
      ['seller', 'seller', 'text'],
      ['trade_id', 'tradeId', 'text'],
      ['trade_kind', 'tradeKind', 'text'],
      ['volume_kwh', 'volumeKwh', 'int'],
      ['period_start', 'periodStart', 'time'],
      ['period_end', 'periodEnd', 'time'],
      ['status', 'status', 'text'],
      ['issued_at', 'issuedAt', 'time'],
      ['issued_tx_id', 'issuedTxId', 'text'],
      ['updated_at', 'statusChangedAt', 'time'],
    ],
    doc: true,
    rowForEveryObject: true,
    lastTx: (v) => {
      const history = v.history as Array<{ txId?: string }> | undefined;
      return text(history?.[history.length - 1]?.txId) ?? text(v.issuedTxId);
    },
  },
  consumption('redemption', 'redeemedAt'),
  consumption('exchange', 'exchangedAt'),
  {
    table: 'ledger_meter_attestations',
    ledgerType: 'meterAttestation',
    note: 'every column, the kept ledger object and ledger_meter_attestation_versions (each version)',
    keys: ['meter_id', 'period'],
    from: 'ledger_meter_attestations t',
    select: [
      `(SELECT coalesce(jsonb_agg(jsonb_build_object('key', v.version::text, 'total_wh', v.total_wh::text,
         'digest', v.digest, 'reason', v.reason, 'attested_at', v.attested_at, 'attested_by_msp',
         v.attested_by_msp, 'tx_id', v.tx_id)), '[]')
        FROM ledger_meter_attestation_versions v WHERE v.meter_id = t.meter_id AND v.period = t.period) AS versions`,
    ],
    columns: [
      ['version', 'version', 'int'],
      ['total_wh', 'totalWh', 'int'],
      ['attested_at', 'attestedAt', 'time'],
      ['tx_id', 'txId', 'text'],
    ],
    doc: true,
    rowForEveryObject: true,
    lastTx: txIdOf,
    extra: (object, row) =>
      compareItems(
        'ledger_meter_attestation_versions',
        object.key.join('/'),
        (object.value.versions as Row[] | undefined) ?? [],
        row.versions as Row[],
        (item) => String(item.version),
        [
          ['total_wh', 'totalWh', 'int'],
          ['digest', 'digest', 'text'],
          ['reason', 'reason', 'text'],
          ['attested_at', 'attestedAt', 'time'],
          ['attested_by_msp', 'attestedByMsp', 'text'],
          ['tx_id', 'txId', 'text'],
        ],
      ),
  },
  {
    table: 'trades',
    ledgerType: 'trade',
    note:
      'COMMITTED trades against their attestation, and the stored trade data, check data and meter evidence ' +
      'hashed again (RFC 8785, SHA-256) against the hashes on the ledger; attested trades this gateway did not ' +
      'receive have no row here and are not differences',
    keys: ['trade_id'],
    from: 'trades t',
    where: `t.state = 'COMMITTED'`,
    select: ['t.trade', 't.check_data', 't.meter_evidence'],
    columns: [
      ['tx_id', 'txId', 'text'],
      ['voucher_id', 'voucherId', 'text'],
      ['kind', 'kind', 'text'],
      ['seller', 'seller', 'text'],
      ['buyer', 'buyer', 'text'],
      ['volume_kwh', 'volumeKwh', 'int'],
      ['delivery_start', 'deliveryStart', 'time'],
      ['delivery_end', 'deliveryEnd', 'time'],
      ['trade_data_hash', 'tradeDataHash', 'text'],
      ['check_data_hash', 'checkDataHash', 'text'],
      ['meter_evidence_digest', 'meterEvidenceDigest', 'text'],
    ],
    doc: false,
    rowForEveryObject: false,
    lastTx: txIdOf,
    extra: (object, row) => {
      const key = object.key.join('/');
      const out: Difference[] = [];
      const rehash: Array<[column: string, stored: unknown, field: string]> = [
        ['trade', row.trade, 'tradeDataHash'],
        ['check_data', row.check_data, 'checkDataHash'],
        ['meter_evidence', row.meter_evidence ?? [], 'meterEvidenceDigest'],
      ];
      for (const [column, stored, field] of rehash) {
        const recomputed = sha256Hex(canonical(stored));
        if (recomputed !== object.value[field]) {
          out.push({
            table: 'trades',
            key,
            kind: 'DIFFERS',
            field: `sha256(${column})`,
            ledger: shown(object.value[field]),
            stored: recomputed,
          });
        }
      }
      return out;
    },
  },
  {
    table: 'meters',
    ledgerType: 'consumptionMeter',
    note:
      'consumption meters against the ledger’s (same consumer), generation meters against the ledger unit that ' +
      'lists them (same unit, same owner); meters registered through another gateway have no row here',
    keys: ['id'],
    from: 'meters t',
    where: `t.kind = 'CONSUMPTION'`,
    columns: [['owner', 'consumer', 'text']],
    doc: false,
    rowForEveryObject: false,
    lastTx: (v) => text(v.registeredTxId),
  },
  {
    table: 'meter_readings',
    ledgerType: 'meterAttestation',
    note:
      'each closed period (meter_periods CLOSED): the Merkle root and total of its stored readings recomputed ' +
      'and compared with the attestation on the ledger, and the period’s stored total and version; a changed ' +
      'reading is named by meter and period (the root cannot tell which interval)',
    keys: ['meter_id', 'period'],
    from: 'meter_periods t',
    where: `t.status = 'CLOSED' AND t.attested_version > 0`,
    columns: [],
    select: ['t.total_wh::text AS period_total_wh', 't.attested_version'],
    doc: false,
    rowForEveryObject: false,
    lastTx: txIdOf,
    extra: async (object, row, context) => {
      const key = object.key.join('/');
      const [meterId, period] = object.key;
      const out: Difference[] = [];
      if (!sameValue('int', object.value.version, row.attested_version)) {
        out.push({
          table: 'meter_periods',
          key,
          kind: 'DIFFERS',
          field: 'attested_version',
          ledger: shown(object.value.version),
          stored: shown(row.attested_version),
        });
        return out;
      }
      if (!sameValue('int', object.value.totalWh, row.period_total_wh)) {
        out.push({
          table: 'meter_periods',
          key,
          kind: 'DIFFERS',
          field: 'total_wh',
          ledger: shown(object.value.totalWh),
          stored: shown(row.period_total_wh),
        });
      }
      const stored = await periodReadings(context.query, meterId, period);
      if (stored.digest !== object.value.digest) {
        out.push({
          table: 'meter_readings',
          key,
          kind: 'DIFFERS',
          field: 'merkleRoot',
          ledger: shown(object.value.digest),
          stored: stored.digest,
        });
      }
      if (stored.totalWh !== String(object.value.totalWh)) {
        out.push({
          table: 'meter_readings',
          key,
          kind: 'DIFFERS',
          field: 'sum(wh)',
          ledger: shown(object.value.totalWh),
          stored: stored.totalWh,
        });
      }
      return out;
    },
  },
];

@Injectable()
export class ProjectionAudit {
  constructor(
    @Inject(LEDGER_PORT) private readonly ledger: LedgerPort,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly projector: Projector,
  ) {}

  async check(identity: IdentityRef, tables: readonly AuditTable[], limit: number): Promise<ProjectionCheck> {
    const [checkpoint, info] = await Promise.all([
      this.projector.storedCheckpoint(),
      this.ledger.getChainInfo(),
    ]);
    const differences: Difference[] = [];
    let count = 0;
    const report = (found: Difference[]) => {
      count += found.length;
      for (const d of found) if (differences.length < limit) differences.push(d);
    };
    const results: TableCheck[] = [];
    for (const spec of SPECS.filter((s) => tables.includes(s.table))) {
      const result: TableCheck = {
        table: spec.table,
        ledgerType: spec.ledgerType,
        ledgerObjects: 0,
        rows: 0,
        differences: 0,
        pending: 0,
        error: null,
        note: spec.note,
      };
      try {
        await this.checkTable(spec, identity, result, report);
        if (spec.table === 'meters') await this.checkGenerationMeters(identity, result, report);
      } catch (error) {
        result.error = (error as Error).message;
      }
      results.push(result);
    }
    return {
      ok: count === 0 && results.every((r) => r.error === null),
      checkedAt: new Date().toISOString(),
      checkpoint: checkpoint ? { blockNumber: checkpoint.blockNumber, txId: checkpoint.txId } : null,
      height: info.height,
      tables: results,
      count,
      limit,
      differences,
    };
  }

  private query = (sql: string, params: unknown[]): Promise<unknown> => this.dataSource.query(sql, params);

  /** Rows of a table in the ledger's key order, a page at a time. */
  private async *rows(spec: TableSpec): AsyncGenerator<{ key: string[]; row: Row }> {
    const keyList = spec.keys.map((k, i) => `t.${k}::text AS k${i}`).join(', ');
    const order = spec.keys.map((k) => `t.${k} COLLATE "C"`).join(', ');
    const select = [
      keyList,
      ...spec.columns.map(([c]) => `t.${c}`),
      ...(spec.doc ? ['t.doc'] : []),
      ...(spec.select ?? []),
    ];
    let after: string[] | undefined;
    for (;;) {
      const conditions = spec.where ? [spec.where] : [];
      const params: unknown[] = [];
      if (after) {
        // (k0, k1, …) > after, in byte order: k0 > a0 OR (k0 = a0 AND k1 > a1) …
        const alternatives = spec.keys.map((_, i) => {
          const equal = spec.keys.slice(0, i).map((k, j) => `t.${k}::text = $${j + 1}`);
          return [...equal, `t.${spec.keys[i]} COLLATE "C" > $${i + 1}`].join(' AND ');
        });
        conditions.push(`(${alternatives.map((a) => `(${a})`).join(' OR ')})`);
        params.push(...after);
      }
      const rows = (await this.dataSource.query(
        `SELECT ${select.join(', ')} FROM ${spec.from}
         ${conditions.length ? `WHERE ${conditions.join(' AND ')}` : ''}
         ORDER BY ${order} LIMIT ${ROWS_PER_QUERY}`,
        params,
      )) as Row[];
      for (const row of rows) yield { key: spec.keys.map((_, i) => String(row[`k${i}`])), row };
      if (rows.length < ROWS_PER_QUERY) return;
      after = spec.keys.map((_, i) => String(rows[rows.length - 1][`k${i}`]));
    }
  }

  /** The sort-merge of the ledger's objects of the type and the table's rows. */
  private async checkTable(
    spec: TableSpec,
    identity: IdentityRef,
    result: TableCheck,
    report: (found: Difference[]) => void,
  ): Promise<void> {
    const objects = ledgerObjects(this.ledger, identity, spec.ledgerType)[Symbol.asyncIterator]();
    const rows = this.rows(spec)[Symbol.asyncIterator]();
    let object = await objects.next();
    let row = await rows.next();
    // Differences of a batch of objects wait here until their last transactions are looked up at once.
    let batch: Array<{ tx: string | undefined; found: Difference[] }> = [];
    const flush = async () => {
      const txIds = [...new Set(batch.map((b) => b.tx).filter((tx): tx is string => tx !== undefined))];
      const projected = new Set(
        txIds.length === 0
          ? []
          : (
              (await this.dataSource.query('SELECT tx_id FROM projected_events WHERE tx_id = ANY($1)', [
                txIds,
              ])) as Array<{ tx_id: string }>
            ).map((r) => r.tx_id),
      );
      for (const { tx, found } of batch) {
        if (tx !== undefined && !projected.has(tx)) {
          result.pending += 1; // written on the ledger after the projection's checkpoint
        } else {
          result.differences += found.length;
          report(found);
        }
      }
      batch = [];
    };
    const context: CheckContext = { query: this.query };
    while (!object.done || !row.done) {
      const order = object.done ? 1 : row.done ? -1 : compareKeys(object.value.key, row.value.key);
      if (order < 0) {
        const current = object.value as LedgerObject;
        result.ledgerObjects += 1;
        if (spec.rowForEveryObject) {
          batch.push({
            tx: spec.lastTx(current.value),
            found: [
              {
                table: spec.table,
                key: current.key.join('/'),
                kind: 'MISSING_IN_DATABASE',
                field: null,
                ledger: null,
                stored: null,
              },
            ],
          });
        }
        object = await objects.next();
      } else if (order > 0) {
        result.rows += 1;
        result.differences += 1;
        report([
          {
            table: spec.table,
            key: row.value.key.join('/'),
            kind: 'MISSING_ON_LEDGER',
            field: null,
            ledger: null,
            stored: null,
          },
        ]);
        row = await rows.next();
      } else {
        const current = object.value as LedgerObject;
        result.ledgerObjects += 1;
        result.rows += 1;
        const key = current.key.join('/');
        const found = [
          ...compareRow(spec, key, current.value, row.value.row),
          ...((await spec.extra?.(current, row.value.row, context)) ?? []),
        ];
        if (found.length > 0) batch.push({ tx: spec.lastTx(current.value), found });
        object = await objects.next();
        row = await rows.next();
      }
      if (batch.length >= ROWS_PER_QUERY) await flush();
    }
    await flush();
  }

  /** Generation meters: the ledger unit named by the row lists the meter, and has the row's owner. */
  private async checkGenerationMeters(
    identity: IdentityRef,
    result: TableCheck,
    report: (found: Difference[]) => void,
  ): Promise<void> {
    const listedBy = new Map<string, { unitId: string; owner: string }>();
    for await (const unit of ledgerObjects(this.ledger, identity, 'unit')) {
      for (const meterId of (unit.value.meterIds as string[] | undefined) ?? []) {
        listedBy.set(meterId, { unitId: String(unit.value.id), owner: String(unit.value.owner) });
      }
    }
    let after = '';
    for (;;) {
      const rows = (await this.dataSource.query(
        `SELECT id, unit_id, owner FROM meters WHERE kind = 'GENERATION' AND id COLLATE "C" > $1
         ORDER BY id COLLATE "C" LIMIT ${ROWS_PER_QUERY}`,
        [after],
      )) as Array<{ id: string; unit_id: string; owner: string }>;
      for (const row of rows) {
        result.rows += 1;
        const unit = listedBy.get(row.id);
        const found: Difference[] = [];
        if (!unit) {
          found.push({
            table: 'meters',
            key: row.id,
            kind: 'MISSING_ON_LEDGER',
            field: 'unit_id',
            ledger: null,
            stored: row.unit_id,
          });
        } else {
          if (unit.unitId !== row.unit_id) {
            found.push({
              table: 'meters',
              key: row.id,
              kind: 'DIFFERS',
              field: 'unit_id',
              ledger: unit.unitId,
              stored: row.unit_id,
            });
          }
          if (unit.owner !== row.owner) {
            found.push({
              table: 'meters',
              key: row.id,
              kind: 'DIFFERS',
              field: 'owner',
              ledger: unit.owner,
              stored: row.owner,
            });
          }
        }
        result.differences += found.length;
        report(found);
      }
      if (rows.length < ROWS_PER_QUERY) return;
      after = rows[rows.length - 1].id;
    }
  }
}
