// A local HTTPS server speaking the slice of the Azure Resource Manager REST API that the scale-set
// provider uses, so the real @azure/arm-compute client can be tested offline:
//
//   GET|PUT|PATCH|DELETE  /subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachineScaleSets/{name}
//   POST                  .../virtualMachineScaleSets/{name}/delete            (delete instances)
//   GET                   /subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines
//                           ?$filter='virtualMachineScaleSet/id' eq '{scale set id}'[&$expand=instanceView]
//   GET                   .../virtualMachines/{name}
//   GET                   /subscriptions/{s}/providers/Microsoft.Compute/locations/{l}/operations/{id}       (Azure-AsyncOperation)
//   GET                   /subscriptions/{s}/providers/Microsoft.Compute/locations/{l}/operationResults/{id} (Location)
//
// Like ARM: paths are case-insensitive, every request needs a bearer token and the api-version,
// errors are `{ error: { code, message } }`, and writes are long-running operations whose effects
// land when the operation completes (after `lroPolls` status polls). Flexible scale sets keep their
// VMs as standalone virtualMachines resources named `<scale set>_<8 hex>`; lowering or raising the
// capacity removes or adds VMs, and delete-instances removes the named VMs and lowers the capacity.
//
// Test controls: slow provisioning (VMs report Creating for the first N reads), failure injection
// (next N matching calls fail with a status; next operation ends Failed; connections dropped;
// requests left unanswered), throttling (429 + Retry-After), a VM quota, refusal to create scale
// sets (403, like an identity that may only update them), Spot eviction, and a log of every call.
import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { testTlsIdentity, type TestTlsIdentity } from './test-tls.js';

export const FAKE_ARM_API_VERSION = '2026-03-01';

export interface FakeArmServerOptions {
  /** The api-version every request must carry; default FAKE_ARM_API_VERSION. */
  apiVersion?: string;
  /** Status polls answering InProgress before an operation completes; default 1. */
  lroPolls?: number;
  /** A new VM reports provisioningState Creating for this many reads before Succeeded; default 0. */
  creatingReads?: number;
  /** Items per page of the VM list (the rest follows through nextLink); default 100. */
  listPageSize?: number;
  tls?: TestTlsIdentity;
}

export interface ArmCall {
  method: string;
  /** Path without the query string, as sent. */
  path: string;
  query: Record<string, string>;
  body?: unknown;
  status: number;
  /** What the server made of the call, e.g. 'scaleSet.get', 'vm.list', 'operation.status'. */
  kind: string;
}

export interface InjectedFailure {
  status: number;
  code: string;
  message: string;
  retryAfterSeconds?: number;
  /** Which calls it applies to (default: any call except operation polls). */
  match?: (call: { method: string; kind: string; path: string }) => boolean;
}

export interface FakeVm {
  name: string;
  scaleSet: string;
  resourceGroup: string;
  priority: 'Regular' | 'Spot';
  provisioningState: 'Creating' | 'Succeeded' | 'Failed' | 'Deleting';
  powerState: 'starting' | 'running' | 'deallocated' | 'stopped';
  createdAt: Date;
  /** Reads left during which the VM still reports Creating. */
  creatingReadsLeft: number;
}

interface FakeScaleSet {
  name: string;
  resourceGroup: string;
  /** The resource as ARM would return it (REST shape with `properties`). */
  resource: Record<string, any>;
}

interface PendingOperation {
  id: string;
  pollsLeft: number;
  status: 'InProgress' | 'Succeeded' | 'Failed';
  error?: { code: string; message: string };
  apply: () => void;
  startTime: string;
}

export class FakeArmServer {
  readonly calls: ArmCall[] = [];
  readonly subscriptionId = randomUUID();
  /** Tokens the server saw in Authorization headers (to check the credential is used). */
  readonly tokensSeen = new Set<string>();
  /** When true, PUT of a scale set that does not exist answers 403 AuthorizationFailed. */
  denyCreate = false;
  /** Total VMs allowed across all scale sets; growth beyond it is refused with a quota error. */
  vmQuota = Number.POSITIVE_INFINITY;
  lroPolls: number;
  creatingReads: number;

