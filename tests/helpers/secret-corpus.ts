// The secret corpus: realistic credential shapes inside realistic failure messages. The sanitizer's unit
// tests (tests/unit/sanitizer.test.ts) and the end-to-end leak test (tests/security/sanitizer-e2e.test.ts) share it.

// A realistic JWT (HS256, {"sub":"1234567890","name":"John Doe","iat":1516239022}).
export const JWT =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c';
// An RS256 service-account style JWT.
const JWT_RS256 =
  'eyJhbGciOiJSUzI1NiIsImtpZCI6IjdjOWM3OGUzYjAwIn0.eyJpc3MiOiJrdWJlcm5ldGVzL3NlcnZpY2VhY2NvdW50Iiwic3ViIjoic3lzdGVtOnNlcnZpY2VhY2NvdW50OnJ1bmJvYXJkIn0.Qm9Lp2Xv7Rk4Wz1TfG8hJ3kL5mN7pQ9rS1tU3vW5xY7zA9bC1dE3fG5hI7jK9lM1nO3pQ5rS7tU9vW1xY3zA5bC7d';
const PEM_BODY = [
  'MIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9Oi0Nq8xWbq1u1tJ5KZy9N3bEoq0',
  'Z1BjP5CE/Wm/Rr500PRK+Lh9x5eJPo5CAcZt1b6GGfMRo0fXzj1f9F3Ox4sHm0Zc',
  'kQ7pX2vL9mR4tZ1wY6nB3cF5hJ0sD8aE2gU4iO6kM8qS0uW2yA4cE6gI8kM0oQ2s',
];
const PEM = `-----BEGIN RSA PRIVATE KEY-----\n${PEM_BODY.join('\n')}\n-----END RSA PRIVATE KEY-----`;

export interface SecretCase {
  name: string;
  message: string;
  /** Exact sensitive substrings of `message`. */
  secrets: string[];
  /** Non-secret context that must survive (host, bucket, item…). */
  keep?: string[];
}

