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
    const histogram = this.metrics.httpRequests;
    consumer
      .apply((req: Request, res: Response, next: NextFunction) => {
        const end = histogram.startTimer();
        res.on('finish', () => {
          // The route pattern, never the raw path: ids in paths would explode the label set.
          const route = req.route?.path ? `${req.baseUrl ?? ''}${String(req.route.path)}` : 'unmatched';
          end({ method: req.method, route, status: String(res.statusCode) });
        });
        next();
      })
      .forRoutes('*path');
  }
}
