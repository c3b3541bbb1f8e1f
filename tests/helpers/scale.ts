/**
 * `npm run test:long` sets RUNBOARD_TEST_LONG=1: chaos, load and fuzz suites then run their longer variants
 * (more runs, clients and inputs). `npm test` runs the default sizes, bounded for CI.
 */
export const LONG = process.env.RUNBOARD_TEST_LONG === '1';

/** The default size, or the long one under `npm run test:long`. */
export const sized = (normal: number, long: number) => (LONG ? long : normal);
