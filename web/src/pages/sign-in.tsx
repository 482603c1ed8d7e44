import { useState } from 'preact/hooks';
import { api, setCsrfToken } from '../api';
import { t } from '../i18n';
import type { SignInAnswer } from '../types';
import { ErrorText, Field, PageTitle, useAction } from '../ui';

export function SignInPage({ ended, onSignedIn }: { ended: boolean; onSignedIn: () => Promise<void> }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const action = useAction();
  const submit = (event: Event) => {
    event.preventDefault();
    void action.run(async () => {
      const answer = await api.post<SignInAnswer>('/api/v1/auth/sign-in', { email, password }, { quiet401: true });
      setCsrfToken(answer.csrfToken);
      await onSignedIn();
    });
  };
  return (
    <main id="main" class="card narrow">
      <p class="brand-line"><span class="brand-mark" aria-hidden="true">C</span> Coachport</p>
      <PageTitle title={t('signIn.title')}>{t('signIn.title')}</PageTitle>
      {ended ? <p class="notice" role="status">{t('signIn.ended')}</p> : null}
      <form onSubmit={submit} aria-describedby="sign-in-error" noValidate>
        <Field label={t('signIn.email')}>
          {(p) => <input {...p} type="email" name="email" autoComplete="username" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />}
        </Field>
        <Field label={t('signIn.password')}>
          {(p) => <input {...p} type="password" name="password" autoComplete="current-password" required value={password} onInput={(e) => setPassword(e.currentTarget.value)} />}
        </Field>
        <button type="submit" class="primary" disabled={action.busy}>{t('signIn.submit')}</button>
        <ErrorText id="sign-in-error" error={action.error} />
      </form>
      <p class="muted small">{t('signIn.noAccount')}</p>
    </main>
  );
}
