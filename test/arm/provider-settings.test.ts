// The provider as the app builds it from its FNBATCH_* settings, and the failure classification
// for cases the fake server cannot produce through the client (HTTP-date Retry-After, odd errors).

import { afterEach, describe, expect, it } from 'vitest';
import { classifyArmFailure, retryAfterOf } from '../../shared/adapters/arm-errors.js';
import { backoffDelayMs, DEFAULT_ARM_RETRY } from '../../shared/adapters/arm-retry.js';
import { createArmScaleSetProviderFromSettings } from '../../shared/adapters/arm-scale-set-provider.js';
import { ScaleSetError } from '../../shared/ports/scale-set-provider.js';
import { FakeArmServer, fixedTokenCredential } from '../support/arm/fake-arm-server.js';
import { trustTestCertificatePolicy } from '../support/arm/test-tls.js';

let server: FakeArmServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

const settings = (subscriptionId: string): NodeJS.ProcessEnv => ({
  FNBATCH_SUBSCRIPTION_ID: subscriptionId,
  FNBATCH_RESOURCE_GROUP: 'rg-from-settings',
  FNBATCH_LOCATION: 'northeurope',
  FNBATCH_SCALE_SET_PREFIX: 'prod',
  FNBATCH_NODE_SUBNET_ID: '/subscriptions/x/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/v/subnets/nodes',
  FNBATCH_NODE_IDENTITY_ID: '/subscriptions/x/resourceGroups/id/providers/Microsoft.ManagedIdentity/userAssignedIdentities/nodes',
  FNBATCH_NODE_IDENTITY_CLIENT_ID: 'node-client-id',
  FNBATCH_AGENT_PACKAGE_URL: 'https://example.invalid/agent.tgz',
  AZURE_CLIENT_ID: 'app-client-id',
});

describe('createArmScaleSetProviderFromSettings', () => {
  it('names every missing setting', () => {
    expect(() => createArmScaleSetProviderFromSettings({ FNBATCH_SUBSCRIPTION_ID: 'x', FNBATCH_LOCATION: '' })).toThrow(
      'FNBATCH_RESOURCE_GROUP, FNBATCH_LOCATION, FNBATCH_SCALE_SET_PREFIX, FNBATCH_NODE_SUBNET_ID, FNBATCH_NODE_IDENTITY_ID',
    );
  });

  it('builds a provider with the managed identity credential and no network traffic', () => {
    const provider = createArmScaleSetProviderFromSettings(settings('00000000-0000-0000-0000-000000000000'));
    expect(provider.scaleSetName('Pool A', 'lowPriority')).toBe('prod-pool-a-spot');
  });

  it('carries the settings through to ARM', async () => {
    server = await new FakeArmServer().start();
    const provider = createArmScaleSetProviderFromSettings(settings(server.subscriptionId), {
      credential: fixedTokenCredential,
      endpoint: server.endpoint,
      clientOptions: { additionalPolicies: [{ policy: trustTestCertificatePolicy(), position: 'perCall' }] },
      nodeTemplate: { sshPublicKey: 'ssh-rsa AAAA test' },
      pollIntervalMs: 5,
    });
    await provider.ensurePool({ poolId: 'p', vmSize: 'Standard_D2s_v5', taskSlotsPerNode: 1 });
    const set = server.scaleSet('rg-from-settings', 'prod-p-dedicated')!;
    expect(set.location).toBe('northeurope');
    const profile = set.properties.virtualMachineProfile;
    expect(profile.networkProfile.networkInterfaceConfigurations[0].properties.ipConfigurations[0].properties.subnet.id).toContain('/subnets/nodes');
    expect(Object.keys(set.identity.userAssignedIdentities)).toEqual([settings('').FNBATCH_NODE_IDENTITY_ID]);
    expect(JSON.parse(Buffer.from(profile.userData, 'base64').toString())).toMatchObject({
      nodeIdentityClientId: 'node-client-id',
      agentPackageUrl: 'https://example.invalid/agent.tgz',
      isDedicated: true,
    });
  });
});

describe('failure classification', () => {
  const restError = (statusCode: number | undefined, code: string | undefined, message: string, headers: Record<string, string> = {}) =>
    Object.assign(new Error(message), {
      name: 'RestError',
      statusCode,
      code,
      response: { headers: { get: (name: string) => headers[name.toLowerCase()] } },
    });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = () => Date.parse('2025-01-01T00:00:00Z');
    expect(retryAfterOf(restError(429, 'x', 'm', { 'retry-after': '12' }), now)).toBe(12_000);
    expect(retryAfterOf(restError(429, 'x', 'm', { 'retry-after': 'Wed, 01 Jan 2025 00:00:30 GMT' }), now)).toBe(30_000);
    expect(retryAfterOf(restError(429, 'x', 'm', { 'retry-after': 'soon' }), now)).toBeUndefined();
    expect(retryAfterOf(restError(429, 'x', 'm'), now)).toBeUndefined();
  });

  it('sorts failures into retryable and final ones', () => {
    expect(classifyArmFailure(restError(undefined, 'REQUEST_SEND_ERROR', 'socket hang up'))).toMatchObject({ code: 'Failed', retryable: true });
    expect(classifyArmFailure(restError(502, undefined, 'bad gateway'))).toMatchObject({ code: 'Failed', retryable: true });
    expect(classifyArmFailure(restError(404, 'ResourceNotFound', 'gone'))).toMatchObject({ code: 'NotFound', retryable: false });
    expect(classifyArmFailure(restError(403, 'AuthorizationFailed', 'no'))).toMatchObject({ code: 'Failed', retryable: false, status: 403 });
    expect(classifyArmFailure(restError(409, 'QuotaExceeded', 'too many'))).toMatchObject({ code: 'QuotaExceeded', retryable: false });
    expect(classifyArmFailure(Object.assign(new Error('aborted'), { name: 'AbortError' }))).toMatchObject({ code: 'Canceled' });
    expect(classifyArmFailure(new ScaleSetError('Conflict', 'already decided'))).toMatchObject({ code: 'Conflict', retryable: false });
    expect(classifyArmFailure(new Error('The long-running operation has failed'))).toMatchObject({ code: 'Failed', retryable: false });
  });

  it('backs off exponentially up to the cap, with jitter within half the step', () => {
    const policy = { ...DEFAULT_ARM_RETRY, baseDelayMs: 1_000, maxDelayMs: 8_000 };
    expect([1, 2, 3, 4, 5, 6].map((a) => backoffDelayMs(policy, a, () => 0))).toEqual([500, 1_000, 2_000, 4_000, 4_000, 4_000]);
    expect([1, 2, 3, 4, 5, 6].map((a) => backoffDelayMs(policy, a, () => 0.999_999))).toEqual([1_000, 2_000, 4_000, 8_000, 8_000, 8_000]);
  });
});
