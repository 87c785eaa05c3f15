// The ARM scale-set provider through the real @azure/arm-compute client against the fake ARM
// server: creating a pool's scale sets, growing, deleting named nodes, listing, deleting the pool.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { scaleSetName, ScaleSetError } from '../../shared/ports/scale-set-provider.js';
import { FAKE_ARM_API_VERSION } from '../support/arm/fake-arm-server.js';
import { NODE_IDENTITY_ID, PREFIX, RESOURCE_GROUP, SUBNET_ID, startArmHarness, type ArmHarness } from '../support/arm/provider-harness.js';

const dedicated = (pool: string) => scaleSetName(PREFIX, pool, 'dedicated');
const spot = (pool: string) => scaleSetName(PREFIX, pool, 'lowPriority');
const spec = (poolId: string) => ({ poolId, vmSize: 'Standard_F4s_v2', taskSlotsPerNode: 2 });

let h: ArmHarness;
afterEach(async () => {
  await h?.stop();
});

describe('ensurePool', () => {
  beforeEach(async () => {
    h = await startArmHarness();
  });

  it('creates a Flexible scale set for dedicated nodes and a Spot one for low-priority nodes, both empty', async () => {
    await h.stop();
    h = await startArmHarness({ nodeTemplate: { sshPublicKey: undefined } });
    await h.provider.ensurePool({
      ...spec('Render.Pool_1'),
      startTask: { commandLine: 'setup.sh', environmentSettings: [{ name: 'MODE', value: 'x' }], waitForSuccess: true },
    });

    expect(dedicated('Render.Pool_1')).toBe('fnb-render-pool-1-dedicated');
    const d = h.server.scaleSet(RESOURCE_GROUP, dedicated('Render.Pool_1'))!;
    const s = h.server.scaleSet(RESOURCE_GROUP, spot('Render.Pool_1'))!;
    expect(d).toBeDefined();
    expect(s).toBeDefined();
    for (const set of [d, s]) {
      expect(set.location).toBe('westeurope');
      expect(set.sku).toMatchObject({ name: 'Standard_F4s_v2', capacity: 0 });
      expect(set.properties.orchestrationMode).toBe('Flexible');
      expect(set.properties.platformFaultDomainCount).toBe(1);
      expect(set.identity).toEqual({ type: 'UserAssigned', userAssignedIdentities: { [NODE_IDENTITY_ID]: {} } });
      const profile = set.properties.virtualMachineProfile;
      expect(profile.networkProfile.networkInterfaceConfigurations[0].properties.ipConfigurations[0].properties.subnet.id).toBe(SUBNET_ID);
      expect(Buffer.from(profile.osProfile.customData, 'base64').toString()).toContain('#cloud-config');
      expect(profile.osProfile.linuxConfiguration.disablePasswordAuthentication).toBe(true);
      // No key configured: the public half of a key nobody holds, so nobody can log in.
      expect(profile.osProfile.linuxConfiguration.ssh.publicKeys[0].keyData).toMatch(/^ssh-rsa AAAAB3NzaC1yc2E\S+ fnbatch-no-login$/);
      expect(set.tags).toMatchObject({ 'fnbatch-pool': 'Render.Pool_1' });
    }
    expect(d.properties.virtualMachineProfile.priority).toBe('Regular');
    expect(d.properties.virtualMachineProfile.evictionPolicy).toBeUndefined();
    expect(s.properties.virtualMachineProfile).toMatchObject({ priority: 'Spot', evictionPolicy: 'Delete', billingProfile: { maxPrice: -1 } });

    const userData = JSON.parse(Buffer.from(s.properties.virtualMachineProfile.userData, 'base64').toString());
    expect(userData).toMatchObject({
      poolId: 'Render.Pool_1',
      isDedicated: false,
      taskSlots: 2,
      nodeIdentityClientId: '11111111-2222-3333-4444-555555555555',
      startTask: { commandLine: 'setup.sh', waitForSuccess: true },
    });

    // Every call carried the client's api-version and the credential's token.
    expect(h.server.calls.every((c) => c.query['api-version'] === FAKE_ARM_API_VERSION)).toBe(true);
    expect([...h.server.tokensSeen]).toEqual(['fake-arm-token']);
  });

  it('is idempotent: a second call finds both scale sets and writes nothing', async () => {
    await h.provider.ensurePool(spec('p1'));
    const putsBefore = h.server.callsOf('scaleSet.put').length;
    expect(putsBefore).toBe(2);
    await h.provider.ensurePool(spec('p1'));
    expect(h.server.callsOf('scaleSet.put')).toHaveLength(2);
    expect(h.server.callsOf('scaleSet.get').length).toBeGreaterThanOrEqual(4);
  });

  it('leaves scale sets the infra created alone', async () => {
    for (const name of [dedicated('infra'), spot('infra')]) {
      h.server.seedScaleSet(RESOURCE_GROUP, name, { location: 'westeurope', sku: { name: 'Standard_D2s_v5', capacity: 1 }, properties: { orchestrationMode: 'Flexible' } });
    }
    await h.provider.ensurePool(spec('infra'));
    expect(h.server.callsOf('scaleSet.put')).toHaveLength(0);
    expect(h.server.capacity(RESOURCE_GROUP, dedicated('infra'))).toBe(1);
  });

  it('reports clearly when the identity may not create a missing scale set (403), without retrying', async () => {
    h.server.seedScaleSet(RESOURCE_GROUP, dedicated('locked'), { location: 'westeurope', sku: { name: 'Standard_D2s_v5', capacity: 0 }, properties: { orchestrationMode: 'Flexible' } });
    h.server.denyCreate = true;
    const err = await h.provider.ensurePool(spec('locked')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ScaleSetError);
    expect((err as ScaleSetError).code).toBe('Failed');
    expect((err as ScaleSetError).message).toContain(`Scale set '${spot('locked')}'`);
    expect((err as ScaleSetError).message).toContain('not allowed to create it');
    expect((err as ScaleSetError).message).toContain('AuthorizationFailed');
    expect(h.server.callsOf('scaleSet.put')).toHaveLength(1);
    expect(h.sleeps).toEqual([]);
  });
});

