import fc from 'fast-check';

/** Register values worth trying: boundaries of every argument kind, and things no register holds. */
export const registerValue: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(
    0,
    1,
    -1,
    2,
    3,
    -100,
    0x7fffffff,
    0x80000000,
    0xffffffff,
    2 ** 32,
    2 ** 53,
    2 ** 63,
    2 ** 64 - 1,
    -(2 ** 63),
    64,
    65,
    0o2000000,
    0o4000,
    0x1000,
    1.5,
    Number.NaN,
    Infinity,
    -Infinity,
  ),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 }),
  fc.nat({ max: 2 ** 53 }),
);
