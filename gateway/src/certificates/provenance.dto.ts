import type {
  CertificateLot,
  Exchange,
  Issuance,
  LotHistoryEntry,
  Redemption,
  SerialProvenance,
  TradeAttestation,
  Voucher,
} from '@gec/chaincode';
import { ApiProperty, ApiSchema } from '@nestjs/swagger';
import { whToKwh } from '../units/units.dto';
import { iso, orNull } from './ledger-support';

const SERIAL_EXAMPLE = 'P3309002024000017' + '202609' + '0000001' + 'WT';
const CHILD_EXAMPLE = 'P3309002024000017' + '202609' + '0000061' + 'WT';
const TX_EXAMPLE = '3f7c0b9e5d1a4c2b8e6f0a1d3c5b7e9f2a4c6e8b0d1f3a5c7e9b1d3f5a7c9e1b';

export const PROVENANCE_EVENT_KINDS = [
  'ISSUED',
  'SPLIT',
  'TRANSFERRED',
  'LISTED',
  'DELISTED',
  'SOLD',
  'TRADE_ATTESTED',
  'VOUCHER_RELEASED',
  'VOUCHER_CLAIMED',
  'VOUCHER_REVOKED',
  'RETURNED',
  'REDEEMED',
  'EXCHANGED',
  'EXPIRED',
  'WITHDRAWN',
  'CHANGED',
] as const;
export type ProvenanceEventKind = (typeof PROVENANCE_EVENT_KINDS)[number];

/** What the ledger says about one transaction (qscc): its block, validation code, time and submitting MSP. */
export interface TxFacts {
  blockNumber: number;
  txNumber: number;
  validationCode: string;
  committedAt: string;
  mspId: string;
  transaction: string;
}

@ApiSchema({ description: 'One step of a certificate’s life, proven by its ledger transaction' })
export class ProvenanceEventDto {
  @ApiProperty({
    enum: PROVENANCE_EVENT_KINDS,
    description:
      'What happened: ISSUED (注册绿证), SPLIT (a part became a lot of its own, same holder), TRANSFERRED, LISTED ' +
      '(绿证售卖), DELISTED, SOLD (from a listing), TRADE_ATTESTED (moved into voucher custody with a trade), ' +
      'VOUCHER_RELEASED / VOUCHER_CLAIMED / VOUCHER_REVOKED, RETURNED (back to ACTIVE from custody), REDEEMED ' +
      '(兑付/核销), EXCHANGED (绿电兑换), EXPIRED, WITHDRAWN, CHANGED (anything else)',
    example: 'TRADE_ATTESTED',
  })
  kind!: ProvenanceEventKind;
  @ApiProperty({ description: 'The ledger transaction of the step', example: TX_EXAMPLE })
  txId!: string;
  @ApiProperty({ description: 'Its block, from the ledger (qscc), not from the projection', example: 12 })
  blockNumber!: number;
  @ApiProperty({ description: 'Its validation code on the ledger', example: 'VALID' })
  validationCode!: string;
  @ApiProperty({ description: 'Transaction time (UTC)', example: '2026-10-08T02:00:00.000Z' })
  committedAt!: string;
  @ApiProperty({ description: 'The organisation (MSP) that submitted it', example: 'TradingCenterMSP' })
  mspId!: string;
  @ApiProperty({ description: 'The chaincode function it ran', example: 'trades:AttestTrade' })
  transaction!: string;
  @ApiProperty({
    description: 'The lot holding the serial after the step (null for voucher steps)',
    example: CHILD_EXAMPLE,
    nullable: true,
    type: String,
  })
  lotId!: string | null;
  @ApiProperty({ description: 'Holder after the step', example: 'CON-SH-001', nullable: true, type: String })
  owner!: string | null;
  @ApiProperty({
    description: 'Lot state after the step',
    example: 'IN_CUSTODY',
    nullable: true,
    type: String,
  })
  status!: string | null;
  @ApiProperty({
    description: 'The issuance, listing, trade, voucher, redemption or exchange the step belongs to',
    example: 'TRD-2026-10-0001',
    nullable: true,
    type: String,
  })
  reference!: string | null;
  @ApiProperty({
    description: 'The step in words',
    example: 'trade TRD-2026-10-0001 attested; voucher V-… holds the lot in custody for CON-SH-001',
  })
  detail!: string;
}

