import { t } from './i18n';
import type { TimeAxis } from './types';
import { Field } from './ui';

export interface DayWindowForm {
  from: string;
  to: string;
  timeAxis: TimeAxis;
}

/** From, to (whole UTC days, both included) and which date they apply to: the export's and the stats' window. */
export function WindowFields<T extends DayWindowForm>({ value, onChange }: { value: T; onChange: (next: T) => void }) {
  return (
    <>
      <Field label={t('sessions.from')}>
        {(p) => (
          <input {...p} type="date" required value={value.from} onInput={(e) => onChange({ ...value, from: e.currentTarget.value })} />
        )}
      </Field>
      <Field label={t('sessions.to')}>
        {(p) => <input {...p} type="date" required value={value.to} onInput={(e) => onChange({ ...value, to: e.currentTarget.value })} />}
      </Field>
      <Field label={t('export.axis')}>
        {(p) => (
          <select {...p} value={value.timeAxis} onChange={(e) => onChange({ ...value, timeAxis: e.currentTarget.value as TimeAxis })}>
            <option value="meetingDate">{t('axis.meetingDate')}</option>
            <option value="createdAt">{t('axis.createdAt')}</option>
          </select>
        )}
      </Field>
    </>
  );
}
