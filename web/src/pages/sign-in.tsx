import { useState } from 'preact/hooks';
import { api, setCsrfToken } from '../api';
import { t, type MessageKey } from '../i18n';
import type { SignInAnswer } from '../types';
import { ErrorText, Field, PageTitle, useAction } from '../ui';

/** The reasons the server gives when a sign-in with the company account ends here (src/identity/oidc-sign-in.ts). */
const OIDC_ERRORS: Record<string, MessageKey> = {
  bad_state: 'signIn.oidc.bad_state',
  expired_state: 'signIn.oidc.expired_state',
  not_configured: 'signIn.oidc.not_configured',
  provider_check_failed: 'signIn.oidc.provider_check_failed',
  email_not_verified: 'signIn.oidc.email_not_verified',
  no_email: 'signIn.oidc.no_email',
  unmapped: 'signIn.oidc.unmapped',
  inactive: 'signIn.oidc.inactive',
  linked_elsewhere: 'signIn.oidc.linked_elsewhere',
  refused: 'signIn.oidc.refused',
};

function CompanySignIn({ onLeave }: { onLeave: () => void }) {
  const search = new URLSearchParams(location.search);
  const organization = search.get('organization');
  const failure = search.get('oidcError');
  return (
    <>
      {failure ? (
        <div class="error" role="alert">
          <p>
            <strong>{t('signIn.oidcFailed')}</strong>
          </p>
          <p>{t(OIDC_ERRORS[failure] ?? 'signIn.oidc.refused')}</p>
        </div>
      ) : null}
      {organization ? (
        <p>
          <a class="button primary" href={`/api/v1/auth/oidc/${encodeURIComponent(organization)}/start`} onClick={onLeave}>
            {t('signIn.company')}
          </a>
        </p>
      ) : null}
      {organization ? <p class="muted small">{t('signIn.or')}</p> : null}
    </>
  );
}

interface SignInProps {
  ended: boolean;
  onSignedIn: () => Promise<void>;
  /** Called as the browser leaves for the company's provider, which brings it back signed in. */
  onCompanySignIn: () => void;
}

export function SignInPage({ ended, onSignedIn, onCompanySignIn }: SignInProps) {
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
      <p class="brand-line">
        <span class="brand-mark" aria-hidden="true">
          C
        </span>{' '}
        Coachport
      </p>
      <PageTitle title={t('signIn.title')}>{t('signIn.title')}</PageTitle>
      {ended ? (
        <p class="notice" role="status">
          {t('signIn.ended')}
        </p>
      ) : null}
      <CompanySignIn onLeave={onCompanySignIn} />
      <form onSubmit={submit} aria-describedby="sign-in-error" noValidate>
        <Field label={t('signIn.email')}>
          {(p) => (
            <input
              {...p}
              type="email"
              name="email"
              autoComplete="username"
              required
              value={email}
              onInput={(e) => setEmail(e.currentTarget.value)}
            />
          )}
        </Field>
        <Field label={t('signIn.password')}>
          {(p) => (
            <input
              {...p}
              type="password"
              name="password"
              autoComplete="current-password"
              required
              value={password}
              onInput={(e) => setPassword(e.currentTarget.value)}
            />
          )}
        </Field>
        <button type="submit" class="primary" disabled={action.busy}>
          {t('signIn.submit')}
        </button>
        <ErrorText id="sign-in-error" error={action.error} />
      </form>
      <p class="muted small">{t('signIn.noAccount')}</p>
    </main>
  );
}
