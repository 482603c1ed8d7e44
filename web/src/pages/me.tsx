import { useState } from 'preact/hooks';
import { api } from '../api';
import { t, useLang, type MessageKey } from '../i18n';
import { useMe } from '../session-context';
import type { Preferences } from '../types';
import { ErrorText, LoadState, PageTitle, useAction, useLoad } from '../ui';

const LANGUAGE_NAMES = { en: 'English', ko: '한국어' } as const;

/** Every person's own page: who they are, and whether the mails about their sessions come (SPEC §11). Mails link here. */
export function MePage() {
  const me = useMe();
  const preferences = useLoad((signal) => api.get<Preferences>('/api/v1/me', { signal }), []);
  return (
    <section>
      <PageTitle title={t('me.title')}>{t('me.title')}</PageTitle>
      <section class="card stack" aria-labelledby="me-account">
        <h2 id="me-account">{t('me.account')}</h2>
        <dl class="details">
          <dt>{t('users.name')}</dt>
          <dd>{me.user.name}</dd>
          <dt>{t('users.email')}</dt>
          <dd>{me.user.email ?? '—'}</dd>
          <dt>{t('users.role')}</dt>
          <dd>{t(`role.${me.user.role}` as MessageKey)}</dd>
          <dt>{t('me.organization')}</dt>
          <dd>{me.organization.name}</dd>
        </dl>
      </section>
      <LoadState loaded={preferences}>{() => <Notifications initial={preferences.data!} />}</LoadState>
    </section>
  );
}

function Notifications({ initial }: { initial: Preferences }) {
  const lang = useLang();
  const [on, setOn] = useState(initial.emailNotifications);
  const [saved, setSaved] = useState(false);
  const save = useAction();
  return (
    <section class="card stack" aria-labelledby="me-mail">
      <h2 id="me-mail">{t('me.mail')}</h2>
      <div class="field checkbox switch">
        <input
          id="email-notifications"
          type="checkbox"
          role="switch"
          checked={on}
          aria-checked={on}
          disabled={save.busy}
          aria-describedby="email-notifications-hint"
          onChange={(e) => {
            const next = e.currentTarget.checked;
            setOn(next);
            setSaved(false);
            void save
              .run(async () => {
                const answer = await api.patch<Preferences>('/api/v1/me', { emailNotifications: next });
                setOn(answer.emailNotifications);
                return true;
              })
              .then((ok) => (ok ? setSaved(true) : setOn(!next)));
          }}
        />
        <label for="email-notifications">{t('me.mailSwitch')}</label>
      </div>
      <p id="email-notifications-hint" class="hint">
        {t('me.mailCovers')}
      </p>
      <p class="muted small">{t('me.mailLanguage', { language: LANGUAGE_NAMES[lang] })}</p>
      <p class="ok" role="status">
        {saved ? (on ? t('me.mailOnSaved') : t('me.mailOffSaved')) : null}
      </p>
      <ErrorText error={save.error} />
    </section>
  );
}
