import { Module } from '@nestjs/common';
import { LedgerGateway } from '../certificates/ledger-support';
import { ExchangesController } from './exchanges.controller';
import { ExchangesService } from './exchanges.service';

@Module({ controllers: [ExchangesController], providers: [ExchangesService, LedgerGateway] })
export class ExchangesModule {}
