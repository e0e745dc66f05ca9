import { Module } from '@nestjs/common';
import { MeteringController } from './metering.controller';
import { MetersService } from './meters.service';
import { PeriodsService } from './periods.service';
import { ReadingsIngestionService } from './readings-ingestion.service';

/** Meter data from the energy internet platform: registry, bulk readings, completeness, period attestation. */
@Module({
  controllers: [MeteringController],
  providers: [MetersService, ReadingsIngestionService, PeriodsService],
  exports: [MetersService, PeriodsService],
})
export class MeteringModule {}
