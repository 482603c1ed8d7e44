import type { ComponentChildren, JSX } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from './api';
import { t, type MessageKey } from './i18n';
import type { SessionState } from './types';

/** The message to show for a failed call: the server's own sentence, or what went wrong locally. */
export function messageOf(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}

export interface Loaded<T> {
  data: T | undefined;
  error: string | null;
  loading: boolean;
  reload: () => void;
}

/** Data a page shows, loaded again when `deps` change; a failure is kept to be shown, never dropped. */
export function useLoad<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[]): Loaded<T> {
  // What the state was loaded for. On the render where `deps` change the effect that starts the new
  // load has not run yet, and the old data must not be announced as current (aria-busy) meanwhile.
  const key = JSON.stringify(deps);
  const [state, setState] = useState<{ data: T | undefined; error: string | null; loading: boolean; key: string | null }>({
    data: undefined,
    error: null,
    loading: true,
    key: null,
  });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const controller = new AbortController();
    setState((s) => ({ ...s, loading: true, error: null }));
    load(controller.signal).then(
      (data) => !controller.signal.aborted && setState({ data, error: null, loading: false, key }),
      (error: unknown) => !controller.signal.aborted && setState((s) => ({ ...s, error: messageOf(error), loading: false, key })),
    );
    return () => controller.abort();
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  return { data: state.data, error: state.error, loading: state.loading || state.key !== key, reload };
}

export interface Action {
  busy: boolean;
  error: string | null;
  run: <T>(work: () => Promise<T>) => Promise<T | undefined>;
  clear: () => void;
}

/** One user action (a form's submit, a row's button): its progress and its error, kept beside it. */
export function useAction(): Action {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = useCallback(async <T,>(work: () => Promise<T>) => {
    setBusy(true);
    setError(null);
    try {
      return await work();
    } catch (caught) {
      setError(messageOf(caught));
      return undefined;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, run, clear: () => setError(null) };
}

export function ErrorText({ id, error }: { id?: string; error: string | null }) {
  // The live region exists before the message arrives, so screen readers announce it.
  return (
    <p id={id} class={error ? 'error' : 'error empty'} role="alert">
      {error ? (
        <>
          <span class="error-mark" aria-hidden="true">
            !
          </span>{' '}
          {error}
        </>
      ) : null}
    </p>
  );
}

let fieldCounter = 0;
export function useId(prefix: string): string {
  const ref = useRef<string | undefined>(undefined);
  if (!ref.current) ref.current = `${prefix}-${++fieldCounter}`;
  return ref.current;
}

interface FieldProps {
  label: string;
  hint?: string;
  children: (props: { id: string; 'aria-describedby'?: string }) => JSX.Element;
}

/** A labelled control with its hint tied to it. */
export function Field({ label, hint, children }: FieldProps) {
  const id = useId('field');
  const hintId = hint ? `${id}-hint` : undefined;
  return (
    <div class="field">
      <label for={id}>{label}</label>
      {children({ id, ...(hintId ? { 'aria-describedby': hintId } : {}) })}
      {hint ? (
        <span id={hintId} class="hint">
          {hint}
        </span>
      ) : null}
    </div>
  );
}

const STATE_KEYS: Record<SessionState, MessageKey> = {
  draft: 'state.draft',
  shared: 'state.shared',
  acknowledged: 'state.acknowledged',
  confirmed: 'state.confirmed',
  deleted: 'state.deleted',
};

/** A state as words in a badge; colour only repeats what the word says. */
export function StateBadge({ state }: { state: SessionState }) {
  return <span class={`badge badge-${state}`}>{t(STATE_KEYS[state])}</span>;
}

export function stateLabel(state: SessionState): string {
  return t(STATE_KEYS[state]);
}

/** The page's heading; it takes focus when the page changes so screen readers hear where they are. */
export function PageTitle({ children, title }: { children: ComponentChildren; title: string }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${title} · Coachport`;
    ref.current?.focus({ preventScroll: true });
  }, [title]);
  return (
    <h1 ref={ref} tabIndex={-1}>
      {children}
    </h1>
  );
}

export function LoadState({ loaded, children }: { loaded: Loaded<unknown>; children: () => ComponentChildren }) {
  if (loaded.error) {
    return (
      <div class="load-error">
        <ErrorText error={loaded.error} />
        <button type="button" onClick={loaded.reload}>
          {t('common.retry')}
        </button>
      </div>
    );
  }
  if (loaded.data === undefined)
    return (
      <p class="muted" aria-live="polite">
        {t('common.loading')}
      </p>
    );
  return <>{children()}</>;
}

/** Offers `text` as a file download, built in the browser. */
export function downloadText(filename: string, text: string, type: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const anchor = document.createElement('a');
  anchor.href = url;
  anchor.download = filename;
  document.body.append(anchor);
  anchor.click();
  anchor.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/**
 * A table's scrolling frame. Wide tables scroll sideways on small screens, so the frame is a named,
 * focusable region: keyboard users can scroll it too (WCAG 2.1.1).
 */
export function TableWrap({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    <div class="table-wrap" tabIndex={0} role="region" aria-label={t('common.tableOf', { name: label })}>
      {children}
    </div>
  );
}