export const SECRET_CORPUS: SecretCase[] = [
  // --- credentials in URLs / connection strings -------------------------------------------------
  {
    name: 'postgres url',
    message: 'connect ECONNREFUSED postgres://admin:S3cr3t!@db.internal:5432/app',
    secrets: ['admin:S3cr3t!', 'S3cr3t!'],
    keep: ['postgres://', 'db.internal:5432/app'],
  },
  {
    name: 'redis url with password only',
    message: 'Redis connection lost: redis://:r3d1sP4ssw0rd@cache.internal:6379/0 (retrying)',
    secrets: ['r3d1sP4ssw0rd'],
    keep: ['redis://', 'cache.internal:6379'],
  },
  {
    name: 'mongodb+srv url',
    message:
      'MongoServerSelectionError: mongodb+srv://runboard:Mng0Pa55w0rd2024@cluster0.ab1cd.mongodb.net/prod?retryWrites=true',
    secrets: ['Mng0Pa55w0rd2024'],
    keep: ['mongodb+srv://', 'cluster0.ab1cd.mongodb.net'],
  },
  {
    name: 'amqp url',
    message: 'AMQP handshake failed for amqp://guest:rabbitGuestPw99@rabbit.internal:5672/vhost',
    secrets: ['rabbitGuestPw99'],
    keep: ['amqp://', 'rabbit.internal:5672'],
  },
  {
    name: 'https url with user:pass',
    message: 'git fetch failed: https://deploy-bot:gh-pass-8f7e6d5c@git.example.com/org/repo.git (exit 128)',
    secrets: ['gh-pass-8f7e6d5c'],
    keep: ['https://', 'git.example.com/org/repo.git'],
  },
  {
    name: 'mysql url whose password contains @',
    message: 'ER_ACCESS_DENIED_ERROR: mysql://root:p@ssw0rd!x9@mysql.internal:3306/runboard',
    secrets: ['p@ssw0rd!x9'],
    keep: ['mysql.internal:3306'],
  },
  {
    name: 'sentry dsn',
    message: 'Sentry init failed: https://e3b0c44298fc1c149afbf4c8996fb924@o450123.ingest.sentry.io/5512345',
    secrets: ['e3b0c44298fc1c149afbf4c8996fb924'],
    keep: ['o450123.ingest.sentry.io'],
  },
  {
    name: 'ado.net connection string',
    message: 'Login failed: Server=sql01;Database=runboard;User Id=sa;Pwd=Sq1Adm1nPw;Encrypt=true',
    secrets: ['Sq1Adm1nPw'],
    keep: ['Server=sql01', ';Encrypt=true'],
  },
  {
    name: 'azure storage connection string',
    message:
      'DefaultEndpointsProtocol=https;AccountName=runboardsa;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;EndpointSuffix=core.windows.net',
    secrets: ['Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='],
    keep: ['AccountName=runboardsa', ';EndpointSuffix=core.windows.net'],
  },
  // --- auth headers and tokens -------------------------------------------------------------------
  {
    name: 'authorization bearer jwt',
    message: `request failed: Authorization: Bearer ${JWT} (status 401)`,
    secrets: [JWT],
    keep: ['(status 401)'],
  },
  {
    name: 'bare bearer opaque token',
    message: 'upstream rejected bearer tok_Vq8Lm2Zx9Rt4Wp7Kd3 for tenant acme',
    secrets: ['tok_Vq8Lm2Zx9Rt4Wp7Kd3'],
    keep: ['for tenant acme'],
  },
  {
    name: 'proxy basic auth header',
    message: 'proxy answered 407 for Proxy-Authorization: Basic ZGVwbG95OnN1cGVyc2VjcmV0MTIz',
    secrets: ['ZGVwbG95OnN1cGVyc2VjcmV0MTIz'],
  },
  {
    name: 'bare basic credentials',
    message: 'sent basic YWRtaW46aHVudGVyMg== to legacy billing api',
    secrets: ['YWRtaW46aHVudGVyMg=='],
    keep: ['legacy billing api'],
  },
  {
    name: 'authorization header inside JSON',
    message: '{"headers":{"authorization":"Bearer abc.def.ghi-opaqueTokenValue123"},"status":401}',
    secrets: ['abc.def.ghi-opaqueTokenValue123'],
    keep: ['"status":401'],
  },
  {
    name: 'jwt in websocket query',
    message: `websocket upgrade failed: wss://rt.example.com/socket?access_token=${JWT_RS256}&v=4`,
    secrets: [JWT_RS256],
    keep: ['rt.example.com/socket', 'v=4'],
  },
  {
    name: 'kubernetes token colon',
    message: `k8s API 401, token: ${JWT_RS256}`,
    secrets: [JWT_RS256],
  },
  {
    name: 'cookie header',
    message: 'Cookie: theme=dark; sessionid=9d8c7b6a5f4e3d2c1b0a; csrftoken=Zx8Cv7Bn6Mm5Ll4K',
    secrets: ['9d8c7b6a5f4e3d2c1b0a', 'Zx8Cv7Bn6Mm5Ll4K'],
  },
  {
    name: 'set-cookie header',
    message: 'unexpected Set-Cookie: connect.sid=s%3AqL9vX2mK7pR4tW8y.Hn3Jd6Fg1Sa5Zx0Cv; Path=/; HttpOnly',
    secrets: ['s%3AqL9vX2mK7pR4tW8y.Hn3Jd6Fg1Sa5Zx0Cv'],
  },
  {
    name: 'session key=value',
    message: 'stale session=sess_4Kd9Lm2Qx7Vb1Nz8 for user 42',
    secrets: ['sess_4Kd9Lm2Qx7Vb1Nz8'],
    keep: ['for user 42'],
  },
  {
    name: 'auth key=value',
    message: 'webhook delivery failed: auth=hmac_Zq7Wm3Xk9Lp2Rv5T target=https://hooks.example.com/in',
    secrets: ['hmac_Zq7Wm3Xk9Lp2Rv5T'],
    keep: ['hooks.example.com/in'],
  },
  // --- passwords and secrets in key/value forms ---------------------------------------------------
  {
    name: 'json password',
    message: '{"level":"error","msg":"login failed","password":"Tr0ub4dor&3","user":"ops"}',
    secrets: ['Tr0ub4dor&3'],
    keep: ['"user":"ops"'],
  },
  {
    name: 'env var password',
    message: 'smtp auth failed: SMTP_PASSWORD=mailPw!2024x host=smtp.example.com',
    secrets: ['mailPw!2024x'],
    keep: ['host=smtp.example.com'],
  },
  {
    name: 'client_secret in JSON-encoded JSON',
    message: 'OAuth error body: "{\\"client_id\\":\\"runboard\\",\\"client_secret\\":\\"cs_9f8e7d6c5b4a3f2e1d0c\\"}"',
    secrets: ['cs_9f8e7d6c5b4a3f2e1d0c'],
    keep: ['runboard'],
  },
  {
    name: 'client_secret in form body',
    message: 'POST /oauth/token body: client_id=runboard&client_secret=Qm9Lp2Xv7Rk4Wz1T&grant_type=client_credentials',
    secrets: ['Qm9Lp2Xv7Rk4Wz1T'],
    keep: ['client_id=runboard', 'grant_type=client_credentials'],
  },
  {
    name: 'refresh_token in form body',
    message: 'token endpoint 400 for grant_type=refresh_token&refresh_token=1//0gRtLmZ8xQp4KvYs3NwH7jD2',
    secrets: ['1//0gRtLmZ8xQp4KvYs3NwH7jD2'],
  },
  {
    name: 'api_key query param',
    message: 'geocoder 403: api_key=b1946ac92492d2347c6235b4d2611184 rejected',
    secrets: ['b1946ac92492d2347c6235b4d2611184'],
  },
  {
    name: 'x-api-key header',
    message: 'POST /v1/events failed (403) with x-api-key: live_7Hq2Nf9Rk4Ws1Zt6Yb3M',
    secrets: ['live_7Hq2Nf9Rk4Ws1Zt6Yb3M'],
    keep: ['POST /v1/events failed (403)'],
  },
  {
    name: 'apikey in util.inspect output',
    message: "axios error config: { headers: { apikey: 'pk9Lx2Vb7Qm4Zr1T' } }",
    secrets: ['pk9Lx2Vb7Qm4Zr1T'],
  },
  {
    name: 'yaml password',
    message: 'config dump: password: hunter2butlonger',
    secrets: ['hunter2butlonger'],
  },
  {
    name: 'sql password literal',
    message: "ALTER USER runboard WITH PASSWORD 'Pg-Upd4te-Pw!' failed: permission denied",
    secrets: ['Pg-Upd4te-Pw!'],
    keep: ['permission denied'],
  },
  {
    name: 'cli flag password',
    message: 'command failed: pg_dump --host=db --password=CliFl4gSecret --dbname=app',
    secrets: ['CliFl4gSecret'],
    keep: ['--dbname=app'],
  },
  {
    name: 'python dict passwd',
    message: "worker payload {'username': 'ops', 'passwd': 'PyR3prPass#1'} rejected",
    secrets: ['PyR3prPass#1'],
  },
  {
    name: 'quoted passphrase',
    message: 'gpg: decryption failed, passphrase="correct-horse-battery-9"',
    secrets: ['correct-horse-battery-9'],
  },
  {
    name: 'npmrc _auth',
    message: 'npm ERR! code E401 _auth=ZGVwbG95OnNlY3JldFBhc3N3b3Jk',
    secrets: ['ZGVwbG95OnNlY3JldFBhc3N3b3Jk'],
  },
  {
    name: 'docker config auth',
    message: 'pull denied: {"auths":{"registry.example.com":{"auth":"cm9ib3Q6c2VjcmV0UGFzc3dvcmQxMjM="}}}',
    secrets: ['cm9ib3Q6c2VjcmV0UGFzc3dvcmQxMjM='],
    keep: ['registry.example.com'],
  },
  {
    name: 'secret split by a NUL byte',
    message: 'pass\u0000word=N0lByteSecret rejected',
    secrets: ['N0lByteSecret'],
  },
  // --- signed URLs ------------------------------------------------------------------------------
  {
    name: 's3 presigned url',
    message:
      'GET https://runboard-artifacts.s3.amazonaws.com/report.csv?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20241123%2Feu-west-1%2Fs3%2Faws4_request&X-Amz-Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024 failed 403',
    secrets: ['AKIAIOSFODNN7EXAMPLE', 'fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024'],
    keep: ['runboard-artifacts.s3.amazonaws.com/report.csv'],
  },
  {
    name: 'azure sas sig',
    message: 'BlobNotFound https://acct.blob.core.windows.net/c/b.txt?sv=2022-11-02&se=2024-12-01&sp=r&sig=Zx3Vb6Nm9Qw2Er5Ty8Ui1Op4As7Df0Gh%3D',
    secrets: ['Zx3Vb6Nm9Qw2Er5Ty8Ui1Op4As7Df0Gh%3D'],
    keep: ['acct.blob.core.windows.net'],
  },
  {
    name: 'url token + sig params',
    message: 'download failed: https://cdn.example.com/exports/run-17.zip?token=dl_8Hj3Kl9Mn2Bv5Cx7&sig=Rt6Yu8Io0Pa2Sd4F',
    secrets: ['dl_8Hj3Kl9Mn2Bv5Cx7', 'Rt6Yu8Io0Pa2Sd4F'],
    keep: ['cdn.example.com/exports/run-17.zip'],
  },
  {
    name: 'slack webhook url',
    message: 'POST https://hooks.slack.com/services/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 returned 404',
    secrets: ['T024BE7LD/B01AB2CD3EF/x9Y8z7W6v5U4t3S2r1Q0p9O8'],
    keep: ['returned 404'],
  },
  // --- keys --------------------------------------------------------------------------------------
  {
    name: 'pem private key block',
    message: `failed to load TLS key: ${PEM}`,
    secrets: [...PEM_BODY],
  },
  {
    name: 'pem private key in service account json',
    message: `{"type":"service_account","private_key":"-----BEGIN PRIVATE KEY-----\\n${PEM_BODY[0]}\\n${PEM_BODY[1]}\\n-----END PRIVATE KEY-----\\n","client_email":"svc@proj.iam.gserviceaccount.com"}`,
    secrets: [PEM_BODY[0] ?? '', PEM_BODY[1] ?? ''],
  },
  {
    name: 'truncated pem without END',
    message:
      'parse error near "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\nQyNTUxOQAAACBkb2VzIG5vdCBtYXR0ZXIgd2hhdCB0aGlzIHNheXM',
    secrets: ['b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW', 'QyNTUxOQAAACBkb2VzIG5vdCBtYXR0ZXIgd2hhdCB0aGlzIHNheXM'],
  },
  {
    name: 'single-line ec private key',
    message: 'key=-----BEGIN EC PRIVATE KEY----- MHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5oqoc5l1hGQGnoAoGCCqGSM49 -----END EC PRIVATE KEY----- is invalid',
    secrets: ['MHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5oqoc5l1hGQGnoAoGCCqGSM49'],
    keep: ['is invalid'],
  },
  {
    name: 'ssh-rsa key',
    message: 'authorized_keys rejected: ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7pX9mQ2vL4kR8tZ1wY6nB3cF5hJ0s deploy@ci',
    secrets: ['AAAAB3NzaC1yc2EAAAADAQABAAABAQC7pX9mQ2vL4kR8tZ1wY6nB3cF5hJ0s'],
    keep: ['deploy@ci'],
  },
  {
    name: 'ssh-ed25519 key',
    message: 'host key mismatch ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl',
    secrets: ['AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl'],
  },
  {
    name: 'raw private_key value',
    message: 'signer init failed: private_key=MC4CAQAwBQYDK2VwBCIEIHpZ4tT8nM3xW9qY2vL5kR7sB1cD6fG0hJ3mN8pQ1r',
    secrets: ['MC4CAQAwBQYDK2VwBCIEIHpZ4tT8nM3xW9qY2vL5kR7sB1cD6fG0hJ3mN8pQ1r'],
  },
  // --- cloud / SaaS key shapes --------------------------------------------------------------------
  {
    name: 'aws access key id',
    message: 'S3 PutObject denied for AKIAIOSFODNN7EXAMPLE on bucket runboard-artifacts',
    secrets: ['AKIAIOSFODNN7EXAMPLE'],
    keep: ['runboard-artifacts'],
  },
  {
    name: 'aws temporary key id',
    message: 'sts credentials expired: ASIAY34FZKBOKMUTVV7A',
    secrets: ['ASIAY34FZKBOKMUTVV7A'],
  },
  {
    name: 'aws secret access key',
    message: 'aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    secrets: ['wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'],
  },
  {
    name: 'aws secret access key in JSON',
    message: 'bad creds file {"AWS_SECRET_ACCESS_KEY": "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY"}',
    secrets: ['je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY'],
  },
  {
    name: 'stripe live secret key',
    message: 'Stripe: Invalid API Key provided: sk_live_51H8xYzAbCdEfGhIjKlMnOpQr',
    secrets: ['sk_live_51H8xYzAbCdEfGhIjKlMnOpQr'],
  },
  {
    name: 'stripe restricted test key',
    message: 'charge failed using rk_test_4eC39HqLyjWDarjtT1zdp7dc for customer cus_42',
    secrets: ['rk_test_4eC39HqLyjWDarjtT1zdp7dc'],
    keep: ['cus_42'],
  },
  {
    name: 'stripe webhook secret',
    message: 'webhook signature check failed with whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    secrets: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'],
  },
  {
    name: 'github classic token',
    message: 'git push rejected for ghp_16C7e42F292c6912E7710c838347Ae178B4a (bad credentials)',
    secrets: ['ghp_16C7e42F292c6912E7710c838347Ae178B4a'],
  },
  {
    name: 'github fine-grained pat',
    message:
      'GitHub API 401 with github_pat_11ABCDEFG0aBcDeFgHiJkL_MnOpQrStUvWxYz0123456789AbCdEfGhIjKlMnOpQrStUvWx',
    secrets: ['github_pat_11ABCDEFG0aBcDeFgHiJkL_MnOpQrStUvWxYz0123456789AbCdEfGhIjKlMnOpQrStUvWx'],
  },
  {
    name: 'github oauth token',
    message: 'oauth gho_aB3dE5gH7jK9mN1pQ3sT5vX7zA9cE1gI3kM5 revoked by user',
    secrets: ['gho_aB3dE5gH7jK9mN1pQ3sT5vX7zA9cE1gI3kM5'],
  },
  {
    name: 'gitlab pat',
    message: 'GitLab API 401: PRIVATE-TOKEN glpat-xY7zW9vU3tS1rQ5pO8nM',
    secrets: ['glpat-xY7zW9vU3tS1rQ5pO8nM'],
  },
  {
    name: 'slack bot token',
    message: 'slack chat.postMessage failed: invalid_auth (xoxb-2716548921-3847560192837-AbCdEfGhIjKlMnOpQrStUvWx)',
    secrets: ['xoxb-2716548921-3847560192837-AbCdEfGhIjKlMnOpQrStUvWx'],
  },
  {
    name: 'slack user token',
    message: 'users.list ratelimited for xoxp-1234567890-0987654321-1122334455-a1b2c3d4e5f6a7b8c9d0',
    secrets: ['xoxp-1234567890-0987654321-1122334455-a1b2c3d4e5f6a7b8c9d0'],
  },
  {
    name: 'google api key',
    message: 'Maps API error: https://maps.googleapis.com/maps/api/geocode/json?address=x&key=AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI',
    secrets: ['AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI'],
    keep: ['maps.googleapis.com'],
  },
  {
    name: 'google oauth access token',
    message: 'Drive API 401 for ya29.a0AfH6SMBx7Qm2Lk9Rt4Vz1Wp6Ns3Jd8Hf5Gc0Ya2Bv',
    secrets: ['ya29.a0AfH6SMBx7Qm2Lk9Rt4Vz1Wp6Ns3Jd8Hf5Gc0Ya2Bv'],
  },
  {
    name: 'npm token',
    message: 'npm ERR! 401 Unauthorized - //registry.npmjs.org/:_authToken=npm_Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56Qr78',
    secrets: ['npm_Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56Qr78'],
  },
  {
    name: 'openai project key',
    message: 'OpenAI 401: Incorrect API key provided: sk-proj-Xb7Qm2Lk9Rt4Vz1Wp6Ns3Jd8Hf5Gc0Ya2Bv',
    secrets: ['sk-proj-Xb7Qm2Lk9Rt4Vz1Wp6Ns3Jd8Hf5Gc0Ya2Bv'],
  },
  {
    name: 'anthropic key',
    message: 'model call failed for sk-ant-api03-Qw3Er5Ty7Ui9Op1As3Df5Gh7Jk9Lz1Xc3Vb5Nm7-AbCdEf',
    secrets: ['sk-ant-api03-Qw3Er5Ty7Ui9Op1As3Df5Gh7Jk9Lz1Xc3Vb5Nm7-AbCdEf'],
  },
  {
    name: 'sendgrid key',
    message: 'SendGrid 401 using 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',
    secrets: ['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'],
  },
  {
    name: 'discord bot token',
    message: 'discord login failed: MTk4NjIyNDgzNDcxOTI1MjQ4.Cl2FMQ.ZnCjm1XVW7vRze4b7Cq4se7kKWs',
    secrets: ['MTk4NjIyNDgzNDcxOTI1MjQ4.Cl2FMQ.ZnCjm1XVW7vRze4b7Cq4se7kKWs'],
  },
  {
    name: 'twilio api key sid',
    message: 'Twilio auth error for SK2a4c6e8f0b1d3f5a7c9e1b3d5f7a9c1e',
    secrets: ['SK2a4c6e8f0b1d3f5a7c9e1b3d5f7a9c1e'],
  },
  {
    name: 'digitalocean token',
    message: 'doctl: unable to authenticate dop_v1_4f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0',
    secrets: ['4f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0'],
  },
  // --- generic high-entropy material --------------------------------------------------------------
  {
    name: 'long hex digest',
    message: 'HMAC mismatch: expected 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
    secrets: ['9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08'],
    keep: ['HMAC mismatch: expected'],
  },
  {
    name: 'long base64 blob',
    message: 'decrypt failed for blob 7kX9mQ2vL4pR8tZ1wY6nB3cF5hJ0sD+aE/gU= (bad padding)',
    secrets: ['7kX9mQ2vL4pR8tZ1wY6nB3cF5hJ0sD+aE/gU='],
    keep: ['(bad padding)'],
  },
  {
    name: 'long base64url session id in prose',
    message: 'could not resume session q8Zr3Lk5Xm9Vb2Nw7Tp4Hs1Jd6Fg0Ca8Ye3U (gone)',
    secrets: ['q8Zr3Lk5Xm9Vb2Nw7Tp4Hs1Jd6Fg0Ca8Ye3U'],
  },
  {
    name: 'stripe-style webhook signature header',
    message: 'webhook rejected: signature=t=1700000000,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd',
    secrets: ['5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd'],
  },
];

/** Every 8-char window of `secret` that does not also occur in the non-secret part of `message`. */
export function leakWindows(secret: string, message: string, allSecrets: string[]): string[] {
  let surrounding = message;
  for (const s of allSecrets) surrounding = surrounding.split(s).join('\u0000');
  const windows: string[] = [];
  for (let i = 0; i + 8 <= secret.length; i++) {
    const window = secret.slice(i, i + 8);
    if (!surrounding.includes(window)) windows.push(window);
  }
  return windows;
}
