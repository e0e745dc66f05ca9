import type { GenerationUnit, Issuance, MeterAttestation } from '@gec/chaincode';
import { Controller, Get, Injectable, Module, OnModuleInit, Param, Query } from '@nestjs/common';
import {
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiProperty,
  ApiPropertyOptional,
  ApiSchema,
  ApiTags,
} from '@nestjs/swagger';
import { InjectDataSource } from '@nestjs/typeorm';
import { IsOptional, Matches } from 'class-validator';
import { DataSource, EntityManager } from 'typeorm';
import { Roles } from '../auth/auth.decorators';
import { ServedBy } from '../organisation/served-by';
import {
  checkId,
  checkParam,
  DocRow,
  ID_MESSAGE,
  ID_PATTERN,
  iso,
  LedgerProof,
  MONTH_PATTERN,
  orNull,
  projectedPage,
  proof,
} from '../certificates/ledger-support';
import { upsertIssuance } from '../certificates/lot-projection';
import { ApiProblems } from '../common/openapi';
import { DEFAULT_LIMIT, PageQueryDto } from '../common/pagination';
import { ProblemError } from '../common/problem';
import type { ChaincodeEvent } from '../ledger/port';
import { MalformedEventError, Projector } from '../projection/projector.service';
import { whToKwh } from '../units/units.dto';
import { upsertUnit } from '../units/unit-projection';

/**
 * The read side of meter attestations (the grid operator's monthly totals per meter): the projection of
 * `MeterPeriodAttested` and `MeterPeriodCorrected`, and GET endpoints. Closing a period (the write) belongs to the
 * metering module.
 */

const READERS = ['admin', 'trading-center', 'energy-platform', 'regulator'] as const;

async function upsertAttestation(
  manager: EntityManager,
  attestation: MeterAttestation,
  event: ChaincodeEvent,
): Promise<void> {
  if (!attestation || typeof attestation.meterId !== 'string' || !Array.isArray(attestation.versions)) {
    throw new MalformedEventError(`${event.eventName}: attestation is not an attestation`);
  }
  await manager.query(
    `INSERT INTO ledger_meter_attestations (meter_id, period, version, total_wh, attested_at, tx_id, block_number, doc)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (meter_id, period) DO UPDATE SET version = EXCLUDED.version, total_wh = EXCLUDED.total_wh,
       attested_at = EXCLUDED.attested_at, tx_id = EXCLUDED.tx_id, block_number = EXCLUDED.block_number,
       doc = EXCLUDED.doc`,
    [
      attestation.meterId,
      attestation.period,
      attestation.version,
      attestation.totalWh,
      attestation.attestedAt,
      attestation.txId,
      event.blockNumber,
      JSON.stringify(attestation),
    ],
  );
  for (const version of attestation.versions) {
    await manager.query(
      `INSERT INTO ledger_meter_attestation_versions (meter_id, period, version, total_wh, digest, reason, attested_at,
         attested_by_msp, tx_id, block_number)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (meter_id, period, version) DO NOTHING`,
      [
        attestation.meterId,
        attestation.period,
        version.version,
        version.totalWh,
        version.digest,
        version.reason,
        version.attestedAt,
        version.attestedByMsp,
        version.txId,
        version.txId === event.txId ? event.blockNumber : null,
      ],
    );
  }
}

/** `MeterPeriodAttested { attestation }`, `MeterPeriodCorrected { attestation, issuances, unit, ... }`. */
export async function projectAttestationEvent(
  manager: EntityManager,
  payload: unknown,
  event: ChaincodeEvent,
): Promise<void> {
  const body = payload as {
    attestation?: MeterAttestation;
    issuances?: Issuance[];
    unit?: GenerationUnit | null;
  };
  if (!body?.attestation) throw new MalformedEventError(`${event.eventName} has no attestation`);
  await upsertAttestation(manager, body.attestation, event);
  for (const issuance of body.issuances ?? []) await upsertIssuance(manager, issuance, event);
  await upsertUnit(manager, body.unit, event);
}

