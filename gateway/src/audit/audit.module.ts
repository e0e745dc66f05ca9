import { Module } from '@nestjs/common';
import { AuditController } from './audit.controller';
import { ChainVerifier } from './chain-verifier';
import { ProjectionAudit } from './projection-audit';

/** Integrity: the chain verification (at start, scheduled, on request) and the projection check. */
@Module({
  controllers: [AuditController],
  providers: [ChainVerifier, ProjectionAudit],
  exports: [ChainVerifier],
})
export class AuditModule {}
