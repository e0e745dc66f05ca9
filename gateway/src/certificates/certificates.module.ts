import { Module } from '@nestjs/common';
import { IssuancesController, LotsController, SerialsController } from './certificates.controller';
import { CertificatesService } from './certificates.service';
import { LedgerGateway } from './ledger-support';

@Module({
  controllers: [IssuancesController, LotsController, SerialsController],
  providers: [CertificatesService, LedgerGateway],
  exports: [CertificatesService],
})
export class CertificatesModule {}