@ApiSchema({ description: 'One version of a meter–month attestation (version 1, then one per correction)' })
export class AttestationVersionDto {
  @ApiProperty({
    description: 'Attestation version (1, then one more per re-close after a correction)',
    example: 1,
  })
  version!: number;
  @ApiProperty({
    description: 'Total of the period, kWh with 3 decimals (exact to the Wh)',
    example: '60000.500',
  })
  totalKwh!: string;
  @ApiProperty({
    description: 'Merkle root (SHA-256, hex) of the interval readings',
    example: 'ab'.repeat(32),
  })
  digest!: string;
  @ApiProperty({
    nullable: true,
    type: String,
    description: 'Why this version corrects the previous one',
    example: null,
  })
  reason!: string | null;
  @ApiProperty({
    description: 'When this version was attested (ledger time, UTC)',
    example: '2026-10-01T00:30:00.000Z',
  })
  attestedAt!: string;
  @ApiProperty({
    description: 'MSP of the organisation that attested it (the energy internet platform)',
    example: 'GridMSP',
  })
  attestedByMsp!: string;
  @ApiProperty({
    description: 'Ledger transaction id of this version',
    example: '3f7c0b9e5d1a4c2b8e6f0a1d3c5b7e9f2a4c6e8b0d1f3a5c7e9b1d3f5a7c9e1b',
  })
  txId!: string;
  @ApiProperty({
    description:
      'Block of that transaction; null for an earlier version (the gateway keeps the block of the current one)',
    nullable: true,
    type: Number,
    example: 9,
  })
  blockNumber!: number | null;
}

@ApiSchema({
  description:
    'The grid operator’s attested total of one meter for one month (Asia/Shanghai), with every version',
})
export class MeterAttestationDto {
  @ApiProperty({ description: 'The meter', example: 'MTR-ZJ-0001' })
  meterId!: string;
  @ApiProperty({ description: 'The month, YYYY-MM (China Standard Time)', example: '2026-09' })
  period!: string;
  @ApiProperty({
    description: 'Start of the month (00:00 +08:00, given in UTC)',
    example: '2026-08-31T16:00:00.000Z',
  })
  periodStart!: string;
  @ApiProperty({
    description: 'End of the month, exclusive (00:00 +08:00 of the next month, given in UTC)',
    example: '2026-09-30T16:00:00.000Z',
  })
  periodEnd!: string;
  @ApiProperty({ description: 'Current version (the one issuance counts)', example: 1 })
  version!: number;
  @ApiProperty({
    description: 'The attested total in kWh (decimal string, 3 decimals)',
    example: '60000.500',
  })
  totalKwh!: string;
  @ApiProperty({ description: 'Merkle root (SHA-256 hex) of the month’s readings', example: 'ab'.repeat(32) })
  digest!: string;
  @ApiProperty({
    description: 'When the current version was attested (ledger time, UTC)',
    example: '2026-10-01T00:30:00.000Z',
  })
  attestedAt!: string;
  @ApiProperty({
    type: [AttestationVersionDto],
    description: 'Every version, oldest first',
    example: [
      {
        version: 1,
        totalKwh: '60000.500',
        digest: 'ab'.repeat(32),
        reason: null,
        attestedAt: '2026-10-01T00:30:00.000Z',
        attestedByMsp: 'GridMSP',
        txId: '3f7c0b9e5d1a4c2b8e6f0a1d3c5b7e9f2a4c6e8b0d1f3a5c7e9b1d3f5a7c9e1b',
        blockNumber: 9,
      },
    ],
  })
  versions!: AttestationVersionDto[];
  @ApiProperty({ description: 'Ledger proof of the current version’s transaction', type: LedgerProof })
  ledger!: LedgerProof;
}

@ApiSchema({ description: 'One page of meter attestations, ordered by meter and month' })
export class MeterAttestationPageDto {
  @ApiProperty({
    description: 'This page’s attestations, ordered by meter and month',
    type: [MeterAttestationDto],
  })
  items!: MeterAttestationDto[];
  @ApiProperty({
    description: 'Cursor of the next page (send it as `cursor`); null on the last page',
    nullable: true,
    type: String,
    example: null,
  })
  nextCursor!: string | null;
}

export class ListAttestationsQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ description: 'Only this meter’s attestations', example: 'MTR-ZJ-0001' })
  @IsOptional()
  @Matches(ID_PATTERN, { message: `meterId ${ID_MESSAGE}` })
  meterId?: string;

  @ApiPropertyOptional({ description: 'YYYY-MM', example: '2026-09' })
  @IsOptional()
  @Matches(MONTH_PATTERN, { message: 'period must be YYYY-MM' })
  period?: string;
}

/** A projected attestation as the list's item; `versionBlocks`: the block of each version's transaction. */
export function toAttestationDto(
  attestation: MeterAttestation,
  blockNumber: number,
  versionBlocks: Map<number, number | null>,
): MeterAttestationDto {
  return {
    meterId: attestation.meterId,
    period: attestation.period,
    periodStart: iso(attestation.periodStart),
    periodEnd: iso(attestation.periodEnd),
    version: attestation.version,
    totalKwh: whToKwh(attestation.totalWh),
    digest: attestation.digest,
    attestedAt: iso(attestation.attestedAt),
    versions: attestation.versions.map((v) => ({
      version: v.version,
      totalKwh: whToKwh(v.totalWh),
      digest: v.digest,
      reason: orNull(v.reason),
      attestedAt: iso(v.attestedAt),
      attestedByMsp: v.attestedByMsp,
      txId: v.txId,
      blockNumber: versionBlocks.get(v.version) ?? null,
    })),
    ledger: proof(attestation.txId, blockNumber, attestation.attestedAt),
  };
}

