import type { TableName } from '../client/tables.js';

export interface ItemLinks {
  table: TableName;
  links: TableName;
  /** The item's id in its link table. */
  column: string;
}

/**
 * The points and to-dos of a mirror and the tables that link them to sessions. Their rows come from
 * the documents that list them: one that a write leaves listed by no session (an import that drops
 * it from a session's document; the API never unlinks an item from every session) is in no export
 * any more, and leaves the mirror too, as a mirror filled afresh would never hold it.
 */
export const ITEM_LINKS: readonly ItemLinks[] = [
  { table: 'coaching_points', links: 'coaching_point_sessions', column: 'coachingPointId' },
  { table: 'todos', links: 'todo_sessions', column: 'todoId' },
];
