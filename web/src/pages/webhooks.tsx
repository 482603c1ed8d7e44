import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { api, query } from '../api';
import { formatDateTime, formatTime, t, type MessageKey } from '../i18n';
import type { DeliveriesPage, DeliveryAttempt, EventTypes, QueuedEvent, Webhook, WebhookSecret, WebhookWithSecret } from '../types';
import { ErrorText, Field, LoadState, PageTitle, TableWrap, useAction, useId, useLoad } from '../ui';

const ALL = '*';
const LOG_PAGE = 20;
/** Deliveries happen in the background: the log looks again this long after a test or a redelivery. */
const LOOK_AGAIN_MS = [1_500, 5_000, 15_000];

const hookPath = (id: string) => `/api/v1/webhooks/${encodeURIComponent(id)}`;

/** The admin's webhook endpoints (SPEC §11): each with its events, its state, its actions and its delivery log. */
export function WebhooksPage() {
  const loaded = useLoad(async (signal) => {
    const [hooks, types] = await Promise.all([
      api.get<Webhook[]>('/api/v1/webhooks', { signal }),
      api.get<EventTypes>('/api/v1/webhooks/event-types', { signal }),
    ]);
    return { hooks, types: types.types.filter((type) => type !== ALL) };
  }, []);
  return (
    <section>
      <PageTitle title={t('webhooks.title')}>{t('webhooks.title')}</PageTitle>
      <p class="muted">{t('webhooks.intro')}</p>
      <LoadState loaded={loaded}>
        {() => (
          <>
            <NewEndpoint types={loaded.data!.types} reload={loaded.reload} />
            <h2 id="webhooks-list">{t('webhooks.list')}</h2>
            {loaded.data!.hooks.length === 0 ? <p class="empty-state">{t('webhooks.none')}</p> : null}
            {loaded.data!.hooks.map((hook) => (
              <Endpoint key={hook.id} hook={hook} types={loaded.data!.types} reload={loaded.reload} />
            ))}
          </>
        )}
      </LoadState>
    </section>
  );
}

interface EndpointForm {
  url: string;
  description: string;
  events: string[];
}

/** The fields an endpoint is made and edited with: its URL, description and events. */
function EndpointFields(props: { form: EndpointForm; setForm: (form: EndpointForm) => void; types: string[]; isNew?: boolean }) {
  const { form, setForm, types, isNew } = props;
  return (
    <>
      <div class="row">
        <Field label={t('webhooks.url')} hint={isNew ? t('webhooks.urlHint') : undefined}>
          {(p) => (
            <input
              {...p}
              class="wide"
              type="url"
              required
              placeholder={isNew ? 'https://' : undefined}
              value={form.url}
              onInput={(e) => setForm({ ...form, url: e.currentTarget.value })}
            />
          )}
        </Field>
        <Field label={t('webhooks.description')}>
          {(p) => (
            <input
              {...p}
              maxLength={500}
              value={form.description}
              onInput={(e) => setForm({ ...form, description: e.currentTarget.value })}
            />
          )}
        </Field>
      </div>
      <EventsPicker types={types} value={form.events} onChange={(events) => setForm({ ...form, events })} />
    </>
  );
}

function NewEndpoint({ types, reload }: { types: string[]; reload: () => void }) {
  const [form, setForm] = useState({ url: '', description: '', events: [ALL] });
  const [secret, setSecret] = useState<string | null>(null);
  const create = useAction();
  return (
    <form
      class="card stack"
      aria-labelledby="new-webhook"
      onSubmit={(e) => {
        e.preventDefault();
        setSecret(null);
        void create.run(async () => {
          if (form.events.length === 0) throw new Error(t('webhooks.eventsNone'));
          const created = await api.post<WebhookWithSecret>('/api/v1/webhooks', {
            url: form.url.trim(),
            events: form.events,
            ...(form.description.trim() ? { description: form.description.trim() } : {}),
          });
          setSecret(created.secret);
          setForm({ url: '', description: '', events: [ALL] });
          reload();
        });
      }}
    >
      <h2 id="new-webhook">{t('webhooks.create')}</h2>
      <EndpointFields form={form} setForm={setForm} types={types} isNew />
      <div class="form-actions">
        <button type="submit" class="primary" disabled={create.busy}>
          {t('webhooks.createSubmit')}
        </button>
      </div>
      <ErrorText error={create.error} />
      {secret ? <SecretShownOnce secret={secret} /> : null}
    </form>
  );
}

