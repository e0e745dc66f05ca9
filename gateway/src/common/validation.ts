import { ValidationError, ValidationPipe } from '@nestjs/common';
import { FieldError, ProblemError } from './problem';

/** Flatten class-validator errors into `{ field, message }` with dotted paths (`items.0.volumeKwh`). */
export function fieldErrors(errors: ValidationError[], parent = ''): FieldError[] {
  const result: FieldError[] = [];
  for (const error of errors) {
    const field = parent ? `${parent}.${error.property}` : error.property;
    for (const message of Object.values(error.constraints ?? {})) {
      result.push({ field, message: message.replace(/^property /, '') });
    }
    if (error.children?.length) result.push(...fieldErrors(error.children, field));
  }
  return result;
}

/** The global pipe: unknown fields refused, types converted, every problem named by field (400). */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    stopAtFirstError: true,
    validationError: { target: false, value: false },
    exceptionFactory: (errors: ValidationError[]) => {
      const list = fieldErrors(errors);
      return new ProblemError(
        400,
        'VALIDATION_FAILED',
        `the request is invalid: ${list.map((error) => error.field).join(', ')}`,
        { errors: list },
      );
    },
  });
}
