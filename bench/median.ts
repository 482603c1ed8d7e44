/** The middle value, or of an even count the upper of the two middle ones (no averaging: a figure that was measured). */
export const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
