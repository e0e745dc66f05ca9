import { ValueTransformer } from 'typeorm';

/** PostgreSQL bigint arrives as a string; block numbers stay far below 2^53. */
export const bigintNumber: ValueTransformer = {
  to: (value: number | null | undefined) => value,
  from: (value: string | null) => (value === null ? null : Number(value)),
};
