import { useEffect, useState } from 'preact/hooks';
import { api } from '../api';
import { ROLES } from '../../../src/accounts/roles.js';
import { t } from '../i18n';
import type { OidcSettings, RoleMapping } from '../types';
import { ErrorText, Field, LoadState, PageTitle, useAction, useLoad } from '../ui';

const lines = (text: string) =>
  text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);

/** The admin's single sign-on page: the addresses to paste into the provider, the provider, and the role mapping. */
export function IdentityPage() {
  const oidc = useLoad((signal) => api.get<OidcSettings>('/api/v1/identity/oidc', { signal }), []);
  const mapping = useLoad((signal) => api.get<RoleMapping>('/api/v1/identity/role-mapping', { signal }), []);
  return (
    <section>
      <PageTitle title={t('identity.title')}>{t('identity.title')}</PageTitle>
      <p class="muted">{t('identity.intro')}</p>
      <LoadState loaded={oidc}>
        {() => (
          <>
            <Addresses settings={oidc.data!} />
            <ProviderForm settings={oidc.data!} reload={oidc.reload} />
          </>
        )}
      </LoadState>
      <LoadState loaded={mapping}>{() => <MappingForm mapping={mapping.data!} reload={mapping.reload} />}</LoadState>
    </section>
  );
}

function Addresses({ settings }: { settings: OidcSettings }) {
  const scimUrl = `${new URL(settings.redirectUri).origin}/scim/v2`;
  return (
    <section class="card stack" aria-labelledby="identity-addresses">
      <h2 id="identity-addresses">{t('identity.addresses')}</h2>
      <dl class="details">
        <dt>{t('identity.signInUrl')}</dt>
        <dd>
          <code>{settings.signInUrl}</code>
        </dd>
        <dt>{t('identity.redirectUri')}</dt>
        <dd>
          <code>{settings.redirectUri}</code>
        </dd>
        <dt>{t('identity.scimUrl')}</dt>
        <dd>
          <code>{scimUrl}</code>
        </dd>
      </dl>
    </section>
  );
}

function ProviderForm({ settings, reload }: { settings: OidcSettings; reload: () => void }) {
  const [issuer, setIssuer] = useState(settings.issuer ?? '');
  const [clientId, setClientId] = useState(settings.clientId ?? '');
  const [clientSecret, setClientSecret] = useState('');
  const [groupsClaim, setGroupsClaim] = useState(settings.groupsClaim);
  const [defaultRole, setDefaultRole] = useState<string>(settings.defaultRole ?? '');
  const [passwordSignIn, setPasswordSignIn] = useState(settings.passwordSignIn);
  const [saved, setSaved] = useState(false);
  const save = useAction();
  const turnOff = useAction();
  return (
    <form
      class="card stack"
      aria-labelledby="identity-provider"
      onSubmit={(e) => {
        e.preventDefault();
        setSaved(false);
        void save.run(async () => {
          await api.put('/api/v1/identity/oidc', {
            issuer,
            clientId,
            ...(clientSecret ? { clientSecret } : {}),
            groupsClaim,
            defaultRole: defaultRole === '' ? null : defaultRole,
            passwordSignIn,
          });
          setClientSecret('');
          setSaved(true);
          reload();
        });
      }}
    >
      <h2 id="identity-provider">{t('identity.provider')}</h2>
      <p class="notice" role="status">
        {settings.enabled ? t('identity.status.on') : t('identity.status.off')}
      </p>
      <Field label={t('identity.issuer')} hint={t('identity.issuerHint')}>
        {(p) => <input {...p} type="url" required value={issuer} onInput={(e) => setIssuer(e.currentTarget.value)} />}
      </Field>
      <Field label={t('identity.clientId')}>
        {(p) => <input {...p} required value={clientId} onInput={(e) => setClientId(e.currentTarget.value)} />}
      </Field>
      <Field label={t('identity.clientSecret')} hint={settings.clientSecretSet ? t('identity.clientSecretSaved') : undefined}>
        {(p) => (
          <input
            {...p}
            type="password"
            autoComplete="off"
            required={!settings.clientSecretSet}
            value={clientSecret}
            onInput={(e) => setClientSecret(e.currentTarget.value)}
          />
        )}
      </Field>
      <Field label={t('identity.groupsClaim')}>
        {(p) => <input {...p} required value={groupsClaim} onInput={(e) => setGroupsClaim(e.currentTarget.value)} />}
      </Field>
      <Field label={t('identity.defaultRole')}>
        {(p) => (
          <select {...p} value={defaultRole} onChange={(e) => setDefaultRole(e.currentTarget.value)}>
            <option value="">{t('identity.defaultRoleNone')}</option>
            <option value="agent">{t('role.agent')}</option>
            <option value="coach">{t('role.coach')}</option>
          </select>
        )}
      </Field>
      <div class="field checkbox">
        <input
          id="password-sign-in"
          type="checkbox"
          checked={passwordSignIn}
          onChange={(e) => setPasswordSignIn(e.currentTarget.checked)}
        />
        <label for="password-sign-in">{t('identity.passwordSignIn')}</label>
      </div>
      <div class="form-actions">
        <button type="submit" class="primary" disabled={save.busy}>
          {t('identity.save')}
        </button>
        {settings.enabled ? (
          <button
            type="button"
            class="secondary"
            disabled={turnOff.busy}
            onClick={() =>
              void turnOff.run(async () => {
                await api.del('/api/v1/identity/oidc');
                setSaved(false);
                reload();
              })
            }
          >
            {t('identity.turnOff')}
          </button>
        ) : null}
      </div>
      {saved ? <p role="status">{t('identity.saved')}</p> : null}
      <ErrorText error={save.error ?? turnOff.error} />
    </form>
  );
}

function MappingForm({ mapping, reload }: { mapping: RoleMapping; reload: () => void }) {
  const [text, setText] = useState<Record<string, string>>({});
  const [saved, setSaved] = useState(false);
  useEffect(() => setText(Object.fromEntries(ROLES.map((r) => [r, mapping[r].join('\n')]))), [mapping]);
  const save = useAction();
  return (
    <form
      class="card stack"
      aria-labelledby="identity-mapping"
      onSubmit={(e) => {
        e.preventDefault();
        setSaved(false);
        void save.run(async () => {
          await api.put('/api/v1/identity/role-mapping', Object.fromEntries(ROLES.map((r) => [r, lines(text[r] ?? '')])));
          setSaved(true);
          reload();
        });
      }}
    >
      <h2 id="identity-mapping">{t('identity.mapping')}</h2>
      <p class="muted small">{t('identity.mappingHint')}</p>
      {ROLES.map((role) => (
        <Field key={role} label={t(`role.${role}`)}>
          {(p) => (
            <textarea {...p} rows={3} value={text[role] ?? ''} onInput={(e) => setText({ ...text, [role]: e.currentTarget.value })} />
          )}
        </Field>
      ))}
      <div class="form-actions">
        <button type="submit" class="primary" disabled={save.busy}>
          {t('identity.mappingSave')}
        </button>
      </div>
      {saved ? <p role="status">{t('identity.mappingSaved')}</p> : null}
      <ErrorText error={save.error} />
    </form>
  );
}
