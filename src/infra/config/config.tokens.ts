import { Inject } from '@nestjs/common';
import type { AppConfig, ConfigSlice } from './app.config.js';

/** One DI token per configuration slice (see AppConfig). */
export const CONFIG_TOKENS: { readonly [S in ConfigSlice]: symbol } = {
  http: Symbol('config.http'),
  limits: Symbol('config.limits'),
  admin: Symbol('config.admin'),
  auth: Symbol('config.auth'),
  idempotency: Symbol('config.idempotency'),
  runs: Symbol('config.runs'),
  worker: Symbol('config.worker'),
  stepClaims: Symbol('config.stepClaims'),
  httpSkill: Symbol('config.httpSkill'),
  llm: Symbol('config.llm'),
  database: Symbol('config.database'),
  redis: Symbol('config.redis'),
  logging: Symbol('config.logging'),
  shutdown: Symbol('config.shutdown'),
  secrets: Symbol('config.secrets'),
  transforms: Symbol('config.transforms'),
  replayBatches: Symbol('config.replayBatches'),
  retention: Symbol('config.retention'),
};

/** Injects one slice of the configuration: `@InjectConfig('worker') worker: AppConfig['worker']`. */
export const InjectConfig = (slice: ConfigSlice): PropertyDecorator & ParameterDecorator => Inject(CONFIG_TOKENS[slice]);

export type { AppConfig };
