import { Module } from '@nestjs/common';
import { LedgerGateway } from '../certificates/ledger-support';
import { ListingsController } from './listings.controller';
import { ListingsService } from './listings.service';

@Module({ controllers: [ListingsController], providers: [ListingsService, LedgerGateway] })
export class ListingsModule {}
