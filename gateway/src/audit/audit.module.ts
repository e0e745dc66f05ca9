import { Module } from '@nestjs/common';
import { AuditLogService } from './audit-log.service';
import { AuditController } from './audit.controller';
import { ChainVerifier } from './chain-verifier';
import { ProjectionAudit } from './projection-audit';

/**
 * Integrity: the chain verification (at start, scheduled, on request) and the projection check; the regulator
 * audit log.
 */
@Module({
  controllers: [AuditController],
  providers: [ChainVerifier, ProjectionAudit, AuditLogService],
  exports: [ChainVerifier],
})
export class AuditModule {}