  private readonly apiVersion: string;
  private readonly listPageSize: number;
  private readonly tls: TestTlsIdentity;
  private readonly scaleSets = new Map<string, FakeScaleSet>();
  private readonly vms = new Map<string, FakeVm>();
  private readonly operations = new Map<string, PendingOperation>();
  private readonly failures: InjectedFailure[] = [];
  private readonly operationFailures: { code: string; message: string }[] = [];
  private dropsLeft = 0;
  private stallsLeft = 0;
  private readonly stalled = new Set<ServerResponse>();
  private server?: https.Server;
  private port = 0;

  constructor(options: FakeArmServerOptions = {}) {
    this.apiVersion = options.apiVersion ?? FAKE_ARM_API_VERSION;
    this.lroPolls = options.lroPolls ?? 1;
    this.creatingReads = options.creatingReads ?? 0;
    this.listPageSize = options.listPageSize ?? 100;
    this.tls = options.tls ?? testTlsIdentity();
  }

  get endpoint(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    const server = https.createServer({ key: this.tls.key, cert: this.tls.cert }, (req, res) => {
      void this.handle(req, res);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const res of this.stalled) res.destroy();
    this.stalled.clear();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  // ---- test controls -------------------------------------------------------------------------

  /** The next `count` calls matching `failure.match` are answered with this error instead. */
  failNext(count: number, failure: InjectedFailure): void {
    for (let i = 0; i < count; i++) this.failures.push(failure);
  }

  /** The next `count` calls (other than operation polls) get 429 TooManyRequests with Retry-After. */
  throttleNext(count: number, retryAfterSeconds: number): void {
    this.failNext(count, {
      status: 429,
      code: 'TooManyRequests',
      message: 'The request is being throttled as the limit has been reached for operation type - Write_30Min.',
      retryAfterSeconds,
    });
  }

  /** The next long-running operation started ends Failed with this error, and changes nothing. */
  failNextOperation(error: { code: string; message: string }): void {
    this.operationFailures.push(error);
  }

  /** The next `count` requests get their connection destroyed without an answer. */
  dropNextConnections(count: number): void {
    this.dropsLeft += count;
  }

  /** The next `count` requests are never answered (until the server stops). */
  stallNext(count: number): void {
    this.stallsLeft += count;
  }

  /**
   * Evicts a Spot VM. 'delete' is what Azure does with evictionPolicy Delete: the VM (and its place
   * in the scale set's capacity) is gone. 'deallocate' is evictionPolicy Deallocate: the VM stays,
   * with power state deallocated.
   */
  evict(vmName: string, mode: 'delete' | 'deallocate'): void {
    const vm = this.vms.get(vmName.toLowerCase());
    if (!vm) throw new Error(`no VM ${vmName}`);
    if (vm.priority !== 'Spot') throw new Error(`${vmName} is not a Spot VM`);
    if (mode === 'deallocate') {
      vm.powerState = 'deallocated';
      return;
    }
    this.vms.delete(vmName.toLowerCase());
    const set = this.scaleSets.get(key(vm.resourceGroup, vm.scaleSet));
    if (set) set.resource.sku.capacity = Math.max(0, set.resource.sku.capacity - 1);
  }

  /** Forces a VM's provisioning state (e.g. Failed), as a platform failure would. */
  setVmState(vmName: string, provisioningState: FakeVm['provisioningState']): void {
    const vm = this.vms.get(vmName.toLowerCase());
    if (!vm) throw new Error(`no VM ${vmName}`);
    vm.provisioningState = provisioningState;
    vm.creatingReadsLeft = 0;
  }

  /** Creates a scale set directly, as the infra templates would (no call logged). */
  seedScaleSet(resourceGroup: string, name: string, resource: Record<string, any>): void {
    this.scaleSets.set(key(resourceGroup, name), {
      name,
      resourceGroup,
      resource: this.completeScaleSet(resourceGroup, name, structuredClone(resource)),
    });
    this.reconcileVms(resourceGroup, name);
  }

  scaleSet(resourceGroup: string, name: string): Record<string, any> | undefined {
    const set = this.scaleSets.get(key(resourceGroup, name));
    return set ? structuredClone(set.resource) : undefined;
  }

  capacity(resourceGroup: string, name: string): number | undefined {
    return this.scaleSets.get(key(resourceGroup, name))?.resource.sku.capacity;
  }

  vmsOf(resourceGroup: string, scaleSet: string): FakeVm[] {
    return [...this.vms.values()]
      .filter((vm) => sameName(vm.resourceGroup, resourceGroup) && sameName(vm.scaleSet, scaleSet))
      .map((vm) => ({ ...vm }));
  }

  callsOf(kind: string): ArmCall[] {
    return this.calls.filter((c) => c.kind === kind);
  }

  // ---- request handling ----------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://arm.local');
    const method = (req.method ?? 'GET').toUpperCase();
    const query = Object.fromEntries(url.searchParams.entries());
    const raw = await readBody(req);
    let body: unknown;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      body = raw;
    }
    const route = this.route(method, url.pathname);
    const call: ArmCall = { method, path: url.pathname, query, body, status: 0, kind: route.kind };
    this.calls.push(call);

    if (this.dropsLeft > 0) {
      this.dropsLeft--;
      call.status = -1;
      req.socket.destroy();
      return;
    }
    if (this.stallsLeft > 0 && route.kind !== 'operation.status') {
      this.stallsLeft--;
      call.status = -2;
      this.stalled.add(res);
      res.on('close', () => this.stalled.delete(res));
      return;
    }

    const reply = (status: number, payload?: unknown, headers: Record<string, string> = {}): void => {
      call.status = status;
      const text = payload === undefined ? '' : JSON.stringify(payload);
      res.writeHead(status, {
        'content-type': 'application/json; charset=utf-8',
        'x-ms-request-id': randomUUID(),
        ...headers,
      });
      res.end(text);
    };
    const fail = (status: number, code: string, message: string, headers: Record<string, string> = {}): void =>
      reply(status, { error: { code, message } }, headers);

    const auth = req.headers.authorization ?? '';
    if (!auth.startsWith('Bearer ')) {
      return fail(401, 'AuthenticationFailed', 'Authentication failed. The Authorization header is missing.');
    }
    this.tokensSeen.add(auth.slice('Bearer '.length));

    if (query['api-version'] === undefined) {
      return fail(400, 'MissingApiVersionParameter', "The api-version query parameter (?api-version=) is required for all requests.");
    }
    if (query['api-version'] !== this.apiVersion) {
      return fail(
        400,
        'InvalidApiVersionParameter',
        `The api-version '${query['api-version']}' is invalid. The supported versions are '${this.apiVersion}'.`,
      );
    }

    const injectedIndex = this.failures.findIndex((f) =>
      f.match ? f.match({ method, kind: route.kind, path: url.pathname }) : !route.kind.startsWith('operation.'),
    );
    if (injectedIndex >= 0) {
      const [f] = this.failures.splice(injectedIndex, 1);
      const headers: Record<string, string> = f.retryAfterSeconds !== undefined ? { 'retry-after': String(f.retryAfterSeconds) } : {};
      return fail(f.status, f.code, f.message, headers);
    }

    try {
      route.handle(reply, fail, body, query, req.headers);
    } catch (err) {
      fail(500, 'InternalServerError', `fake ARM server error: ${(err as Error).message}`);
    }
  }

