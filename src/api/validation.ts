import { type ArgumentMetadata, ValidationPipe, type ValidationError } from '@nestjs/common';
import type { FieldError } from '../spine/spine.exception.js';
import { hasClassKeys, jsonShapeProblem } from './json-shape.js';
import { problems } from './problem.js';

/** Flattens class-validator's tree into `[{ field: "steps[0].skill", message }]`. */
export function flattenValidationErrors(errors: ValidationError[], parent = ''): FieldError[] {
  const out: FieldError[] = [];
  for (const error of errors) {
    const isIndex = /^\d+$/.test(error.property);
    const field = parent ? (isIndex ? `${parent}[${error.property}]` : `${parent}.${error.property}`) : error.property;
    for (const message of Object.values(error.constraints ?? {})) {
      out.push({ field, message: message.replace(/^[\w.[\]]+ /, `${field} `) });
    }
    if (error.children?.length) out.push(...flattenValidationErrors(error.children, field));
  }
  return out;
}

/**
 * class-validator's pipe, after a shape check of bodies (depth, reserved keys) that it cannot do itself.
 * Nest's pipe deletes `constructor` and `prototype` keys from the value it validates, in place; free-form
 * objects (input, metadata, params) may hold them and are stored from the raw body, so such a body is
 * validated as a copy and the client's data stays as sent.
 */
class RequestValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'body') {
      const problem = jsonShapeProblem(value);
      if (problem) throw problems.validation([problem], 'The request body has a shape the API does not accept.');
      if (hasClassKeys(value)) return super.transform(structuredClone(value), metadata);
    }
    return super.transform(value, metadata);
  }
}

/** Whitelisting pipe: unknown fields are refused, every error named by field. */
export function createValidationPipe(): ValidationPipe {
  return new RequestValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    stopAtFirstError: false,
    validationError: { target: false, value: false },
    exceptionFactory: (errors) => problems.validation(flattenValidationErrors(errors)),
  });
}
