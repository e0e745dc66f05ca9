import { DynamicModule, Global, Module } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../config/config';
import { Resources, RESOURCES } from './resources';

/** Configuration and the resource registry, available everywhere. */
@Global()
@Module({})
export class CoreModule {
  static forRoot(config: AppConfig, resources: Resources): DynamicModule {
    return {
      module: CoreModule,
      providers: [
        { provide: APP_CONFIG, useValue: config },
        { provide: RESOURCES, useValue: resources },
      ],
      exports: [APP_CONFIG, RESOURCES],
    };
  }
}