@ApiSchema({ description: 'One committed move of a lot on the serial’s path' })
export class ProvenanceEntryDto {
  @ApiProperty({ description: 'Ledger transaction of this step', example: TX_EXAMPLE })
  txId!: string;
  @ApiProperty({
    description: 'Its block, from the ledger; null when the ledger does not know the transaction',
    nullable: true,
    type: Number,
    example: 12,
  })
  blockNumber!: number | null;
  @ApiProperty({
    description: 'When it was committed (ledger time, UTC)',
    example: '2026-10-08T02:00:00.000Z',
  })
  committedAt!: string;
  @ApiProperty({ description: 'The organisation that submitted it', example: 'TradingCenterMSP' })
  mspId!: string;
  @ApiProperty({ enum: PROVENANCE_EVENT_KINDS, description: 'What the move was', example: 'TRANSFERRED' })
  kind!: ProvenanceEventKind;
  @ApiProperty({ description: 'Holder after the step', example: 'GEN-ZJ-001' })
  owner!: string;
  @ApiProperty({ description: 'Lot state after the step', example: 'ACTIVE' })
  status!: string;
  @ApiProperty({ description: 'First serial of the lot after the step', example: SERIAL_EXAMPLE })
  serialStart!: string;
  @ApiProperty({ description: 'Last serial of the lot after the step', example: CHILD_EXAMPLE })
  serialEnd!: string;
}

@ApiSchema({ description: 'One lot on a serial’s path, with its moves while it held the serial' })
export class ProvenanceStepDto {
  @ApiProperty({
    description: 'A lot on the serial’s path, from the issued lot to the current one',
    example: CHILD_EXAMPLE,
  })
  lotId!: string;
  @ApiProperty({
    description: 'The lot it was split from; null for the issued lot',
    example: SERIAL_EXAMPLE,
    nullable: true,
    type: String,
  })
  parentLotId!: string | null;
  @ApiProperty({
    description: 'When the lot came into being (ledger time, UTC)',
    example: '2026-10-08T02:00:00.000Z',
  })
  createdAt!: string;
  @ApiProperty({
    enum: ['moves', 'history'],
    description:
      'moves: read from the lot’s move index on the ledger; history: the lot was written before that index ' +
      'existed and its moves come from its key history',
    example: 'moves',
  })
  source!: string;
  @ApiProperty({
    type: [ProvenanceEntryDto],
    description:
      'Moves of the lot while it held the serial, oldest first: its creation and every change but the splits ' +
      'that took other serials away',
  })
  entries!: ProvenanceEntryDto[];
}

@ApiSchema({ description: 'A meter total the issuance counted (attested on the ledger)' })
export class ProvenanceMeterDto {
  @ApiProperty({ description: 'Generation meter', example: 'MTR-ZJ-0001' })
  meterId!: string;
  @ApiProperty({ description: 'Version of its monthly attestation used', example: 1 })
  version!: number;
  @ApiProperty({ description: 'Its attested monthly total, kWh (3 decimals)', example: '74400.000' })
  totalKwh!: string;
}

@ApiSchema({ description: 'The issuance (注册绿证) that created the serial' })
export class ProvenanceIssuanceDto {
  @ApiProperty({ description: 'Issuance id (project code + YYYYMM)', example: 'P3309002024000017202609' })
  id!: string;
  @ApiProperty({ description: 'Generating unit', example: 'UNIT-ZJ-WIND-01' })
  unitId!: string;
  @ApiProperty({ description: 'Production month (Asia/Shanghai)', example: '2026-09' })
  productionMonth!: string;
  @ApiProperty({ type: [ProvenanceMeterDto], description: 'The meters and attested totals it counted' })
  meters!: ProvenanceMeterDto[];
  @ApiProperty({ description: 'Attested generation of the month, kWh', example: '120900.000' })
  attestedKwh!: string;
  @ApiProperty({ description: 'Certificates issued', example: 120 })
  certificates!: number;
  @ApiProperty({ description: 'Organisation that issued', example: 'GridMSP' })
  issuedByMsp!: string;
  @ApiProperty({ description: 'Its transaction', example: TX_EXAMPLE })
  txId!: string;
}

