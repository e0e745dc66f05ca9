import { Module } from '@nestjs/common';
import { SigningModule } from '../signing/signing.module';
import { VouchersModule } from '../vouchers/vouchers.module';
import { TradeCallbacks } from './trade-callbacks';
import { TradePipeline } from './trade-pipeline.service';
import { TradesController } from './trades.controller';
import { TradesService } from './trades.service';

/** Trades (with check keys and vouchers): acquisition (POST /v1/trades), verification and commit (the pipeline), status and callbacks. */
@Module({
  imports: [SigningModule, VouchersModule],
  controllers: [TradesController],
  providers: [TradesService, TradePipeline, TradeCallbacks],
  exports: [TradePipeline],
})
export class TradesModule {}
