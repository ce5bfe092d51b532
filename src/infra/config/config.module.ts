import { DynamicModule, Global, Module } from '@nestjs/common';
import { CLOCK, systemClock } from '../clock.js';
import type { AppConfig } from './app.config.js';
import { APP_CONFIG } from './config.tokens.js';

/** Provides the configuration validated before boot (APP_CONFIG) and the clock (CLOCK). */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: ConfigModule,
      providers: [
        { provide: APP_CONFIG, useValue: config },
        { provide: CLOCK, useValue: systemClock },
      ],
      exports: [APP_CONFIG, CLOCK],
    };
  }
}