  private route(method: string, pathname: string): { kind: string; handle: Handler } {
    const parts = pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const lower = parts.map((p) => p.toLowerCase());
    const notFound: Handler = (_reply, fail) => fail(404, 'InvalidResourceType', `No route for ${method} ${pathname}`);
    const is = (i: number, word: string) => lower[i] === word.toLowerCase();

    if (!is(0, 'subscriptions') || !sameName(parts[1] ?? '', this.subscriptionId)) {
      return { kind: 'unknown', handle: (_r, fail) => fail(404, 'SubscriptionNotFound', `The subscription '${parts[1]}' could not be found.`) };
    }
    // Operation status and result, under the subscription's Compute provider.
    if (is(2, 'providers') && is(3, 'Microsoft.Compute') && is(4, 'locations') && parts.length === 8 && method === 'GET') {
      const id = parts[7];
      if (is(6, 'operations')) return { kind: 'operation.status', handle: (reply, fail) => this.operationStatus(id, reply, fail) };
      if (is(6, 'operationResults')) return { kind: 'operation.result', handle: (reply, fail) => this.operationResult(id, reply, fail) };
    }
    if (!is(2, 'resourceGroups') || !is(4, 'providers') || !is(5, 'Microsoft.Compute')) return { kind: 'unknown', handle: notFound };
    const rg = parts[3];

    if (is(6, 'virtualMachineScaleSets') && parts.length === 8) {
      const name = parts[7];
      switch (method) {
        case 'GET':
          return { kind: 'scaleSet.get', handle: (reply, fail) => this.getScaleSet(rg, name, reply, fail) };
        case 'PUT':
          return { kind: 'scaleSet.put', handle: (reply, fail, body, _q, headers) => this.putScaleSet(rg, name, body, headers, reply, fail) };
        case 'PATCH':
          return { kind: 'scaleSet.patch', handle: (reply, fail, body) => this.patchScaleSet(rg, name, body, reply, fail) };
        case 'DELETE':
          return { kind: 'scaleSet.delete', handle: (reply, fail) => this.deleteScaleSet(rg, name, reply, fail) };
      }
    }
    if (is(6, 'virtualMachineScaleSets') && parts.length === 9 && is(8, 'delete') && method === 'POST') {
      return { kind: 'scaleSet.deleteInstances', handle: (reply, fail, body) => this.deleteInstances(rg, parts[7], body, reply, fail) };
    }
    if (is(6, 'virtualMachines') && parts.length === 7 && method === 'GET') {
      return { kind: 'vm.list', handle: (reply, fail, _body, query) => this.listVms(rg, query, reply, fail) };
    }
    if (is(6, 'virtualMachines') && parts.length === 8 && method === 'GET') {
      return { kind: 'vm.get', handle: (reply, fail, _body, query) => this.getVm(rg, parts[7], query, reply, fail) };
    }
    return { kind: 'unknown', handle: notFound };
  }

