import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Matches, Max, Min } from 'class-validator';
import { CHAIN_CHECKS, type ChainCheck } from '../ledger/port';
import { AUDIT_TABLES, DIFFERENCE_KINDS, type AuditTable, type DifferenceKind } from './projection-audit';
import type { ChainState } from './chain-verifier';

const HASH_EXAMPLE = '9f2c4e6a8b0d1f3a5c7e9b1d3f5a7c9e1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a';
const TX_EXAMPLE = '3f7c0b9e5d1a4c2b8e6f0a1d3c5b7e9f2a4c6e8b0d1f3a5c7e9b1d3f5a7c9e1b';
const LEDGER_KINDS = ['embedded', 'fabric-gateway', 'fabric-network'];
export const CHAIN_STATES: ChainState[] = ['pending', 'verifying', 'verified', 'failed', 'error'];

/** Blocks one request verifies at most (a longer chain is verified in parts, `nextFrom` says where next). */
export const MAX_RANGE_BLOCKS = 10_000;

export class ChainRangeQueryDto {
  @ApiPropertyOptional({ description: 'First block to verify (default 0)', example: 0, minimum: 0 })
  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: 'from must be a block number (an integer from 0)' })
  @Min(0, { message: 'from must be a block number (an integer from 0)' })
  from?: number;

  @ApiPropertyOptional({
    description: `Last block to verify, inclusive (default the last block, at most ${MAX_RANGE_BLOCKS} blocks from \`from\`)`,
    example: 42,
    minimum: 0,
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: 'to must be a block number (an integer from 0)' })
  @Min(0, { message: 'to must be a block number (an integer from 0)' })
  to?: number;
}

@ApiSchema({ description: 'A check of the chain verification and whether this ledger kind makes it' })
export class ChainCheckDto {
  @ApiProperty({
    description:
      'record: the block’s stored bytes (the embedded block file’s record checksum); decode; number; data-hash: ' +
      'SHA-256 over the transactions; previous-hash: the link to the block before; orderer-signature; ' +
      'block-index: number → file offset, length, header hash; tx-index: txId → block, position, validation code',
    enum: CHAIN_CHECKS,
    example: 'orderer-signature',
  })
  check!: ChainCheck;
  @ApiProperty({ description: 'Whether it was made on this ledger', example: true })
  performed!: boolean;
  @ApiProperty({
    description: 'How it is made, or why it is not (a Fabric peer does not show its block index, say)',
    nullable: true,
    type: String,
    example: null,
  })
  note!: string | null;
}

@ApiSchema({
  description: 'A check a block failed: the block, the check, what was expected and what was found',
})
export class ChainFailureDto {
  @ApiProperty({ description: 'The block', example: 7 })
  blockNumber!: number;
  @ApiProperty({ description: 'The check it failed', enum: CHAIN_CHECKS, example: 'data-hash' })
  check!: ChainCheck;
  @ApiProperty({
    description: 'What the check expected (a hash, a location, a signer)',
    example: `${HASH_EXAMPLE} (the data hash in the block header)`,
  })
  expected!: string;
  @ApiProperty({
    description: 'What it found',
    example: `${TX_EXAMPLE} (SHA-256 of the block's 3 transaction(s))`,
  })
  found!: string;
}

