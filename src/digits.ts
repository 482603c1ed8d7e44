/**
 * A whole number with its thousands grouped by commas (12,345), as `toLocaleString('en')` writes it
 * but without ICU: the first call of that loads its locale data, 28 ms on the bench machine, about
 * 2.5% of a 470 MB NDJSON export's whole run when its progress line used it.
 */
export function groupedDigits(n: number): string {
  const digits = String(Math.trunc(Math.abs(n)));
  let out = '';
  for (let end = digits.length; end > 0; end -= 3) out = (end > 3 ? ',' : '') + digits.slice(Math.max(0, end - 3), end) + out;
  return n < 0 ? `-${out}` : out;
}
