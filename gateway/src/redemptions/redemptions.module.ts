import { Module } from '@nestjs/common';
import { LedgerGateway } from '../certificates/ledger-support';
import { RedemptionsController } from './redemptions.controller';
import { RedemptionsService } from './redemptions.service';

@Module({ controllers: [RedemptionsController], providers: [RedemptionsService, LedgerGateway] })
export class RedemptionsModule {}
