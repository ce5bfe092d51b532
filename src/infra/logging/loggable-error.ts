/**
 * PostgreSQL quotes the offending input in some messages (`invalid input syntax for type integer:
 * "sk_live_..."`, `invalid input value for enum status: "..."`). The value after the colon is
 * replaced; quoted identifiers (`constraint "runs_pkey"`, `column "x"`) stay for debugging.
 */
export function withoutQuotedValues(text: string): string {
  return text.replace(/(:\s*)"(?:[^"\\]|\\.|"")*"/g, '$1"[value]"');
}

/**
 * What a log keeps of an unexpected error: its class, code, message and stack (quoted input values
 * removed). Never its other members: a TypeORM QueryFailedError carries the query's `parameters` (run
 * inputs, params, outputs) and the driver error's `detail` quotes row values.
 */
export function loggableError(error: unknown): { type: string; code?: string; message: string; stack?: string } {
  if (!(error instanceof Error)) return { type: typeof error, message: withoutQuotedValues(String(error).slice(0, 1000)) };
  const code = (error as { code?: unknown }).code;
  return {
    type: error.name,
    ...(typeof code === 'string' ? { code } : {}),
    message: withoutQuotedValues(error.message.slice(0, 1000)),
    ...(error.stack ? { stack: withoutQuotedValues(error.stack.slice(0, 4000)) } : {}),
  };
}
