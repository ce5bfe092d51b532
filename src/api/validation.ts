import { ValidationPipe, type ValidationError } from '@nestjs/common';
import type { FieldError } from '../spine/spine.exception.js';
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

/** Whitelisting pipe: unknown fields are refused, every error named by field. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    stopAtFirstError: false,
    validationError: { target: false, value: false },
    exceptionFactory: (errors) => problems.validation(flattenValidationErrors(errors)),
  });
}
