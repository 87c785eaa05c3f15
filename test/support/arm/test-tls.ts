// A TLS identity for the fake ARM server, and a pipeline policy that makes one ARM client (and only
// that client) trust it. The SDK's bearer-token policy refuses plain http, so the fake must speak https.
//
// Preferred: a fresh self-signed certificate for 127.0.0.1 made with the machine's openssl, trusted
// as the only CA, so hostname and expiry checks stay on. Without openssl we fall back to the
// key pair @vercel/cosmosdb-server ships (expired, CN=cosmosdb) and skip verification for this
// client's agent alone.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';

export interface TestTlsIdentity {
  key: string;
  cert: string;
  /** True when the certificate is a proper one for 127.0.0.1 that clients can verify. */
  verifiable: boolean;
}

let cached: TestTlsIdentity | undefined;

export function testTlsIdentity(): TestTlsIdentity {
  return (cached ??= generateWithOpenssl() ?? bundledIdentity());
}

function generateWithOpenssl(): TestTlsIdentity | undefined {
  const dir = mkdtempSync(path.join(tmpdir(), 'fake-arm-tls-'));
  try {
    const keyFile = path.join(dir, 'key.pem');
    const certFile = path.join(dir, 'cert.pem');
    execFileSync(
      'openssl',
      [
        'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2',
        '-keyout', keyFile, '-out', certFile,
        '-subj', '/CN=127.0.0.1',
        '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
      ],
      { stdio: 'ignore', timeout: 30_000 },
    );
    return { key: readFileSync(keyFile, 'utf8'), cert: readFileSync(certFile, 'utf8'), verifiable: true };
  } catch {
    return undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function bundledIdentity(): TestTlsIdentity {
  const require = createRequire(import.meta.url);
  const dir = path.dirname(require.resolve('@vercel/cosmosdb-server/package.json'));
  return {
    key: readFileSync(path.join(dir, 'key.pem'), 'utf8'),
    cert: readFileSync(path.join(dir, 'cert.pem'), 'utf8'),
    verifiable: false,
  };
}

/** A per-call policy that sends every request of one client through an agent trusting `identity`. */
export function trustTestCertificatePolicy(identity: TestTlsIdentity = testTlsIdentity()): PipelinePolicy {
  const agent = identity.verifiable
    ? new https.Agent({ ca: identity.cert, keepAlive: true })
    : new https.Agent({ rejectUnauthorized: false, keepAlive: true });
  return {
    name: 'trustFakeArmCertificate',
    sendRequest: (request, next) => {
      request.agent = agent;
      return next(request);
    },
  };
}
