import { Logger, Module } from '@nestjs/common';
import type { AppConfig } from '../../../infra/config/app.config.js';
import { CONFIG_TOKENS } from '../../../infra/config/config.tokens.js';
import { secretsKeySource } from '../../../infra/secrets/secrets-key.js';
import { SecretCipher } from './secret-cipher.js';
import { SecretStoreDriver } from './secret-store.driver.js';
import { SECRET_CIPHER, SECRET_STORE_DRIVER } from './secrets-drivers.tokens.js';

/**
 * Secrets drivers: the sealed rows and the cipher (SECRETS_KEY, the embedded mode's key file, or off).
 * Exports only tokens; imported only by OrchestratorModule.
 */
@Module({
  providers: [
    { provide: SECRET_STORE_DRIVER, useClass: SecretStoreDriver },
    {
      provide: SECRET_CIPHER,
      inject: [CONFIG_TOKENS.secrets],
      useFactory: (secrets: AppConfig['secrets']) => {
        const logger = new Logger('Secrets');
        return new SecretCipher(secretsKeySource(secrets, (m) => logger.log(m)));
      },
    },
  ],
  exports: [SECRET_STORE_DRIVER, SECRET_CIPHER],
})
export class SecretsDriversModule {}
