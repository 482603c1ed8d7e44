/**
 * Which session date an export window applies to. A plain list, apart from the schemas that use
 * it, so `coachport export` starts without loading the schema builder (about 200 modules).
 */
export const TIME_AXES = ['meetingDate', 'createdAt'] as const;
export type TimeAxis = (typeof TIME_AXES)[number];
