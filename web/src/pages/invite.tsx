import { useState } from 'preact/hooks';
import { api, setCsrfToken } from '../api';
import { t } from '../i18n';
import { navigate } from '../router';
import type { InviteInfo, SignInAnswer } from '../types';
import { ErrorText, Field, LoadState, PageTitle, useAction, useLoad } from '../ui';

export function InvitePage({ token, onSignedIn }: { token: string; onSignedIn: () => Promise<void> }) {
  const invite = useLoad(
    (signal) => api.get<InviteInfo>(`/api/v1/auth/invites/${encodeURIComponent(token)}`, { signal, quiet401: true }),
    [token],
  );
  const [password, setPassword] = useState('');
  const action = useAction();
  const submit = (event: Event) => {
    event.preventDefault();
    void action.run(async () => {
      const answer = await api.post<SignInAnswer>(`/api/v1/auth/invites/${encodeURIComponent(token)}`, { password }, { quiet401: true });
      setCsrfToken(answer.csrfToken);
      await onSignedIn();
      navigate('/sessions', { replace: true });
    });
  };
  return (
    <main id="main" class="card narrow">
      <p class="brand-line">
        <span class="brand-mark" aria-hidden="true">
          C
        </span>{' '}
        Coachport
      </p>
      <PageTitle title={t('invite.title')}>{t('invite.title')}</PageTitle>
      <LoadState loaded={invite}>
        {() => (
          <>
            <p>
              {invite.data!.email === null
                ? t('invite.welcomeNoEmail', { name: invite.data!.name })
                : t('invite.welcome', { name: invite.data!.name, email: invite.data!.email })}
            </p>
            <form onSubmit={submit} noValidate>
              <Field label={t('invite.password')} hint={t('invite.passwordHint')}>
                {(p) => (
                  <input
                    {...p}
                    type="password"
                    name="new-password"
                    autoComplete="new-password"
                    required
                    minLength={10}
                    aria-describedby={`${p['aria-describedby'] ?? ''} invite-error`.trim()}
                    aria-invalid={action.error ? 'true' : undefined}
                    value={password}
                    onInput={(e) => setPassword(e.currentTarget.value)}
                  />
                )}
              </Field>
              <button type="submit" class="primary" disabled={action.busy}>
                {t('invite.submit')}
              </button>
              <ErrorText id="invite-error" error={action.error} />
            </form>
          </>
        )}
      </LoadState>
    </main>
  );
}