@ApiSchema({ description: 'A voucher (绿电凭证) and the trade attestation behind it' })
export class ProvenanceVoucherDto {
  @ApiProperty({ description: 'Voucher id', example: 'V-TRD-2026-10-0001' })
  voucherId!: string;
  @ApiProperty({ description: 'Its status now', example: 'IN_CUSTODY' })
  status!: string;
  @ApiProperty({ description: 'Holder (the buyer)', example: 'CON-SH-001' })
  consumer!: string;
  @ApiProperty({ description: 'The attested trade', example: 'TRD-2026-10-0001' })
  tradeId!: string;
  @ApiProperty({ description: 'GREEN_POWER or CERTIFICATE', example: 'GREEN_POWER' })
  tradeKind!: string;
  @ApiProperty({ description: 'Seller', example: 'GEN-ZJ-001' })
  seller!: string;
  @ApiProperty({ description: 'Volume, kWh', example: 60000 })
  volumeKwh!: number;
  @ApiProperty({
    description:
      'SHA-256 of the canonical trade data attested on the ledger (null if the trade is not found)',
    example: '9c1d…',
    nullable: true,
    type: String,
  })
  tradeDataHash!: string | null;
  @ApiProperty({
    description: 'Organisation that attested the trade',
    example: 'GridMSP',
    nullable: true,
    type: String,
  })
  attestedByMsp!: string | null;
  @ApiProperty({
    description: 'The attestation’s transaction (it also issued the voucher)',
    example: TX_EXAMPLE,
  })
  txId!: string;
}

@ApiSchema({
  description:
    'Where a certificate has been, from the ledger: issuance → each move of the lots that held it → trade ' +
    'attestation → voucher → redemption, exchange, expiry or withdrawal',
})
export class ProvenanceDto {
  @ApiProperty({
    description: 'The certificate serial asked about (for a lot: its first serial)',
    example: SERIAL_EXAMPLE,
  })
  serial!: string;
  @ApiProperty({ description: 'The lot holding it now', example: CHILD_EXAMPLE })
  lotId!: string;
  @ApiProperty({ description: 'That lot’s state', example: 'REDEEMED' })
  status!: string;
  @ApiProperty({ description: 'Its holder now', example: 'CON-SH-001' })
  owner!: string;
  @ApiProperty({
    type: ProvenanceIssuanceDto,
    nullable: true,
    description: 'The issuance that created it (null only for a ledger missing the issuance object)',
    example: {
      id: 'P3309002024000017202609',
      unitId: 'UNIT-ZJ-WIND-01',
      productionMonth: '2026-09',
      meters: [{ meterId: 'MTR-ZJ-0001', version: 1, totalKwh: '120900.000' }],
      attestedKwh: '120900.000',
      certificates: 120,
      issuedByMsp: 'GridMSP',
      txId: TX_EXAMPLE,
    },
  })
  issuance!: ProvenanceIssuanceDto | null;
  @ApiProperty({
    type: [ProvenanceEventDto],
    description: 'Every step in ledger order, each with transaction, block, time and acting organisation',
  })
  timeline!: ProvenanceEventDto[];
  @ApiProperty({
    type: [ProvenanceStepDto],
    description: 'From the issued lot to the lot holding the serial now',
  })
  steps!: ProvenanceStepDto[];
  @ApiProperty({ type: [ProvenanceVoucherDto], description: 'Vouchers holding a lot on the path' })
  vouchers!: ProvenanceVoucherDto[];
}

@ApiSchema({ description: 'Provenance of each lot a voucher (绿电凭证) holds' })
export class VoucherProvenanceDto {
  @ApiProperty({ description: 'Voucher id', example: 'V-TRD-2026-10-0001' })
  voucherId!: string;
  @ApiProperty({ description: 'Its status now', example: 'CLAIMED' })
  status!: string;
  @ApiProperty({ description: 'The attested trade behind it', example: 'TRD-2026-10-0001' })
  tradeId!: string;
  @ApiProperty({ type: [ProvenanceDto], description: 'One per source lot, in the voucher’s order' })
  lots!: ProvenanceDto[];
}

// ---- Mapping --------------------------------------------------------------------------------------------------

