/** The shared ioredis client (present only when REDIS_URL is set). */
export const REDIS_CLIENT = Symbol('REDIS_CLIENT');