  private getScaleSet(rg: string, name: string, reply: Reply, fail: Fail): void {
    const set = this.scaleSets.get(key(rg, name));
    if (!set) return fail(404, 'ResourceNotFound', resourceNotFound('virtualMachineScaleSets', name, rg));
    reply(200, set.resource);
  }

  private putScaleSet(rg: string, name: string, body: unknown, headers: IncomingHttpHeaders, reply: Reply, fail: Fail): void {
    const existing = this.scaleSets.get(key(rg, name));
    if (existing && headers['if-none-match'] === '*') {
      return fail(412, 'PreconditionFailed', `The scale set '${name}' already exists (If-None-Match: *).`);
    }
    if (!existing && this.denyCreate) {
      return fail(
        403,
        'AuthorizationFailed',
        `The client does not have authorization to perform action 'Microsoft.Compute/virtualMachineScaleSets/write' over scope '${this.scaleSetId(rg, name)}' or the scope is invalid.`,
      );
    }
    const resource = body as Record<string, any> | undefined;
    const props = resource?.properties;
    if (!resource || typeof resource !== 'object' || !props) return fail(400, 'InvalidRequestContent', 'The request content is missing properties.');
    if (typeof resource.location !== 'string') return fail(400, 'LocationRequired', 'The location property is required for this definition.');
    if (props.orchestrationMode !== 'Flexible') {
      return fail(400, 'InvalidParameter', "This fake supports only orchestrationMode 'Flexible'.");
    }
    if (existing && existing.resource.properties.orchestrationMode !== props.orchestrationMode) {
      return fail(409, 'PropertyChangeNotAllowed', "Changing property 'orchestrationMode' is not allowed.");
    }
    const capacity = Number(resource.sku?.capacity ?? 0);
    if (!Number.isInteger(capacity) || capacity < 0) return fail(400, 'InvalidParameter', 'sku.capacity must be a non-negative integer.');
    const quota = this.quotaError(rg, name, capacity);
    if (quota) return fail(409, 'OperationNotAllowed', quota);

    const completed = this.completeScaleSet(rg, name, structuredClone(resource));
    const operation = this.startOperation(() => {
      completed.properties.provisioningState = 'Succeeded';
      this.scaleSets.set(key(rg, name), { name, resourceGroup: rg, resource: completed });
      this.reconcileVms(rg, name);
    });
    const shown = structuredClone(completed);
    shown.properties.provisioningState = existing ? 'Updating' : 'Creating';
    reply(existing ? 200 : 201, shown, this.asyncHeaders(operation, false));
  }