/** Every event type as a checkbox, and "all events" (`*`), which also takes the types added later. */
function EventsPicker({ types, value, onChange }: { types: string[]; value: string[]; onChange: (events: string[]) => void }) {
  const id = useId('events');
  const all = value.includes(ALL);
  return (
    <fieldset class="events">
      <legend>{t('webhooks.events')}</legend>
      <div class="field checkbox">
        <input id={`${id}-all`} type="checkbox" checked={all} onChange={(e) => onChange(e.currentTarget.checked ? [ALL] : [])} />
        <label for={`${id}-all`}>{t('webhooks.allEvents')}</label>
      </div>
      <ul class="checks">
        {types.map((type) => (
          <li key={type} class="field checkbox">
            <input
              id={`${id}-${type}`}
              type="checkbox"
              disabled={all}
              checked={all || value.includes(type)}
              onChange={(e) => onChange(e.currentTarget.checked ? [...value, type] : value.filter((v) => v !== type))}
            />
            <label for={`${id}-${type}`}>
              <code>{type}</code>
            </label>
          </li>
        ))}
      </ul>
    </fieldset>
  );
}

/** The signing secret, which the server never shows again: focused, with a copy button. */
function SecretShownOnce({ secret }: { secret: string }) {
  const input = useRef<HTMLInputElement>(null);
  const [copied, setCopied] = useState(false);
  useEffect(() => input.current?.focus(), [secret]);
  return (
    <div class="secret" role="status">
      <div class="field">
        <label for="webhook-secret">{t('webhooks.secret')}</label>
        <input
          id="webhook-secret"
          ref={input}
          class="wide"
          readOnly
          value={secret}
          aria-describedby="webhook-secret-hint"
          onFocus={(e) => e.currentTarget.select()}
        />
        <span id="webhook-secret-hint" class="hint">
          {t('webhooks.secretOnce')}
        </span>
      </div>
      <button
        type="button"
        class="secondary small"
        onClick={() =>
          void navigator.clipboard?.writeText(secret).then(
            () => setCopied(true),
            () => input.current?.select(),
          )
        }
      >
        {copied ? t('webhooks.copied') : t('common.copy')}
      </button>
    </div>
  );
}

/** A button that asks first: the question and its two answers replace it, and focus follows. */
function Confirmed({
  label,
  question,
  yes,
  busy,
  onYes,
}: {
  label: string;
  question: string;
  yes: string;
  busy: boolean;
  onYes: () => Promise<unknown>;
}) {
  const [asking, setAsking] = useState(false);
  const yesButton = useRef<HTMLButtonElement>(null);
  const askButton = useRef<HTMLButtonElement>(null);
  const wasAsking = useRef(false);
  // Before the next paint: the button that had focus is gone, and focus must not rest on the page.
  useLayoutEffect(() => {
    if (asking) yesButton.current?.focus();
    else if (wasAsking.current) askButton.current?.focus();
    wasAsking.current = asking;
  }, [asking]);
  if (!asking)
    return (
      <button ref={askButton} type="button" class="danger-outline small" onClick={() => setAsking(true)}>
        {label}
      </button>
    );
  return (
    <span class="confirm" role="group" aria-label={question}>
      <span>{question}</span>{' '}
      <button
        ref={yesButton}
        type="button"
        class="danger small"
        disabled={busy}
        onClick={() => void onYes().finally(() => setAsking(false))}
      >
        {yes}
      </button>{' '}
      <button type="button" class="secondary small" onClick={() => setAsking(false)}>
        {t('common.cancel')}
      </button>
    </span>
  );
}

/**
 * Calls `look` a few times from `soon` on, for results that arrive in the background; `stop`
 * cancels the looks still to come.
 */
