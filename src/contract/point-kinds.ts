/**
 * What a coaching point can be. Plain lists, apart from the schemas that use them, so the console
 * offers the same choices without bundling the schema builder.
 */
export const POINT_TYPES = ['strength', 'opportunity', 'n/a'] as const;
export const POINT_CLASSIFICATIONS = ['general', 'qa', 'csat', 'productivity'] as const;