describe('growTo', () => {
  beforeEach(async () => {
    h = await startArmHarness();
    await h.provider.ensurePool(spec('grow'));
  });

  it('raises the capacity through a scale-set update and waits for the operation', async () => {
    await h.provider.growTo('grow', 'dedicated', 3);
    expect(h.server.capacity(RESOURCE_GROUP, dedicated('grow'))).toBe(3);
    expect(h.server.vmsOf(RESOURCE_GROUP, dedicated('grow'))).toHaveLength(3);
    const [patch] = h.server.callsOf('scaleSet.patch');
    expect(patch.body).toMatchObject({ sku: { capacity: 3 } });
    // The update was polled to completion before growTo returned.
    expect(h.server.callsOf('operation.status').length).toBeGreaterThanOrEqual(2);

    await h.provider.growTo('grow', 'lowPriority', 2);
    expect(h.server.capacity(RESOURCE_GROUP, spot('grow'))).toBe(2);
    expect(h.server.vmsOf(RESOURCE_GROUP, spot('grow')).every((vm) => vm.priority === 'Spot')).toBe(true);
  });

  it('never shrinks, and issues no update when the scale set is already large enough', async () => {
    await h.provider.growTo('grow', 'dedicated', 3);
    const vms = h.server.vmsOf(RESOURCE_GROUP, dedicated('grow')).map((vm) => vm.name).sort();
    await h.provider.growTo('grow', 'dedicated', 1);
    await h.provider.growTo('grow', 'dedicated', 3);
    await h.provider.growTo('grow', 'dedicated', 0);
    expect(h.server.callsOf('scaleSet.patch')).toHaveLength(1);
    expect(h.server.capacity(RESOURCE_GROUP, dedicated('grow'))).toBe(3);
    expect(h.server.vmsOf(RESOURCE_GROUP, dedicated('grow')).map((vm) => vm.name).sort()).toEqual(vms);
  });

  it('says NotFound when the pool has no scale set', async () => {
    const err = await h.provider.growTo('nope', 'dedicated', 1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ScaleSetError);
    expect((err as ScaleSetError).code).toBe('NotFound');
    expect((err as ScaleSetError).message).toContain(dedicated('nope'));
  });

  it('rejects a target that is not a whole number', async () => {
    await expect(h.provider.growTo('grow', 'dedicated', 1.5)).rejects.toMatchObject({ code: 'Failed' });
    await expect(h.provider.growTo('grow', 'dedicated', -1)).rejects.toMatchObject({ code: 'Failed' });
    expect(h.server.callsOf('scaleSet.patch')).toHaveLength(0);
  });
});