function useLookAgain(look: () => void): { soon: () => void; stop: () => void } {
  const timers = useRef<ReturnType<typeof setTimeout>[]>([]);
  useEffect(() => () => timers.current.forEach(clearTimeout), []);
  const stop = () => {
    timers.current.forEach(clearTimeout);
    timers.current = [];
  };
  return {
    soon: () => {
      stop();
      timers.current = LOOK_AGAIN_MS.map((ms) => setTimeout(look, ms));
    },
    stop,
  };
}

function Endpoint({ hook, types, reload }: { hook: Webhook; types: string[]; reload: () => void }) {
  const headingId = `webhook-${hook.id}`;
  const [editing, setEditing] = useState(false);
  const [secret, setSecret] = useState<string | null>(null);
  // A key, not the text: the message follows a later change of language. One message an endpoint,
  // the latest, shown beside what was done: under the buttons, or above the log for a redelivery.
  const [done, setDone] = useState<{ key: MessageKey; inLog: boolean } | null>(null);
  const say = (key: MessageKey | null, inLog = false) => setDone(key && { key, inLog });
  const [logTick, setLogTick] = useState(0);
  const lookAgain = useLookAgain(() => setLogTick((n) => n + 1));
  const toggle = useAction();
  const test = useAction();
  const rotate = useAction();
  const remove = useAction();
  const error = toggle.error ?? test.error ?? rotate.error ?? remove.error;
  return (
    <section class="card stack webhook" aria-labelledby={headingId}>
      <div class="page-head">
        <h3 id={headingId} class="webhook-url">
          {hook.url}
        </h3>
        <span class={`badge ${hook.active ? 'badge-confirmed' : 'badge-draft'}`}>{hook.active ? t('webhooks.on') : t('webhooks.off')}</span>
      </div>
      {hook.disabledReason ? (
        <p class="notice">
          <strong>{t('webhooks.turnedOff')}</strong> {inWords(hook.disabledReason)}
        </p>
      ) : null}
      <dl class="details compact">
        <dt>{t('webhooks.description')}</dt>
        <dd>{hook.description ?? '—'}</dd>
        <dt>{t('webhooks.events')}</dt>
        <dd>
          {hook.events.includes(ALL) ? (
            t('webhooks.allEvents')
          ) : (
            <ul class="event-list">
              {hook.events.map((type) => (
                <li key={type}>
                  <code>{type}</code>
                </li>
              ))}
            </ul>
          )}
        </dd>
        <dt>{t('webhooks.createdAt')}</dt>
        <dd>{formatDateTime(hook.createdAt)}</dd>
      </dl>
      <div class="row-actions" role="group" aria-label={t('webhooks.actionsFor', { url: hook.url })}>
        <button
          type="button"
          class="secondary small"
          disabled={toggle.busy}
          onClick={() =>
            void toggle.run(async () => {
              await api.patch(hookPath(hook.id), { active: !hook.active });
              say(hook.active ? 'webhooks.turnedOffDone' : 'webhooks.turnedOnDone');
              reload();
            })
          }
        >
          {hook.active ? t('webhooks.turnOff') : t('webhooks.turnOn')}
        </button>
        <button type="button" class="secondary small" aria-expanded={editing} onClick={() => setEditing(!editing)}>
          {t('webhooks.edit')}
        </button>
        <button
          type="button"
          class="secondary small"
          disabled={test.busy || !hook.active}
          onClick={() =>
            void test.run(async () => {
              await api.post<QueuedEvent>(`${hookPath(hook.id)}/test`);
              say('webhooks.testSent');
              lookAgain.soon();
            })
          }
        >
          {t('webhooks.test')}
        </button>
        <Confirmed
          label={t('webhooks.rotate')}
          question={t('webhooks.rotateAsk')}
          yes={t('webhooks.rotateYes')}
          busy={rotate.busy}
          onYes={() =>
            rotate.run(async () => {
              const answer = await api.post<WebhookSecret>(`${hookPath(hook.id)}/rotate-secret`);
              say(null);
              setSecret(answer.secret);
            })
          }
        />
        <Confirmed
          label={t('webhooks.delete')}
          question={t('webhooks.deleteAsk')}
          yes={t('webhooks.deleteYes')}
          busy={remove.busy}
          onYes={() =>
            remove.run(async () => {
              await api.del(hookPath(hook.id));
              document.querySelector<HTMLElement>('main h1')?.focus();
              reload();
            })
          }
        />
      </div>
      <p class="ok" role="status">
        {done && !done.inLog ? t(done.key) : null}
      </p>
      <ErrorText error={error} />
      {secret ? <SecretShownOnce secret={secret} /> : null}
      {editing ? (
        <EditEndpoint
          hook={hook}
          types={types}
          onDone={(saved) => {
            setEditing(false);
            if (saved) {
              say('common.saved');
              reload();
            }
          }}
        />
      ) : null}
      <DeliveryLog
        hook={hook}
        tick={logTick}
        message={done?.inLog ? done.key : null}
        onRedelivered={() => {
          say('webhooks.redelivered', true);
          lookAgain.soon();
        }}
        onOlder={lookAgain.stop}
        refresh={() => setLogTick((n) => n + 1)}
      />
    </section>
  );
}