/** The list's filters, which the export shares: `[condition with ?, value]` for each one given. */
export function attestationFilters(query: { meterId?: string; period?: string }): Array<[string, unknown]> {
  const filters: Array<[string, unknown]> = [];
  if (query.meterId) filters.push(['meter_id = ?', query.meterId]);
  if (query.period) filters.push(['period = ?', query.period]);
  return filters;
}

@Injectable()
export class MeterAttestationsService implements OnModuleInit {
  constructor(
    private readonly projector: Projector,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  onModuleInit(): void {
    this.projector.on('MeterPeriodAttested', projectAttestationEvent);
    this.projector.on('MeterPeriodCorrected', projectAttestationEvent);
  }

  private async withBlocks(rows: Array<DocRow<MeterAttestation>>): Promise<MeterAttestationDto[]> {
    const txIds = rows.flatMap((row) => row.doc.versions.map((v) => v.txId));
    const blocks = (await this.dataSource.query(
      'SELECT tx_id, block_number FROM projected_events WHERE tx_id = ANY($1)',
      [txIds],
    )) as Array<{ tx_id: string; block_number: string }>;
    const byTx = new Map(blocks.map((b) => [b.tx_id, Number(b.block_number)]));
    return rows.map((row) =>
      toAttestationDto(
        row.doc,
        Number(row.block_number),
        new Map(row.doc.versions.map((v) => [v.version, byTx.get(v.txId) ?? null])),
      ),
    );
  }

  async get(meterId: string, period: string): Promise<MeterAttestationDto> {
    const rows = (await this.dataSource.query(
      'SELECT doc, block_number FROM ledger_meter_attestations WHERE meter_id = $1 AND period = $2',
      [meterId, period],
    )) as Array<DocRow<MeterAttestation>>;
    if (rows.length === 0) {
      throw new ProblemError(
        404,
        'ATTESTATION_NOT_FOUND',
        `meter ${meterId} has no attestation for ${period}`,
      );
    }
    return (await this.withBlocks(rows))[0];
  }

  async list(query: ListAttestationsQueryDto): Promise<MeterAttestationPageDto> {
    const filters = attestationFilters(query);
    const page = await projectedPage<MeterAttestation>((sql, params) => this.dataSource.query(sql, params), {
      table: 'ledger_meter_attestations',
      keys: ['meter_id', 'period'],
      filters,
      limit: query.limit ?? DEFAULT_LIMIT,
      cursor: query.cursor,
    });
    return { items: await this.withBlocks(page.rows), nextCursor: page.nextCursor };
  }
}

@ApiTags('meter-attestations')
@Controller('v1/meter-attestations')
@ServedBy('ANY')
export class MeterAttestationsController {
  constructor(private readonly attestations: MeterAttestationsService) {}

  @Get()
  @Roles(...READERS)
  @ApiOperation({
    operationId: 'listMeterAttestations',
    summary: 'List meter attestations (filter by meter and period; ordered by meter, period)',
    description: 'The grid operator’s committed monthly totals per meter, as projected from the ledger.',
  })
  @ApiOkResponse({ type: MeterAttestationPageDto })
  @ApiProblems(400)
  list(@Query() query: ListAttestationsQueryDto): Promise<MeterAttestationPageDto> {
    return this.attestations.list(query);
  }

  @Get(':meterId/:period')
  @Roles(...READERS)
  @ApiOperation({
    operationId: 'getMeterAttestation',
    summary: 'The attestation of a meter and month, with every version (corrections)',
  })
  @ApiParam({ name: 'meterId', description: 'The meter id', example: 'MTR-ZJ-0001' })
  @ApiParam({ name: 'period', description: 'The month, YYYY-MM (China Standard Time)', example: '2026-09' })
  @ApiOkResponse({ type: MeterAttestationDto })
  @ApiProblems(400, 404)
  get(@Param('meterId') meterId: string, @Param('period') period: string): Promise<MeterAttestationDto> {
    return this.attestations.get(
      checkId(meterId, 'meterId'),
      checkParam(period, 'period', MONTH_PATTERN, 'must be YYYY-MM'),
    );
  }
}

@Module({ controllers: [MeterAttestationsController], providers: [MeterAttestationsService] })
export class MeterAttestationsModule {}
