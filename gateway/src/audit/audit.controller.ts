import { Controller, Get, Inject, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, Roles } from '../auth/auth.decorators';
import { ServedBy } from '../organisation/served-by';
import type { Principal } from '../auth/roles';
import { ApiProblems } from '../common/openapi';
import { ProblemError } from '../common/problem';
import { APP_CONFIG, type AppConfig } from '../config/config';
import { LEDGER_PORT } from '../ledger-module/ledger.tokens';
import type { LedgerPort } from '../ledger/port';
import {
  ChainAuditDto,
  ChainRangeQueryDto,
  MAX_RANGE_BLOCKS,
  ProjectionAuditDto,
  ProjectionAuditQueryDto,
} from './audit.dto';
import { AuditLogPageDto, AuditLogQueryDto } from './audit-log.dto';
import { AuditLogService } from './audit-log.service';
import { ChainVerifier } from './chain-verifier';
import { AUDIT_TABLES, ProjectionAudit, type AuditTable } from './projection-audit';

/** Failures listed in one answer at most (all are counted). */
const FAILURES_LISTED = 1000;

function badRange(field: 'from' | 'to', code: string, detail: string): ProblemError {
  return new ProblemError(400, code, detail, { errors: [{ field, message: detail }] });
}

/**
 * Integrity checks for the regulator (监管方) and the consortium admin, read-only: the chain of blocks, and the
 * gateway's PostgreSQL copies against the ledger.
 */
@ApiTags('audit')
@Controller('v1/audit')
@ServedBy('ANY')
export class AuditController {
  constructor(
    @Inject(LEDGER_PORT) private readonly ledger: LedgerPort,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly verifier: ChainVerifier,
    private readonly projection: ProjectionAudit,
    private readonly auditLog: AuditLogService,
  ) {}

  @Get('log')
  @Roles('regulator')
  @ApiOperation({
    operationId: 'listRegulatorAuditLog',
    summary: 'The regulator audit log: every request of a regulator key (who, what, when, result)',
    description:
      'Every request made with a regulator’s API key, oldest first: the key’s id, role and whom it acts for; ' +
      'method, path with query and operationId; when it arrived and was answered; its status and problem code. ' +
      'Each row is written before the answer is sent; the table is append-only in the database (a trigger ' +
      'refuses UPDATE, DELETE and TRUNCATE). Filters: `from`, `to` (time received), `apiKeyId`, `status`. ' +
      'Regulators only; reading it is recorded too.',
  })
  @ApiOkResponse({ type: AuditLogPageDto })
  @ApiProblems(400)
  log(@Query() query: AuditLogQueryDto): Promise<AuditLogPageDto> {
    return this.auditLog.list(query);
  }

  @Get('chain')
  @Roles('admin', 'regulator')
  @ApiOperation({
    operationId: 'verifyChain',
    summary: 'Verify the chain of blocks over a range (block-chain integrity check)',
    description:
      'Reads blocks `from`..`to` (default: from block 0, at most ' +
      `${MAX_RANGE_BLOCKS} blocks) and checks each: its stored record, that it decodes, its number, its data ` +
      'hash against its transactions, its previous hash against the header hash of the block before, the ' +
      'orderer’s signature over its header, and the block and transaction indexes against it. Every failure is ' +
      'named by block, check, expected and found; `checks` says which checks this ledger kind makes (on a Fabric ' +
      'channel the orderer signature and the peer’s block index are not visible and are marked not performed). ' +
      '`verification` is the gateway’s own verification, at start and on a schedule, as /health/ready shows it. ' +
      'Reads only.',
  })
  @ApiOkResponse({ type: ChainAuditDto })
  @ApiProblems(400)
  async chain(@Query() query: ChainRangeQueryDto): Promise<ChainAuditDto> {
    const { height } = await this.ledger.getChainInfo();
    const last = height - 1;
    const from = query.from ?? 0;
    if (from > last) {
      throw badRange('from', 'BLOCK_RANGE_INVALID', `from ${from} is beyond the last block, ${last}`);
    }
    const to = query.to ?? Math.min(last, from + MAX_RANGE_BLOCKS - 1);
    if (to > last) throw badRange('to', 'BLOCK_RANGE_INVALID', `to ${to} is beyond the last block, ${last}`);
    if (to < from) throw badRange('to', 'BLOCK_RANGE_INVALID', `to ${to} is before from ${from}`);
    if (to - from + 1 > MAX_RANGE_BLOCKS) {
      throw badRange(
        'to',
        'BLOCK_RANGE_TOO_LARGE',
        `${to - from + 1} blocks asked for; at most ${MAX_RANGE_BLOCKS} per request (continue from ${from + MAX_RANGE_BLOCKS})`,
      );
    }
    const result = await this.ledger.verifyBlocks({ from, to });
    return {
      ledger: this.config.ledger,
      height,
      from,
      to,
      blocksChecked: result.blocksChecked,
      ok: result.failures.length === 0,
      checks: result.checks.map((c) => ({ check: c.check, performed: c.performed, note: c.note ?? null })),
      firstFailure: result.failures[0] ?? null,
      failures: result.failures.slice(0, FAILURES_LISTED),
      failureCount: result.failures.length,
      lastHeaderHash: result.lastHeaderHash ?? null,
      nextFrom: to < last ? to + 1 : null,
      verification: this.verifier.status,
    };
  }

  @Get('projection')
  @Roles('admin', 'regulator')
  @ApiOperation({
    operationId: 'checkProjection',
    summary: 'Compare every projected table with the ledger’s state; hash stored trades and readings again',
    description:
      'Reads each table the gateway projects from the ledger (participants, units, issuances, certificate lots ' +
      'and their newest version, listings and their sales, vouchers, redemptions and exchanges with their serial ' +
      'ranges, meter attestations and their versions) beside the ledger’s objects of the same type ' +
      '(queries:ListObjects, in key order, 1,000 per read) and lists each difference by table, key and field ' +
      'with the ledger’s value and the stored one: a row the ledger does not hold, an object the table lacks, ' +
      'a column or kept-object field that differs. Also: each committed trade’s stored trade data, check data ' +
      'and meter evidence hashed again against the hashes on the ledger (a changed body is named), the meters ' +
      'against the ledger’s units and consumption meters, and each closed metering period’s readings: their ' +
      'Merkle root and total recomputed against the attestation on the ledger (a changed reading is named by ' +
      'meter and period). Objects written after the projection’s checkpoint are counted as `pending`. At most ' +
      '`limit` differences are listed; `count` counts all. Reads only.',
  })
  @ApiOkResponse({ type: ProjectionAuditDto })
  @ApiProblems(400)
  projectionCheck(
    @Query() query: ProjectionAuditQueryDto,
    @CurrentPrincipal() principal: Principal,
  ): Promise<ProjectionAuditDto> {
    const tables = query.tables ? [...new Set(query.tables.split(',') as AuditTable[])] : [...AUDIT_TABLES];
    return this.projection.check(principal.identity, tables, query.limit ?? 100);
  }
}
