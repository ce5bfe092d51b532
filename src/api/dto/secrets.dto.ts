import { ApiProperty } from '@nestjs/swagger';
import { IsString, Length, Matches } from 'class-validator';

/** A string without lone surrogates (UTF-16 that UTF-8 cannot encode faithfully). */
const WELL_FORMED = /^(?:[^\uD800-\uDFFF]|[\uD800-\uDBFF][\uDC00-\uDFFF])*$/;

export class PutSecretDto {
  @ApiProperty({
    minLength: 1,
    maxLength: 8192,
    writeOnly: true,
    description: 'The secret value (1 to 8192 characters). Stored encrypted (AES-256-GCM); never returned, logged or recorded.',
  })
  @IsString({ message: 'value must be a string' })
  @Length(1, 8192, { message: 'value must be 1 to 8192 characters' })
  @Matches(WELL_FORMED, { message: 'value must not hold a lone surrogate' })
  value!: string;
}