describe('deleteNodes', () => {
  beforeEach(async () => {
    h = await startArmHarness();
    await h.provider.ensurePool(spec('del'));
    await h.provider.growTo('del', 'dedicated', 3);
    await h.provider.growTo('del', 'lowPriority', 2);
  });

  it('removes exactly the named VMs with delete-instances per scale set, and the capacities drop by as many', async () => {
    const d = h.server.vmsOf(RESOURCE_GROUP, dedicated('del')).map((vm) => vm.name);
    const s = h.server.vmsOf(RESOURCE_GROUP, spot('del')).map((vm) => vm.name);
    const patchesBefore = h.server.callsOf('scaleSet.patch').length;

    await h.provider.deleteNodes('del', [d[1], s[0], 'fnb-del-dedicated_gone0000']);

    expect(h.server.vmsOf(RESOURCE_GROUP, dedicated('del')).map((vm) => vm.name).sort()).toEqual([d[0], d[2]].sort());
    expect(h.server.vmsOf(RESOURCE_GROUP, spot('del')).map((vm) => vm.name)).toEqual([s[1]]);
    expect(h.server.capacity(RESOURCE_GROUP, dedicated('del'))).toBe(2);
    expect(h.server.capacity(RESOURCE_GROUP, spot('del'))).toBe(1);

    const deletes = h.server.callsOf('scaleSet.deleteInstances');
    expect(deletes.map((c) => ({ path: c.path.split('/').at(-2), body: c.body }))).toEqual([
      { path: dedicated('del'), body: { instanceIds: [d[1]] } },
      { path: spot('del'), body: { instanceIds: [s[0]] } },
    ]);
    // Never by lowering a capacity.
    expect(h.server.callsOf('scaleSet.patch')).toHaveLength(patchesBefore);
  });

  it('does nothing for an empty list or nodes that are already gone', async () => {
    await h.provider.deleteNodes('del', []);
    await h.provider.deleteNodes('del', ['fnb-del-spot_00000000']);
    expect(h.server.callsOf('scaleSet.deleteInstances')).toHaveLength(0);
    expect(h.server.capacity(RESOURCE_GROUP, dedicated('del'))).toBe(3);
  });
});

describe('listNodes', () => {
  it('maps provisioning and power states, including Spot eviction', async () => {
    h = await startArmHarness({ server: { creatingReads: 1 } });
    await h.provider.ensurePool(spec('ls'));
    await h.provider.growTo('ls', 'dedicated', 3);
    await h.provider.growTo('ls', 'lowPriority', 3);

    const first = await h.provider.listNodes('ls');
    expect(first).toHaveLength(6);
    expect(first.every((n) => n.state === 'creating')).toBe(true);
    expect(first.filter((n) => n.priority === 'dedicated').map((n) => n.nodeId).sort()).toEqual(
      h.server.vmsOf(RESOURCE_GROUP, dedicated('ls')).map((vm) => vm.name).sort(),
    );
    expect(first.every((n) => typeof n.createdAt === 'number' && n.createdAt > 0)).toBe(true);

    const second = await h.provider.listNodes('ls');
    expect(second.every((n) => n.state === 'running')).toBe(true);

    const [d0, d1] = h.server.vmsOf(RESOURCE_GROUP, dedicated('ls')).map((vm) => vm.name);
    const [s0, s1, s2] = h.server.vmsOf(RESOURCE_GROUP, spot('ls')).map((vm) => vm.name);
    h.server.setVmState(d0, 'Failed');
    h.server.setVmState(d1, 'Deleting');
    h.server.evict(s0, 'deallocate'); // evictionPolicy Deallocate: stays, deallocated
    h.server.evict(s1, 'delete'); // evictionPolicy Delete: gone

    const states = Object.fromEntries((await h.provider.listNodes('ls')).map((n) => [n.nodeId, `${n.priority}:${n.state}`]));
    expect(states[d0]).toBe('dedicated:failed');
    expect(states[d1]).toBe('dedicated:deleting');
    expect(states[s0]).toBe('lowPriority:evicted');
    expect(states[s1]).toBeUndefined();
    expect(states[s2]).toBe('lowPriority:running');
    expect(Object.keys(states)).toHaveLength(5);
  });

  it('follows nextLink through every page and is empty for a pool without scale sets', async () => {
    h = await startArmHarness({ server: { listPageSize: 2 } });
    await h.provider.ensurePool(spec('paged'));
    await h.provider.growTo('paged', 'dedicated', 5);
    expect(await h.provider.listNodes('paged')).toHaveLength(5);
    expect(h.server.callsOf('vm.list').some((c) => c.query['$skiptoken'] === '4')).toBe(true);
    expect(await h.provider.listNodes('unknown')).toEqual([]);
  });
});

describe('deletePool', () => {
  it('deletes both scale sets with their VMs, and a second delete is harmless', async () => {
    h = await startArmHarness();
    await h.provider.ensurePool(spec('gone'));
    await h.provider.growTo('gone', 'dedicated', 2);
    await h.provider.deletePool('gone');
    expect(h.server.scaleSet(RESOURCE_GROUP, dedicated('gone'))).toBeUndefined();
    expect(h.server.scaleSet(RESOURCE_GROUP, spot('gone'))).toBeUndefined();
    expect(h.server.vmsOf(RESOURCE_GROUP, dedicated('gone'))).toEqual([]);
    await h.provider.deletePool('gone');
    expect(await h.provider.listNodes('gone')).toEqual([]);
  });
});
