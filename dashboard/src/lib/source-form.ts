// The owner's "Configure source" form (docs/api.md §10): form values from the source as members see it, the
// PUT …/policy-source body from the values, and the server's 400 details placed at their fields. Pure. The
// server's schema is the one authority on what is valid; this only turns what was typed into JSON. A credential
// is write-only: the form starts empty and "keep" (omitted from the body) leaves a stored one as it is.
import type { ErrorBody, PolicySourceBody, PolicySourceView } from '../../../server/http/contract.ts';

export type SourceKind = PolicySourceView['kind'];
/** keep: the stored credential stays (omitted); none: removed (null); or a new one of either type. */
export type CredentialChoice = 'keep' | 'none' | 'bearer' | 'client_credentials';

export type SourceFormValues = {
  kind: SourceKind;
  policies: string;
  revision: string;
  baseUrl: string;
  /** One collection path a line. */
  collections: string;
  credential: CredentialChoice;
  token: string;
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  scope: string;
};

export type SourceField = Exclude<keyof SourceFormValues, 'kind'>;
export type SourceBodyResult = { ok: true; body: PolicySourceBody } | { ok: false; errors: Partial<Record<SourceField, string>> };

export function sourceFormValues(source: PolicySourceView | null): SourceFormValues {
  return {
    kind: source?.kind ?? 'simulated',
    policies: source?.simulated ? String(source.simulated.policies) : '',
    revision: source?.simulated ? String(source.simulated.revision) : '',
    baseUrl: source?.baseUrl ?? '',
    collections: (source?.collections ?? []).join('\n'),
    credential: source?.hasCredential ? 'keep' : 'none',
    token: '',
    tokenUrl: '',
    clientId: '',
    clientSecret: '',
    scope: '',
  };
}

function wholeNumber(text: string): number | null | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  return /^\d+$/.test(trimmed) ? Number(trimmed) : null;
}

/**
 * The PUT body. A simulated source keeps the settings the form does not show (`failItems`, `unavailable`)
 * from `current`, so saving the form changes only what it shows.
 */
export function sourceBody(values: SourceFormValues, current: PolicySourceView | null): SourceBodyResult {
  const errors: Partial<Record<SourceField, string>> = {};
  if (values.kind === 'simulated') {
    const policies = wholeNumber(values.policies);
    const revision = wholeNumber(values.revision);
    if (policies === null) errors.policies = 'Enter a whole number.';
    if (revision === null) errors.revision = 'Enter a whole number.';
    if (Object.keys(errors).length > 0) return { ok: false, errors };
    const kept = current?.kind === 'simulated' && current.simulated ? current.simulated : null;
    return {
      ok: true,
      body: {
        kind: 'simulated',
        simulated: {
          ...(policies !== undefined && policies !== null ? { policies } : {}),
          ...(revision !== undefined && revision !== null ? { revision } : {}),
          ...(kept && kept.failItems.length > 0 ? { failItems: kept.failItems } : {}),
          ...(kept?.unavailable ? { unavailable: true } : {}),
        },
      },
    };
  }
  const baseUrl = values.baseUrl.trim();
  const collections = values.collections
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  if (!baseUrl) errors.baseUrl = 'Enter the base URL, e.g. https://graph.microsoft.com/beta.';
  if (collections.length === 0) errors.collections = 'Enter at least one collection, e.g. deviceManagement/deviceConfigurations.';
  let credential: Extract<PolicySourceBody, { kind: 'graph' }>['credential'];
  switch (values.credential) {
    case 'keep':
      credential = undefined;
      break;
    case 'none':
      credential = null;
      break;
    case 'bearer':
      if (!values.token) errors.token = 'Enter the token.';
      credential = { type: 'bearer', token: values.token };
      break;
    case 'client_credentials':
      if (!values.tokenUrl.trim()) errors.tokenUrl = 'Enter the token URL.';
      if (!values.clientId.trim()) errors.clientId = 'Enter the client id.';
      if (!values.clientSecret) errors.clientSecret = 'Enter the client secret.';
      credential = {
        type: 'client_credentials',
        tokenUrl: values.tokenUrl.trim(),
        clientId: values.clientId.trim(),
        clientSecret: values.clientSecret,
        ...(values.scope.trim() ? { scope: values.scope.trim() } : {}),
      };
      break;
  }
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  return { ok: true, body: { kind: 'graph', baseUrl, collections, ...(credential !== undefined ? { credential } : {}) } };
}

type Detail = NonNullable<ErrorBody['error']['details']>[number];

const FIELD_OF: Record<string, SourceField> = {
  'simulated.policies': 'policies',
  'simulated.revision': 'revision',
  baseUrl: 'baseUrl',
  collections: 'collections',
  credential: 'credential',
  'credential.token': 'token',
  'credential.tokenUrl': 'tokenUrl',
  'credential.clientId': 'clientId',
  'credential.clientSecret': 'clientSecret',
  'credential.scope': 'scope',
};

/** The server's 400 details at their fields (`collections.2` at the collections box); the rest in `general`. */
export function placeSourceErrors(details: readonly Detail[]): { fields: Partial<Record<SourceField, string>>; general: string[] } {
  const fields: Partial<Record<SourceField, string>> = {};
  const general: string[] = [];
  for (const { path, message } of details) {
    const key = path.replace(/^body\./, '');
    const field = FIELD_OF[key] ?? (/^collections\.\d+$/.test(key) ? 'collections' : undefined);
    const text = sentence(key.startsWith('collections.') ? `line ${Number(key.split('.')[1]) + 1} ${message}` : message);
    if (field && !fields[field]) fields[field] = text;
    else if (!field) general.push(`${key || 'The source'}: ${text}`);
  }
  return { fields, general };
}

function sentence(text: string): string {
  const capital = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}
