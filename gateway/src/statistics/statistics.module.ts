import { Module } from '@nestjs/common';
import { ExportsModule } from '../exports/exports.module';
import { StatisticsController } from './statistics.controller';
import { StatisticsService } from './statistics.service';

/** The regulator's statistics over any date range, answered as JSON or streamed (CSV, NDJSON). */
@Module({
  imports: [ExportsModule],
  controllers: [StatisticsController],
  providers: [StatisticsService],
})
export class StatisticsModule {}
