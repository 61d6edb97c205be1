const numberFormat = new Intl.NumberFormat(undefined, { maximumSignificantDigits: 6 });

/** A metric or parameter value: six significant digits, exponent form when very small or large. */
export function formatNumber(value: number): string {
  if (value !== 0 && (Math.abs(value) < 1e-4 || Math.abs(value) >= 1e9)) return value.toExponential(3);
  return numberFormat.format(value);
}
