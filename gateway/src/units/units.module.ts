import { Module } from '@nestjs/common';
import { LedgerGateway } from '../certificates/ledger-support';
import { UnitsController } from './units.controller';
import { UnitsService } from './units.service';

@Module({ controllers: [UnitsController], providers: [UnitsService, LedgerGateway] })
export class UnitsModule {}
