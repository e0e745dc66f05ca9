import { Module } from '@nestjs/common';
import {
  IssuancesController,
  LotsController,
  SerialsController,
  VoucherProvenanceController,
} from './certificates.controller';
import { CertificatesService } from './certificates.service';
import { LedgerGateway } from './ledger-support';

@Module({
  controllers: [IssuancesController, LotsController, SerialsController, VoucherProvenanceController],
  providers: [CertificatesService, LedgerGateway],
  exports: [CertificatesService],
})
export class CertificatesModule {}