@ApiSchema({ description: 'The gateway’s own chain verification, at start and on a schedule' })
export class ChainStatusDto {
  @ApiProperty({
    description:
      'pending: no run has finished; verifying: the first run is under way; verified: the last run found nothing ' +
      'wrong; failed: it found a failed check (the gateway is not ready); error: it could not finish',
    enum: CHAIN_STATES,
    example: 'verified',
  })
  state!: ChainState;
  @ApiProperty({
    description: 'The last block verified in sequence (null before the first)',
    nullable: true,
    type: Number,
    example: 41,
  })
  verifiedBlock!: number | null;
  @ApiProperty({
    description: 'Its header hash, as recorded in PostgreSQL: the next run links to it',
    nullable: true,
    type: String,
    example: HASH_EXAMPLE,
  })
  verifiedHash!: string | null;
  @ApiProperty({
    description: 'The ledger’s height when the last run started',
    nullable: true,
    type: Number,
    example: 42,
  })
  height!: number | null;
  @ApiProperty({
    description: 'Where the next re-verification of already verified blocks starts',
    example: 0,
  })
  sweepNextBlock!: number;
  @ApiProperty({
    description: 'When the last run finished (RFC 3339)',
    nullable: true,
    type: String,
    example: '2026-12-06T08:00:00.000Z',
  })
  lastRunAt!: string | null;
  @ApiProperty({ description: 'Runs since the gateway started', example: 3 })
  runs!: number;
  @ApiProperty({
    description: 'The first failure the last run found (null when none)',
    type: ChainFailureDto,
    nullable: true,
  })
  failure!: ChainFailureDto | null;
  @ApiProperty({ description: 'Failures the last run found', example: 0 })
  failures!: number;
  @ApiProperty({
    description: 'Why the last run could not finish (null when it did)',
    nullable: true,
    type: String,
    example: null,
  })
  error!: string | null;
  @ApiProperty({
    description: 'Checks this ledger kind does not make (empty on the embedded ledger)',
    enum: CHAIN_CHECKS,
    isArray: true,
    example: [],
  })
  unchecked!: ChainCheck[];
}

@ApiSchema({ description: 'Chain verification of a block range' })
export class ChainAuditDto {
  @ApiProperty({ description: 'The ledger kind verified', enum: LEDGER_KINDS, example: 'embedded' })
  ledger!: string;
  @ApiProperty({ description: 'The ledger’s height (blocks) when the verification started', example: 42 })
  height!: number;
  @ApiProperty({ description: 'First block verified', example: 0 })
  from!: number;
  @ApiProperty({ description: 'Last block verified (inclusive)', example: 41 })
  to!: number;
  @ApiProperty({ description: 'Blocks read', example: 42 })
  blocksChecked!: number;
  @ApiProperty({ description: 'No check failed', example: false })
  ok!: boolean;
  @ApiProperty({ description: 'Every check, and whether it was made on this ledger', type: [ChainCheckDto] })
  checks!: ChainCheckDto[];
  @ApiProperty({
    description: 'The first failure in block order (null when none)',
    type: ChainFailureDto,
    nullable: true,
  })
  firstFailure!: ChainFailureDto | null;
  @ApiProperty({ description: 'Every failure in block order (at most 1000 listed)', type: [ChainFailureDto] })
  failures!: ChainFailureDto[];
  @ApiProperty({ description: 'Failures found in all', example: 2 })
  failureCount!: number;
  @ApiProperty({
    description: 'Header hash of the last block verified, recomputed from its bytes (null when unreadable)',
    nullable: true,
    type: String,
    example: HASH_EXAMPLE,
  })
  lastHeaderHash!: string | null;
  @ApiProperty({
    description: `Where to continue when the chain goes on beyond this range (ranges are at most ${MAX_RANGE_BLOCKS} blocks); null at its end`,
    nullable: true,
    type: Number,
    example: null,
  })
  nextFrom!: number | null;
  @ApiProperty({
    description: 'The gateway’s own verification (at start and scheduled)',
    type: ChainStatusDto,
  })
  verification!: ChainStatusDto;
}

const TABLES_PATTERN = new RegExp(`^(${AUDIT_TABLES.join('|')})(,(${AUDIT_TABLES.join('|')}))*$`);

export class ProjectionAuditQueryDto {
  @ApiPropertyOptional({
    description: `Tables to check, comma-separated (default all): ${AUDIT_TABLES.join(', ')}`,
    example: 'certificate_lots,trades,meter_readings',
    pattern: TABLES_PATTERN.source,
  })
  @IsOptional()
  @Matches(TABLES_PATTERN, { message: `tables must be a comma-separated list of ${AUDIT_TABLES.join(', ')}` })
  tables?: string;

  @ApiPropertyOptional({
    description: 'Differences listed at most (1–1000; all are counted)',
    default: 100,
    example: 100,
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: 'limit must be an integer from 1 to 1000' })
  @Min(1, { message: 'limit must be an integer from 1 to 1000' })
  @Max(1000, { message: 'limit must be an integer from 1 to 1000' })
  limit?: number;
}

