// What every bench reports with: medians, a millisecond clock, numbers and ratios for its tables.

/** The median (the lower middle of an even count); NaN for none. */
export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)] ?? NaN;

/** Milliseconds, monotonic. */
export const now = (): number => Number(process.hrtime.bigint()) / 1e6;

/** `v` with `d` decimals, or n/a. */
export const fmt = (v: number | undefined, d = 0): string => (v === undefined || Number.isNaN(v) ? 'n/a' : v.toFixed(d));

/** `a / b` as `0.25x`, or n/a. */
export const ratio = (a: number | undefined, b: number | undefined): string =>
  (a === undefined || b === undefined || Number.isNaN(a) || Number.isNaN(b) || !b ? 'n/a' : `${(a / b).toFixed(2)}x`);
