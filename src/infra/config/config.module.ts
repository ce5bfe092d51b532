import { DynamicModule, Global, Module, type Provider } from '@nestjs/common';
import { CLOCK, systemClock } from '../clock.js';
import type { AppConfig, ConfigSlice } from './app.config.js';
import { CONFIG_TOKENS } from './config.tokens.js';

/**
 * Provides each slice of the configuration validated before boot under its own token (inject one with
 * `@InjectConfig('<slice>')`), and the clock (CLOCK). Nothing provides the whole configuration.
 */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: AppConfig): DynamicModule {
    const slices: Provider[] = (Object.keys(CONFIG_TOKENS) as ConfigSlice[]).map((slice) => ({
      provide: CONFIG_TOKENS[slice],
      useValue: config[slice],
    }));
    return {
      module: ConfigModule,
      providers: [...slices, { provide: CLOCK, useValue: systemClock }],
      exports: [...Object.values(CONFIG_TOKENS), CLOCK],
    };
  }
}
