import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { HealthController } from './health.controller';
import { HealthMetrics } from './health-metrics';

@Module({ imports: [AuditModule], controllers: [HealthController], providers: [HealthMetrics] })
export class HealthModule {}