  private patchScaleSet(rg: string, name: string, body: unknown, reply: Reply, fail: Fail): void {
    const set = this.scaleSets.get(key(rg, name));
    if (!set) return fail(404, 'ResourceNotFound', resourceNotFound('virtualMachineScaleSets', name, rg));
    const patch = (body ?? {}) as Record<string, any>;
    const updated = structuredClone(set.resource);
    if (patch.sku) {
      const capacity = patch.sku.capacity;
      if (capacity !== undefined && (!Number.isInteger(capacity) || capacity < 0)) {
        return fail(400, 'InvalidParameter', 'sku.capacity must be a non-negative integer.');
      }
      updated.sku = { ...updated.sku, ...patch.sku };
    }
    if (patch.tags) updated.tags = { ...updated.tags, ...patch.tags };
    if (patch.properties) updated.properties = deepMerge(updated.properties, patch.properties);
    const quota = this.quotaError(rg, name, updated.sku.capacity);
    if (quota) return fail(409, 'OperationNotAllowed', quota);

    const operation = this.startOperation(() => {
      const current = this.scaleSets.get(key(rg, name));
      if (!current) return;
      current.resource = { ...updated, properties: { ...updated.properties, provisioningState: 'Succeeded' } };
      this.reconcileVms(rg, name);
    });
    reply(200, { ...updated, properties: { ...updated.properties, provisioningState: 'Updating' } }, this.asyncHeaders(operation, false));
  }

  private deleteScaleSet(rg: string, name: string, reply: Reply, _fail: Fail): void {
    if (!this.scaleSets.has(key(rg, name))) return reply(204);
    const operation = this.startOperation(() => {
      this.scaleSets.delete(key(rg, name));
      for (const vm of this.vmsOf(rg, name)) this.vms.delete(vm.name.toLowerCase());
    });
    reply(202, undefined, this.asyncHeaders(operation, true));
  }

  private deleteInstances(rg: string, name: string, body: unknown, reply: Reply, fail: Fail): void {
    const set = this.scaleSets.get(key(rg, name));
    if (!set) return fail(404, 'ResourceNotFound', resourceNotFound('virtualMachineScaleSets', name, rg));
    const ids = (body as { instanceIds?: unknown })?.instanceIds;
    if (!Array.isArray(ids) || ids.length === 0 || !ids.every((id) => typeof id === 'string')) {
      return fail(400, 'InvalidParameter', "Required parameter 'instanceIds' is missing (null).");
    }
    const members = new Set(this.vmsOf(rg, name).map((vm) => vm.name.toLowerCase()));
    const unknown = ids.filter((id) => !members.has(id.toLowerCase()));
    if (unknown.length > 0) {
      return fail(400, 'InvalidParameter', `The virtual machines ${unknown.join(', ')} are not part of the scale set ${name}.`);
    }
    for (const id of ids) {
      const vm = this.vms.get(id.toLowerCase());
      if (vm) vm.provisioningState = 'Deleting';
    }
    const operation = this.startOperation(() => {
      for (const id of ids) this.vms.delete(id.toLowerCase());
      const current = this.scaleSets.get(key(rg, name));
      if (current) current.resource.sku.capacity = Math.max(0, current.resource.sku.capacity - ids.length);
    });
    reply(202, undefined, this.asyncHeaders(operation, true));
  }