function EditEndpoint({ hook, types, onDone }: { hook: Webhook; types: string[]; onDone: (saved: boolean) => void }) {
  const [form, setForm] = useState({ url: hook.url, description: hook.description ?? '', events: hook.events });
  const save = useAction();
  const headingId = `webhook-edit-${hook.id}`;
  return (
    <form
      class="stack edit-webhook"
      aria-labelledby={`${headingId} webhook-${hook.id}`}
      onSubmit={(e) => {
        e.preventDefault();
        void save.run(async () => {
          if (form.events.length === 0) throw new Error(t('webhooks.eventsNone'));
          await api.patch(hookPath(hook.id), {
            url: form.url.trim(),
            events: form.events,
            description: form.description.trim() || null,
          });
          onDone(true);
        });
      }}
    >
      <h4 id={headingId}>{t('webhooks.editTitle')}</h4>
      <EndpointFields form={form} setForm={setForm} types={types} />
      <div class="form-actions">
        <button type="submit" class="primary" disabled={save.busy}>
          {t('common.save')}
        </button>
        <button type="button" class="secondary" onClick={() => onDone(false)}>
          {t('common.cancel')}
        </button>
      </div>
      <ErrorText error={save.error} />
    </form>
  );
}

/** The endpoint's delivery attempts, newest first, a page at a time; older pages are added below. */
function DeliveryLog({
  hook,
  tick,
  message,
  onRedelivered,
  onOlder,
  refresh,
}: {
  hook: Webhook;
  tick: number;
  /** The endpoint's latest message when it is about the log (a redelivery). */
  message: MessageKey | null;
  onRedelivered: () => void;
  /** Older rows were asked for: a look again would put the first page back in their place. */
  onOlder: () => void;
  refresh: () => void;
}) {
  const first = useLoad(
    (signal) => api.get<DeliveriesPage>(`${hookPath(hook.id)}/deliveries${query({ limit: LOG_PAGE })}`, { signal }),
    [hook.id, tick],
  );
  const [older, setOlder] = useState<DeliveriesPage | null>(null);
  useEffect(() => setOlder(null), [first.data]);
  const more = useAction();
  const last = older ?? first.data;
  const title = t('webhooks.log');
  return (
    // Not a landmark of its own: every endpoint has one, and its table is the named region.
    <div class="delivery-log">
      <div class="page-head">
        <h4 id={`log-${hook.id}`}>{title}</h4>
        <button type="button" class="secondary small" onClick={refresh} disabled={first.loading}>
          {t('webhooks.logRefresh')}
        </button>
      </div>
      <p class="ok" role="status">
        {message ? t(message) : null}
      </p>
      <LoadState loaded={first}>
        {() => {
          const rows = [...first.data!.deliveries, ...(older?.deliveries ?? [])];
          if (rows.length === 0) return <p class="muted">{t('webhooks.logEmpty')}</p>;
          return (
            <>
              <TableWrap label={`${title}: ${hook.url}`}>
                <table class="deliveries">
                  <caption class="visually-hidden">{`${title}: ${hook.url}`}</caption>
                  <thead>
                    <tr>
                      <th scope="col">{t('webhooks.at')}</th>
                      <th scope="col">{t('webhooks.type')}</th>
                      <th scope="col">{t('webhooks.attempt')}</th>
                      <th scope="col">{t('webhooks.status')}</th>
                      <th scope="col">{t('webhooks.duration')}</th>
                      <th scope="col">{t('webhooks.error')}</th>
                      <th scope="col">{t('webhooks.nextAttempt')}</th>
                      <th scope="col">{t('users.actions')}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {rows.map((row, i) => (
                      <DeliveryRow
                        key={`${row.eventId}-${row.attempt}-${row.at}-${i}`}
                        hook={hook}
                        row={row}
                        onRedelivered={onRedelivered}
                      />
                    ))}
                  </tbody>
                </table>
              </TableWrap>
              {last?.hasMore && last.cursor ? (
                <button
                  type="button"
                  class="secondary"
                  disabled={more.busy}
                  onClick={() =>
                    void more.run(async () => {
                      onOlder();
                      const page = await api.get<DeliveriesPage>(
                        `${hookPath(hook.id)}/deliveries${query({ limit: LOG_PAGE, cursor: last.cursor })}`,
                      );
                      setOlder({ ...page, deliveries: [...(older?.deliveries ?? []), ...page.deliveries] });
                    })
                  }
                >
                  {t('webhooks.logMore')}
                </button>
              ) : null}
              <ErrorText error={more.error} />
            </>
          );
        }}
      </LoadState>
    </div>
  );
}

