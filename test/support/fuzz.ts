/**
 * Shared pieces of the property tests (test/unit/fuzz-*.test.ts): the seed and run count
 * (fixed by default so that CI is reproducible; FUZZ_SEED and FUZZ_RUNS override them to
 * explore further), and generators of the small languages the parsers accept.
 */
import fc from 'fast-check';

const seed = Number(process.env.FUZZ_SEED ?? 20_261_203);
const scale = Number(process.env.FUZZ_RUNS_SCALE ?? 1);

/** Options for fc.assert: a fixed seed, and `numRuns` scaled by FUZZ_RUNS_SCALE. */
export const runs = (numRuns: number): fc.Parameters<unknown> => ({
  seed,
  numRuns: Math.max(1, Math.round(numRuns * scale)),
});

/** Ids as tradeflow takes them: 1-64 of A-Z a-z 0-9 _ . - */
export const id = fc.stringMatching(/^[A-Za-z0-9_.-]{1,64}$/);
/** An instrument name like BTC-USDT-SWAP */
export const instrument = fc.stringMatching(/^[A-Z0-9]{1,16}(-[A-Z0-9]{1,16}){0,3}$/);

/** A positive decimal string that fits DECIMAL(36,18): "7", "0.25", "123.000100". */
export const positiveDecimal = fc
  .tuple(fc.stringMatching(/^\d{1,12}$/), fc.option(fc.stringMatching(/^\d{1,8}$/), { nil: undefined }))
  .map(([i, f]) => (f === undefined ? i : `${i}.${f}`))
  .filter((s) => /[1-9]/.test(s));

/** Strings that are not a positive decimal of at most 18 integer digits, whatever else they are. */
export const notPositiveDecimal = fc.oneof(
  fc.constantFrom(
    '',
    '0',
    '0.0',
    '-1',
    '-0.5',
    '1e5',
    ' 1',
    '1 ',
    '1.',
    '.5',
    'NaN',
    'Infinity',
    '0x10',
    '1,5',
  ),
  fc.constant('1'.repeat(19)),
  fc.constant(`1.${'1'.repeat(19)}`),
  fc.string().filter((s) => s === '' || /[^0-9.]/.test(s)),
);

/** JSON values that are not strings (a decimal field must be a JSON string). */
export const nonString = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true }),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.jsonValue(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue(), { maxKeys: 3 }),
);

/** Strings that are not ids: empty, too long, or with a character outside A-Z a-z 0-9 _ . - */
export const notId = fc.oneof(
  fc.constant(''),
  fc.constant('a'.repeat(65)),
  fc.string({ minLength: 1 }).filter((s) => /[^A-Za-z0-9_.-]/.test(s)),
);

/** Any text, any bytes, any JSON: what a socket or a Kafka topic can deliver. */
export const anyText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.jsonValue().map((v) => JSON.stringify(v) ?? ''),
  fc.string({ unit: 'grapheme-ascii', maxLength: 100 }),
);
export const anyBytes = fc.uint8Array({ maxLength: 600 });