/** Every transaction id a provenance names (moves, vouchers' status changes). */
export function provenanceTxIds(p: SerialProvenance): string[] {
  const ids = new Set<string>();
  for (const step of p.steps) for (const e of step.entries) ids.add(e.txId);
  for (const v of p.vouchers ?? []) for (const h of v.history ?? []) ids.add(h.txId);
  return [...ids];
}

function moveKind(
  previous: CertificateLot | undefined,
  lot: CertificateLot,
  created: boolean,
): ProvenanceEventKind {
  if (previous === undefined) return 'ISSUED';
  if (previous.status !== lot.status) {
    switch (lot.status) {
      case 'LISTED':
        return 'LISTED';
      case 'IN_CUSTODY':
        return 'TRADE_ATTESTED';
      case 'REDEEMED':
      case 'EXCHANGED':
      case 'EXPIRED':
      case 'WITHDRAWN':
        return lot.status;
      case 'ACTIVE':
        if (previous.status === 'LISTED') return previous.owner !== lot.owner ? 'SOLD' : 'DELISTED';
        return 'RETURNED';
      default:
        return 'CHANGED';
    }
  }
  if (previous.owner !== lot.owner) return 'TRANSFERRED';
  return created ? 'SPLIT' : 'CHANGED';
}

function moveDetail(
  kind: ProvenanceEventKind,
  lot: CertificateLot,
  p: SerialProvenance,
): [string | null, string] {
  const range = `${lot.serialStart}…${lot.serialEnd} (${lot.volume} certificates)`;
  switch (kind) {
    case 'ISSUED':
      return [lot.issuanceId, `issued to ${lot.owner}: lot ${range}`];
    case 'SPLIT':
      return [lot.parentLotId || null, `split from lot ${lot.parentLotId} into lot ${range}`];
    case 'TRANSFERRED':
      return [null, `transferred to ${lot.owner}: lot ${range}`];
    case 'LISTED':
      return [orNull(lot.listingId), `listed for sale (${lot.listingId}): lot ${range}`];
    case 'DELISTED':
      return [null, `listing closed, lot ${range} active again`];
    case 'SOLD':
      return [null, `sold to ${lot.owner}: lot ${range}`];
    case 'TRADE_ATTESTED': {
      const voucher = (p.vouchers ?? []).find((v) => v.sourceLots.some((s) => s.lotId === lot.id));
      const trade = lot.greenPowerTradeId || voucher?.tradeId || '';
      return [
        orNull(trade),
        `trade ${trade} attested; voucher ${voucher?.voucherId ?? '?'} holds lot ${range} in custody for ${lot.owner}`,
      ];
    }
    case 'REDEEMED': {
      const r = (p.redemptions ?? []).find((x: Redemption) => x.id === lot.redemptionId);
      return [
        orNull(lot.redemptionId),
        `redeemed (${lot.redemptionId}) for ${r?.beneficiary ?? lot.owner}` +
          (r ? `, ${r.purpose}, consumption ${r.consumptionStartMonth}–${r.consumptionEndMonth}` : ''),
      ];
    }
    case 'EXCHANGED': {
      const x = (p.exchanges ?? []).find((e: Exchange) => e.id === lot.exchangeId);
      return [
        orNull(lot.exchangeId),
        `exchanged for green electricity (${lot.exchangeId})` +
          (x ? `, reference ${x.electricityReference}` : ''),
      ];
    }
    case 'EXPIRED':
      return [null, `expired at ${lot.expiresAt}`];
    case 'WITHDRAWN':
      return [null, `withdrawn: ${lot.statusReason}`];
    case 'RETURNED':
      return [null, `back to ACTIVE with ${lot.owner}`];
    default:
      return [null, `lot ${range} changed`];
  }
}

function issuanceDto(issuance: Issuance): ProvenanceIssuanceDto {
  return {
    id: issuance.id,
    unitId: issuance.unitId,
    productionMonth: issuance.productionMonth,
    meters: issuance.meters.map((m) => ({
      meterId: m.meterId,
      version: m.version,
      totalKwh: whToKwh(m.totalWh),
    })),
    attestedKwh: whToKwh(issuance.attestedWh),
    certificates: issuance.certificates,
    issuedByMsp: issuance.issuedByMsp,
    txId: issuance.txId,
  };
}

