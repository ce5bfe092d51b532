import { IDEMPOTENCY_KEY_PATTERN } from './dto/runs.dto.js';
import { problems } from './problem.js';

/**
 * The request's Idempotency-Key (run creation, replay, replay batches): null when absent (a 400 when
 * IDEMPOTENCY_KEY_REQUIRED), a 400 unless 1 to 255 printable ASCII characters.
 */
export function idempotencyKeyOf(header: string | undefined, keyRequired: boolean): string | null {
  if (header === undefined) {
    if (keyRequired) throw problems.badRequest('idempotency-key-required', 'The Idempotency-Key header is required.', 'Idempotency-Key');
    return null;
  }
  if (!IDEMPOTENCY_KEY_PATTERN.test(header)) {
    throw problems.badRequest('invalid-idempotency-key', 'Idempotency-Key must be 1 to 255 printable ASCII characters.', 'Idempotency-Key');
  }
  return header;
}
