import { Global, MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import type { HttpRequest as Request, HttpResponse as Response, NextFunction } from '../common/http';
import { MetricsController } from './metrics.controller';
import { MetricsService } from './metrics.service';

@Global()
@Module({
  controllers: [MetricsController],
  providers: [MetricsService],
  exports: [MetricsService],
})
export class MetricsModule implements NestModule {
  constructor(private readonly metrics: MetricsService) {}

  configure(consumer: MiddlewareConsumer): void {
    const { httpRequests, problems } = this.metrics;
    consumer
      .apply((req: Request, res: Response, next: NextFunction) => {
        const end = httpRequests.startTimer();
        res.on('finish', () => {
          // The route pattern, never the raw path: ids in paths would explode the label set.
          const route = req.route?.path ? `${req.baseUrl ?? ''}${String(req.route.path)}` : 'unmatched';
          const status = String(res.statusCode);
          end({ method: req.method, route, status });
          const code: unknown = res.locals?.problemCode;
          if (typeof code === 'string') problems.inc({ status, code });
        });
        next();
      })
      .forRoutes('*path');
  }
}
