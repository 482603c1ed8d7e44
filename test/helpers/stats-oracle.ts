import type { ExportSession } from '../../src/contract/schemas.js';
import type { StatsMetrics } from '../../src/contract/stats-schemas.js';

/**
 * SPEC §6 computed the plainest way, from export documents, sharing no code with the endpoint:
 * filter the documents, bucket them, count. Tests hold the endpoint equal to this.
 */

export interface OracleParameters {
  from: string;
  to: string;
  timeAxis: 'meetingDate' | 'createdAt';
  groupBy: 'none' | 'coach' | 'agent' | 'template' | 'week' | 'month';
}

export type Viewer = { role: 'admin' } | { role: 'coach'; id: string } | { role: 'agent'; id: string };

/** The answer's metrics; only the type is shared with the endpoint. */
export type OracleMetrics = StatsMetrics;

const HOUR_MS = 3_600_000;

export function visibleTo(viewer: Viewer, doc: ExportSession): boolean {
  if (viewer.role === 'admin') return true;
  if (viewer.role === 'coach') return doc.coachId === viewer.id || doc.formCreatorId === viewer.id;
  return doc.agentId === viewer.id && doc.sharedWithAgent;
}

/** Milliseconds from the earliest `shared` entry to the earliest `agent_confirmed` at or after it. */
export function acknowledgementMs(doc: ExportSession): number | null {
  const times = (type: string) => doc.activityLog.filter((e) => e.actionType === type).map((e) => Date.parse(e.timestamp));
  const shared = times('shared');
  if (shared.length === 0) return null;
  const first = Math.min(...shared);
  const confirmations = times('agent_confirmed').filter((t) => t >= first);
  return confirmations.length === 0 ? null : Math.min(...confirmations) - first;
}

/**
 * The median in hours with the mean of the two middle values taken in whole milliseconds, then
 * divided once: the same arithmetic the endpoint promises, so the two compare exactly.
 */
export function medianHoursExact(durationsMs: number[]): number | null {
  if (durationsMs.length === 0) return null;
  const sorted = [...durationsMs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! / HOUR_MS : (sorted[mid - 1]! + sorted[mid]!) / 2 / HOUR_MS;
}

/** The same median as the definition reads: hours first, then the mean of the middle two. */
export function medianHoursNaive(durationsMs: number[]): number | null {
  if (durationsMs.length === 0) return null;
  const hours = durationsMs.map((ms) => ms / HOUR_MS).sort((a, b) => a - b);
  const mid = hours.length >> 1;
  return hours.length % 2 === 1 ? hours[mid]! : (hours[mid - 1]! + hours[mid]!) / 2;
}

function axisMs(doc: ExportSession, axis: OracleParameters['timeAxis']): number | null {
  const value = axis === 'meetingDate' ? doc.meetingDate : doc.createdAt;
  return value === null ? null : Date.parse(value);
}

function mondayOf(ms: number): string {
  const date = new Date(ms);
  const sinceMonday = (date.getUTCDay() + 6) % 7;
  return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate() - sinceMonday)).toISOString().slice(0, 10);
}

function groupOf(doc: ExportSession, p: OracleParameters): { key: string | null; label: string | null } {
  const at = axisMs(doc, p.timeAxis)!;
  switch (p.groupBy) {
    case 'none':
      return { key: null, label: null };
    case 'coach':
      return { key: doc.coachId, label: doc.coachName };
    case 'agent':
      return { key: doc.agentId, label: doc.agentName };
    case 'template':
      return { key: doc.coachingTemplateId, label: doc.coachingTemplateName };
    case 'week':
      return { key: mondayOf(at), label: mondayOf(at) };
    case 'month': {
      const month = new Date(at).toISOString().slice(0, 7);
      return { key: month, label: month };
    }
  }
}

export function oracleMetrics(docs: ExportSession[]): OracleMetrics & { acknowledgements: number[] } {
  const count = (predicate: (doc: ExportSession) => boolean) => docs.filter(predicate).length;
  const points = docs.flatMap((d) => d.coachingPoints).filter((p) => !p.isDeleted);
  const todos = docs.flatMap((d) => d.todos).filter((t) => !t.isDeleted);
  const shared = count((d) => d.sharedWithAgent);
  const agentConfirmed = count((d) => d.sharedWithAgent && d.agentConfirmed);
  const acknowledgements = docs.map(acknowledgementMs).filter((ms): ms is number => ms !== null);
  return {
    sessions: docs.length,
    shared,
    agentConfirmed,
    coachConfirmed: count((d) => d.coachConfirmed),
    bothConfirmed: count((d) => d.agentConfirmed && d.coachConfirmed),
    acknowledgementRate: shared === 0 ? null : agentConfirmed / shared,
    medianHoursToAcknowledge: medianHoursExact(acknowledgements),
    coachingPoints: points.length,
    strengths: points.filter((p) => p.type === 'strength').length,
    opportunities: points.filter((p) => p.type === 'opportunity').length,
    byClassification: {
      general: points.filter((p) => p.classification === 'general').length,
      qa: points.filter((p) => p.classification === 'qa').length,
      csat: points.filter((p) => p.classification === 'csat').length,
      productivity: points.filter((p) => p.classification === 'productivity').length,
    },
    todos: todos.length,
    todosCompleted: todos.filter((t) => t.status === 'complete').length,
    acknowledgements,
  };
}

/** The documents the stats count: in the window (to the millisecond), visible, not deleted. */
export function countedDocuments(all: ExportSession[], p: OracleParameters, viewer: Viewer): ExportSession[] {
  const fromMs = Date.parse(`${p.from}T00:00:00.000Z`);
  const toMs = Date.parse(`${p.to}T23:59:59.999Z`);
  return all.filter((doc) => {
    const at = axisMs(doc, p.timeAxis);
    return !doc.isDeleted && at !== null && at >= fromMs && at <= toMs && visibleTo(viewer, doc);
  });
}

export interface OracleAnswer {
  answer: {
    from: string;
    to: string;
    timeAxis: string;
    groupBy: string;
    rows: Array<{ key: string | null; label: string | null } & OracleMetrics>;
    totals: OracleMetrics;
  };
  /** Per row and for the totals, the durations behind the median, for the tolerance check. */
  durations: { rows: number[][]; totals: number[] };
}

export function oracle(all: ExportSession[], p: OracleParameters, viewer: Viewer): OracleAnswer {
  const counted = countedDocuments(all, p, viewer);
  const groups = new Map<string | null, { label: string | null; docs: ExportSession[] }>();
  for (const doc of counted) {
    const { key, label } = groupOf(doc, p);
    const group = groups.get(key) ?? { label, docs: [] };
    group.docs.push(doc);
    groups.set(key, group);
  }
  if (p.groupBy === 'none' && groups.size === 0) groups.set(null, { label: null, docs: [] });
  const keys = [...groups.keys()].sort((a, b) => (a === b ? 0 : a === null ? 1 : b === null ? -1 : a < b ? -1 : 1));
  const strip = ({ acknowledgements: _a, ...metrics }: ReturnType<typeof oracleMetrics>) => metrics;
  const rowMetrics = keys.map((key) => oracleMetrics(groups.get(key)!.docs));
  const totals = oracleMetrics(counted);
  return {
    answer: {
      from: p.from,
      to: p.to,
      timeAxis: p.timeAxis,
      groupBy: p.groupBy,
      rows: keys.map((key, i) => ({ key, label: groups.get(key)!.label, ...strip(rowMetrics[i]!) })),
      totals: strip(totals),
    },
    durations: { rows: rowMetrics.map((m) => m.acknowledgements), totals: totals.acknowledgements },
  };
}
