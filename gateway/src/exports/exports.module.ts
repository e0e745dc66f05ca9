import { Module } from '@nestjs/common';
import { ExportsController } from './exports.controller';
import { RowStreamer } from './row-stream';

/** Streamed CSV and NDJSON exports: the lists here, the statistics through `RowStreamer`. */
@Module({
  controllers: [ExportsController],
  providers: [RowStreamer],
  exports: [RowStreamer],
})
export class ExportsModule {}