/**
 * What the server recorded of a failure (in English, as the API gives it), in the console's
 * language where it is one of the server's own sentences; anything else (a network error's own
 * text) is shown as it came.
 */
function inWords(error: string): string {
  const status = /^the receiver answered (\d+)$/.exec(error);
  if (status) return t('webhooks.errorStatus', { status: status[1]! });
  const redirect = /^redirect \((\d+)\) not followed$/.exec(error);
  if (redirect) return t('webhooks.errorRedirect', { status: redirect[1]! });
  const timeout = /^no answer within (\d+) ms$/.exec(error);
  if (timeout) return t('webhooks.errorTimeout', { ms: timeout[1]! });
  if (error === 'endpoint deleted or off') return t('webhooks.errorEndpointOff');
  if (error === 'The receiver answered 410 Gone.') return t('webhooks.errorGone');
  const address = /^(.+) is not a public address \(WEBHOOK_ALLOW_PRIVATE is off\)\.$/.exec(error);
  if (address) return t('webhooks.errorPrivate', { address: address[1]! });
  return error;
}

function DeliveryRow({ hook, row, onRedelivered }: { hook: Webhook; row: DeliveryAttempt; onRedelivered: () => void }) {
  const redeliver = useAction();
  const ok = row.statusCode !== null && row.statusCode >= 200 && row.statusCode < 300;
  return (
    <tr>
      <th scope="row" class="nowrap">
        <time dateTime={row.at}>{formatTime(row.at)}</time>
      </th>
      <td>
        <code>{row.type}</code>
      </td>
      <td class="num">{row.attempt}</td>
      <td>{row.statusCode === null ? '—' : <span class={`badge ${ok ? 'badge-confirmed' : 'badge-failed'}`}>{row.statusCode}</span>}</td>
      <td class="num nowrap">{t('webhooks.ms', { ms: row.durationMs })}</td>
      <td class="delivery-error">{row.error === null ? '—' : inWords(row.error)}</td>
      <td class="nowrap">{row.nextAttemptAt ? <time dateTime={row.nextAttemptAt}>{formatTime(row.nextAttemptAt)}</time> : '—'}</td>
      <td>
        {row.eventId ? (
          <button
            type="button"
            class="secondary small"
            disabled={redeliver.busy || !hook.active}
            onClick={() =>
              void redeliver.run(async () => {
                await api.post<QueuedEvent>(`${hookPath(hook.id)}/events/${encodeURIComponent(row.eventId!)}/redeliver`);
                onRedelivered();
              })
            }
          >
            {t('webhooks.redeliver')}
            <span class="visually-hidden">
              {' '}
              {row.type}, {formatTime(row.at)}
            </span>
          </button>
        ) : null}
        <ErrorText error={redeliver.error} />
      </td>
    </tr>
  );
}