@ApiSchema({ description: 'What the projection check found in one table' })
export class TableCheckDto {
  @ApiProperty({ description: 'The table', enum: AUDIT_TABLES, example: 'certificate_lots' })
  table!: AuditTable;
  @ApiProperty({
    description: 'The ledger object type it is compared with (queries:ListObjects)',
    example: 'lot',
  })
  ledgerType!: string;
  @ApiProperty({ description: 'Ledger objects read', example: 120 })
  ledgerObjects!: number;
  @ApiProperty({ description: 'Rows read', example: 120 })
  rows!: number;
  @ApiProperty({ description: 'Differences found in it (and its related tables)', example: 1 })
  differences!: number;
  @ApiProperty({
    description:
      'Objects written on the ledger after the projection’s checkpoint (not differences; check again)',
    example: 0,
  })
  pending!: number;
  @ApiProperty({
    description: 'Why the table could not be checked (null when it was)',
    nullable: true,
    type: String,
    example: null,
  })
  error!: string | null;
  @ApiProperty({
    description: 'What the check of this table covers',
    example: 'every column and the kept ledger object, and the newest row of certificate_lot_versions',
  })
  note!: string;
}

@ApiSchema({
  description: 'A row that differs from the ledger, named by table, key and field with both values',
})
export class DifferenceDto {
  @ApiProperty({ description: 'The table holding the row', example: 'certificate_lots' })
  table!: string;
  @ApiProperty({
    description: 'The row’s key (the ledger key’s attributes joined with /)',
    example: 'P33090020240000172026100000091WT',
  })
  key!: string;
  @ApiProperty({
    description:
      'MISSING_IN_DATABASE: the ledger holds it, the table does not; MISSING_ON_LEDGER: the table holds what the ' +
      'ledger does not; DIFFERS: a field differs',
    enum: DIFFERENCE_KINDS,
    example: 'DIFFERS',
  })
  kind!: DifferenceKind;
  @ApiProperty({
    description:
      'The column, doc.<field> for the kept ledger object, or what was recomputed (sha256(trade), merkleRoot); ' +
      'null when the row is missing',
    nullable: true,
    type: String,
    example: 'status',
  })
  field!: string | null;
  @ApiProperty({ description: 'The value on the ledger', nullable: true, type: String, example: 'REDEEMED' })
  ledger!: string | null;
  @ApiProperty({
    description: 'The value in PostgreSQL, or recomputed from what it stores',
    nullable: true,
    type: String,
    example: 'ACTIVE',
  })
  stored!: string | null;
}

@ApiSchema({ description: 'The projected checkpoint: the last block and transaction projected' })
export class CheckpointDto {
  @ApiProperty({ description: 'Block of the last projected event', example: 41 })
  blockNumber!: number;
  @ApiProperty({ description: 'Its transaction', example: TX_EXAMPLE })
  txId!: string;
}

@ApiSchema({ description: 'The projection check: every projected table against the ledger’s state' })
export class ProjectionAuditDto {
  @ApiProperty({ description: 'No difference, and every table checked', example: false })
  ok!: boolean;
  @ApiProperty({ description: 'When the check finished (RFC 3339)', example: '2026-12-06T08:00:00.000Z' })
  checkedAt!: string;
  @ApiProperty({
    description: 'The projection’s checkpoint when the check started (null before any event)',
    type: CheckpointDto,
    nullable: true,
  })
  checkpoint!: CheckpointDto | null;
  @ApiProperty({ description: 'The ledger’s height when the check started', example: 42 })
  height!: number;
  @ApiProperty({ description: 'Each table checked', type: [TableCheckDto] })
  tables!: TableCheckDto[];
  @ApiProperty({ description: 'Differences found in all', example: 1 })
  count!: number;
  @ApiProperty({ description: 'Differences listed at most', example: 100 })
  limit!: number;
  @ApiProperty({
    description: 'The differences, at most `limit`, table by table in key order',
    type: [DifferenceDto],
  })
  differences!: DifferenceDto[];
}
