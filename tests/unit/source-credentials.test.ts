import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decryptCredential, encryptCredential } from '../../db/sources/credentials.ts';
import type { SourceCredential } from '../../db/sources/schema.ts';
import { SourceError } from '../../db/sources/source.ts';

// Credentials of policy sources at rest (docs/api.md §10): AES-256-GCM, bound to the tenant.

const KEY = randomBytes(32);
const TENANT = '3f0c2f4e-8f0a-4a55-9d51-7b1f0a2c9e11';
const OTHER_TENANT = '0b7d4c86-5a8e-4a3b-a6a0-2a4f6b9e0c33';
const BEARER: SourceCredential = { type: 'bearer', token: 'gr4ph-t0ken-SECRET-value' };
const CLIENT: SourceCredential = { type: 'client_credentials', tokenUrl: 'https://login.example.com/t/oauth2/v2.0/token', clientId: 'app-1', clientSecret: 'cl1ent-S3CRET', scope: 'https://graph.example.com/.default' };

const misconfigured = (run: () => unknown) => {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(SourceError);
    expect((error as SourceError).code).toBe('source_misconfigured');
    return (error as SourceError).message;
  }
  throw new Error('expected a SourceError');
};

describe('source credentials', () => {
  it('round-trips both credential kinds; the text is versioned and shows nothing of the secret', () => {
    for (const credential of [BEARER, CLIENT]) {
      const text = encryptCredential(KEY, TENANT, credential);
      expect(text).toMatch(/^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]+$/);
      expect(text).not.toContain('SECRET');
      expect(decryptCredential(KEY, TENANT, text)).toEqual(credential);
    }
  });

  it('uses a fresh IV each time (the same credential encrypts differently)', () => {
    expect(encryptCredential(KEY, TENANT, BEARER)).not.toBe(encryptCredential(KEY, TENANT, BEARER));
  });

  it('a ciphertext moved to another tenant, read with another key, or tampered with does not decrypt', () => {
    const text = encryptCredential(KEY, TENANT, BEARER);
    misconfigured(() => decryptCredential(KEY, OTHER_TENANT, text));
    misconfigured(() => decryptCredential(randomBytes(32), TENANT, text));
    const [v, iv, tag, body] = text.split('.') as [string, string, string, string];
    const flipped = Buffer.from(body, 'base64url');
    flipped[0]! ^= 1;
    misconfigured(() => decryptCredential(KEY, TENANT, [v, iv, tag, flipped.toString('base64url')].join('.')));
    misconfigured(() => decryptCredential(KEY, TENANT, [v, iv, 'AAAA', body].join('.')));
    misconfigured(() => decryptCredential(KEY, TENANT, `v2.${iv}.${tag}.${body}`));
    misconfigured(() => decryptCredential(KEY, TENANT, 'garbage'));
  });

  it('without a key, reading a stored credential fails with a message naming SOURCE_CREDENTIALS_KEY (and not the text)', () => {
    const text = encryptCredential(KEY, TENANT, BEARER);
    const message = misconfigured(() => decryptCredential(undefined, TENANT, text));
    expect(message).toContain('SOURCE_CREDENTIALS_KEY');
    expect(message).not.toContain(text);
  });
});
