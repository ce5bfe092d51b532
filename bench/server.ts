/** The benchmark's API process: the real AppModule plus BenchModule. Prints one JSON line when ready. */
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { setUpHttpApp } from '../src/api/http-app.js';
import { AppModule } from '../src/app.module.js';
import { loadConfig } from '../src/infra/config/app.config.js';
import { TENANTS_ORCHESTRATOR } from '../src/spine/orchestrator/orchestrator.tokens.js';
import type { TenantsOrchestrator } from '../src/spine/orchestrator/tenants.orchestrator.js';
import { BenchModule } from './bench.module.js';

const config = loadConfig(process.env);

@Module({ imports: [AppModule.forRoot(config, { databaseUrl: config.database.url! }), BenchModule.forRoot(config.redis.url!)] })
class BenchServerModule {}

const app = await NestFactory.create<NestExpressApplication>(BenchServerModule, { bodyParser: false, logger: ['error', 'warn'] });
await setUpHttpApp(app, config);
await app.listen(config.http.port, '127.0.0.1');
const tenant = await app.get<TenantsOrchestrator>(TENANTS_ORCHESTRATOR).createTenant('bench');
process.stdout.write(`${JSON.stringify({ ready: true, port: config.http.port, apiKey: tenant.api_key })}\n`);
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