function voucherDto(voucher: Voucher, trades: TradeAttestation[]): ProvenanceVoucherDto {
  const trade = trades.find((t) => t.tradeId === voucher.tradeId);
  return {
    voucherId: voucher.voucherId,
    status: voucher.status,
    consumer: voucher.consumer,
    tradeId: voucher.tradeId,
    tradeKind: voucher.tradeKind,
    seller: voucher.seller,
    volumeKwh: voucher.volumeKwh,
    tradeDataHash: trade?.tradeDataHash ?? null,
    attestedByMsp: trade?.attestedByMsp ?? null,
    txId: voucher.issuedTxId,
  };
}

/**
 * The answer, from the chaincode's provenance and the ledger's facts about each transaction it names. A
 * transaction the ledger does not know, or knows as invalid, is not served as a step: it throws.
 */
export function toProvenanceDto(p: SerialProvenance, facts: Map<string, TxFacts>): ProvenanceDto {
  const fact = (txId: string): TxFacts => {
    const f = facts.get(txId);
    if (!f || f.validationCode !== 'VALID') {
      throw new Error(
        `provenance names transaction ${txId}, which the ledger ${f ? `marks ${f.validationCode}` : 'does not hold'}`,
      );
    }
    return f;
  };
  const timeline: ProvenanceEventDto[] = [];
  let previous: CertificateLot | undefined;
  const steps: ProvenanceStepDto[] = p.steps.map((step) => {
    const entries = step.entries.map((e: LotHistoryEntry, index: number): ProvenanceEntryDto => {
      const f = fact(e.txId);
      const kind = moveKind(previous, e.lot, index === 0);
      previous = e.lot;
      const [reference, detail] = moveDetail(kind, e.lot, p);
      timeline.push({
        kind,
        txId: e.txId,
        blockNumber: f.blockNumber,
        validationCode: f.validationCode,
        committedAt: f.committedAt,
        mspId: e.mspId || f.mspId,
        transaction: f.transaction,
        lotId: e.lot.id,
        owner: e.lot.owner,
        status: e.lot.status,
        reference,
        detail,
      });
      return {
        txId: e.txId,
        blockNumber: f.blockNumber,
        committedAt: iso(e.timestamp),
        mspId: e.mspId || f.mspId,
        kind,
        owner: e.lot.owner,
        status: e.lot.status,
        serialStart: e.lot.serialStart,
        serialEnd: e.lot.serialEnd,
      };
    });
    return {
      lotId: step.lotId,
      parentLotId: orNull(step.parentLotId),
      createdAt: iso(step.createdAt),
      source: step.source || 'history',
      entries,
    };
  });
  for (const voucher of p.vouchers ?? []) {
    for (const change of voucher.history ?? []) {
      if (change.txId === voucher.issuedTxId) continue; // the attestation itself is already a step
      const kind = `VOUCHER_${change.status}` as ProvenanceEventKind;
      if (!(['VOUCHER_RELEASED', 'VOUCHER_CLAIMED', 'VOUCHER_REVOKED'] as string[]).includes(kind)) continue;
      const f = fact(change.txId);
      timeline.push({
        kind,
        txId: change.txId,
        blockNumber: f.blockNumber,
        validationCode: f.validationCode,
        committedAt: f.committedAt,
        mspId: change.byMsp || f.mspId,
        transaction: f.transaction,
        lotId: null,
        owner: voucher.consumer,
        status: change.status,
        reference: voucher.voucherId,
        detail: `voucher ${voucher.voucherId} ${change.status.toLowerCase()}${change.reason ? `: ${change.reason}` : ''}`,
      });
    }
  }
  const order = (e: ProvenanceEventDto): number => facts.get(e.txId)?.txNumber ?? 0;
  timeline.sort((a, b) => a.blockNumber - b.blockNumber || order(a) - order(b));
  const issuance = (p.issuances ?? [])[0];
  return {
    serial: p.serial,
    lotId: p.lotId,
    status: p.status,
    owner: p.owner,
    issuance: issuance ? issuanceDto(issuance) : null,
    timeline,
    steps,
    vouchers: (p.vouchers ?? []).map((v) => voucherDto(v, p.trades ?? [])),
  };
}
