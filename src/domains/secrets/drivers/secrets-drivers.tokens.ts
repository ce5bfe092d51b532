/** DI tokens of the secrets drivers: the only thing SecretsDriversModule exports. */
export const SECRET_STORE_DRIVER = Symbol('SECRET_STORE_DRIVER');
export const SECRET_CIPHER = Symbol('SECRET_CIPHER');