  private listVms(rg: string, query: Record<string, string>, reply: Reply, fail: Fail): void {
    const filter = query['$filter'];
    let members: FakeVm[];
    if (filter !== undefined) {
      const match = /^\s*'?virtualMachineScaleSet\/id'?\s+eq\s+'([^']+)'\s*$/i.exec(filter);
      if (!match) return fail(400, 'InvalidParameter', `The $filter '${filter}' is not supported.`);
      const id = match[1].toLowerCase();
      members = [...this.vms.values()].filter((vm) => this.scaleSetId(vm.resourceGroup, vm.scaleSet).toLowerCase() === id);
    } else {
      if (query['$expand'] !== undefined) {
        return fail(400, 'InvalidParameter', "The $expand parameter can only be specified together with a valid $filter.");
      }
      members = [...this.vms.values()].filter((vm) => sameName(vm.resourceGroup, rg));
    }
    members.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.name.localeCompare(b.name));
    const skip = Number(query['$skiptoken'] ?? 0);
    const page = members.slice(skip, skip + this.listPageSize);
    const withView = query['$expand'] === 'instanceView';
    const value = page.map((vm) => this.vmResource(vm, withView));
    const next = skip + this.listPageSize < members.length ? skip + this.listPageSize : undefined;
    const nextLink =
      next === undefined
        ? undefined
        : `${this.endpoint}/subscriptions/${this.subscriptionId}/resourceGroups/${rg}/providers/Microsoft.Compute/virtualMachines?${new URLSearchParams({
            ...query,
            $skiptoken: String(next),
          }).toString()}`;
    reply(200, nextLink ? { value, nextLink } : { value });
  }

  private getVm(rg: string, name: string, query: Record<string, string>, reply: Reply, fail: Fail): void {
    const vm = this.vms.get(name.toLowerCase());
    if (!vm || !sameName(vm.resourceGroup, rg)) return fail(404, 'ResourceNotFound', resourceNotFound('virtualMachines', name, rg));
    reply(200, this.vmResource(vm, query['$expand'] === 'instanceView'));
  }

  private operationStatus(id: string, reply: Reply, fail: Fail): void {
    const op = this.operations.get(id);
    if (!op) return fail(404, 'NotFound', `Operation ${id} not found.`);
    if (op.status === 'InProgress') {
      if (op.pollsLeft > 0) {
        op.pollsLeft--;
      } else if (op.error) {
        op.status = 'Failed';
      } else {
        op.apply();
        op.status = 'Succeeded';
      }
    }
    const body: Record<string, unknown> = { name: id, status: op.status, startTime: op.startTime };
    if (op.status !== 'InProgress') body.endTime = new Date().toISOString();
    if (op.status === 'Failed') body.error = op.error;
    reply(200, body);
  }

  private operationResult(id: string, reply: Reply, fail: Fail): void {
    const op = this.operations.get(id);
    if (!op) return fail(404, 'NotFound', `Operation ${id} not found.`);
    if (op.status === 'InProgress') return reply(202, undefined, { location: this.operationUrl('operationResults', id) });
    if (op.status === 'Failed') return fail(409, op.error?.code ?? 'Failed', op.error?.message ?? 'The operation failed.');
    reply(200);
  }

  // ---- model ---------------------------------------------------------------------------------

  private startOperation(apply: () => void): PendingOperation {
    const op: PendingOperation = {
      id: randomUUID(),
      pollsLeft: this.lroPolls,
      status: 'InProgress',
      error: this.operationFailures.shift(),
      apply,
      startTime: new Date().toISOString(),
    };
    this.operations.set(op.id, op);
    return op;
  }

  private asyncHeaders(op: PendingOperation, withLocation: boolean): Record<string, string> {
    const headers: Record<string, string> = { 'azure-asyncoperation': this.operationUrl('operations', op.id) };
    if (withLocation) headers.location = this.operationUrl('operationResults', op.id);
    return headers;
  }

  private operationUrl(kind: 'operations' | 'operationResults', id: string): string {
    return `${this.endpoint}/subscriptions/${this.subscriptionId}/providers/Microsoft.Compute/locations/fakeregion/${kind}/${id}?api-version=${this.apiVersion}`;
  }

  private scaleSetId(rg: string, name: string): string {
    return `/subscriptions/${this.subscriptionId}/resourceGroups/${rg}/providers/Microsoft.Compute/virtualMachineScaleSets/${name}`;
  }

  private completeScaleSet(rg: string, name: string, resource: Record<string, any>): Record<string, any> {
    resource.id = this.scaleSetId(rg, name);
    resource.name = name;
    resource.type = 'Microsoft.Compute/virtualMachineScaleSets';
    resource.sku = { ...(resource.sku ?? {}), capacity: Number(resource.sku?.capacity ?? 0) };
    resource.properties = {
      ...resource.properties,
      provisioningState: resource.properties?.provisioningState ?? 'Succeeded',
      uniqueId: resource.properties?.uniqueId ?? randomUUID(),
      timeCreated: resource.properties?.timeCreated ?? new Date().toISOString(),
    };
    return resource;
  }

  /** Makes the scale set's VMs match its capacity: newest removed first, new ones start Creating. */
  private reconcileVms(rg: string, name: string): void {
    const set = this.scaleSets.get(key(rg, name));
    if (!set) return;
    const capacity: number = set.resource.sku.capacity;
    const members = [...this.vms.values()]
      .filter((vm) => sameName(vm.resourceGroup, rg) && sameName(vm.scaleSet, name))
      .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
    for (const vm of members.slice(0, Math.max(0, members.length - capacity))) this.vms.delete(vm.name.toLowerCase());
    const spot = set.resource.properties?.virtualMachineProfile?.priority === 'Spot';
    for (let i = members.length; i < capacity; i++) {
      const vmName = `${name}_${randomBytes(4).toString('hex')}`;
      this.vms.set(vmName.toLowerCase(), {
        name: vmName,
        scaleSet: name,
        resourceGroup: rg,
        priority: spot ? 'Spot' : 'Regular',
        provisioningState: this.creatingReads > 0 ? 'Creating' : 'Succeeded',
        powerState: this.creatingReads > 0 ? 'starting' : 'running',
        createdAt: new Date(),
        creatingReadsLeft: this.creatingReads,
      });
    }
  }

  private quotaError(rg: string, name: string, capacity: number): string | undefined {
    const others = [...this.vms.values()].filter((vm) => !(sameName(vm.resourceGroup, rg) && sameName(vm.scaleSet, name))).length;
    if (others + capacity <= this.vmQuota) return undefined;
    return (
      `Operation could not be completed as it results in exceeding approved Total Regional Cores quota. ` +
      `Location: fakeregion, Current Limit: ${this.vmQuota}, Current Usage: ${others}, Additional Required: ${capacity}.`
    );
  }

  private vmResource(vm: FakeVm, withInstanceView: boolean): Record<string, unknown> {
    if (vm.provisioningState === 'Creating') {
      if (vm.creatingReadsLeft > 0) vm.creatingReadsLeft--;
      else {
        vm.provisioningState = 'Succeeded';
        vm.powerState = 'running';
      }
    }
    const properties: Record<string, unknown> = {
      provisioningState: vm.provisioningState,
      virtualMachineScaleSet: { id: this.scaleSetId(vm.resourceGroup, vm.scaleSet) },
      priority: vm.priority,
      timeCreated: vm.createdAt.toISOString(),
      vmId: randomUUID(),
    };
    if (vm.priority === 'Spot') {
      properties.evictionPolicy = 'Delete';
      properties.billingProfile = { maxPrice: -1 };
    }
    if (withInstanceView) {
      properties.instanceView = {
        statuses: [
          { code: `ProvisioningState/${vm.provisioningState.toLowerCase()}`, level: 'Info' },
          { code: `PowerState/${vm.powerState}`, level: 'Info' },
        ],
      };
    }
    return {
      id: `/subscriptions/${this.subscriptionId}/resourceGroups/${vm.resourceGroup}/providers/Microsoft.Compute/virtualMachines/${vm.name}`,
      name: vm.name,
      type: 'Microsoft.Compute/virtualMachines',
      location: 'fakeregion',
      properties,
    };
  }
}

type Reply = (status: number, payload?: unknown, headers?: Record<string, string>) => void;
type Fail = (status: number, code: string, message: string, headers?: Record<string, string>) => void;
type Handler = (reply: Reply, fail: Fail, body: unknown, query: Record<string, string>, headers: IncomingHttpHeaders) => void;

function key(rg: string, name: string): string {
  return `${rg.toLowerCase()}/${name.toLowerCase()}`;
}

function sameName(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

function resourceNotFound(type: string, name: string, rg: string): string {
  return `The Resource 'Microsoft.Compute/${type}/${name}' under resource group '${rg}' was not found.`;
}

function deepMerge(target: Record<string, any>, patch: Record<string, any>): Record<string, any> {
  const out: Record<string, any> = { ...target };
  for (const [k, v] of Object.entries(patch)) {
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && out[k] && typeof out[k] === 'object' ? deepMerge(out[k], v) : v;
  }
  return out;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** A credential that hands out a fixed token: identity is not what these tests exercise. */
export const fixedTokenCredential = {
  token: 'fake-arm-token',
  async getToken(): Promise<{ token: string; expiresOnTimestamp: number }> {
    return { token: 'fake-arm-token', expiresOnTimestamp: Date.now() + 3_600_000 };
  },
};
