/**
 * The contract between arm-sim and Azure: for each call arm-sim serves,
 * - every field it returns exists at the same JSON path in Microsoft's published example
 *   (arrays compared by element shape), so no field is invented;
 * - every field the driver reads is present, and exists in Microsoft's example too;
 * - every error body has the CloudError shape of definitions-excerpt.json.
 * The examples stay outside the project, in ../shared/azure-rest-examples beside the checkout.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ArmSim } from '../../../runtime/arm-sim';
import { RawAnswer, rawRequest, scaleSetPath, scaleSetRef } from './sim-fixture';

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
const EXAMPLES_DIR = path.resolve(REPO_ROOT, '..', 'shared', 'azure-rest-examples');
const examplesPresent = existsSync(EXAMPLES_DIR);

if (!examplesPresent) {
  if (process.env.CI === 'true') {
    test('the Azure REST reference examples are present', () => {
      throw new Error(
        `The Azure REST reference examples are missing: ${EXAMPLES_DIR} does not exist. ` +
          'CI must provide ../shared/azure-rest-examples beside the checkout; the arm-sim contract cannot be checked without it.',
      );
    });
  } else {
    console.warn(
      `arm-sim contract NOT checked: the Azure REST reference examples are absent (${EXAMPLES_DIR}). ` +
        'Put them beside the checkout to run this test.',
    );
  }
}

const describeContract = examplesPresent ? describe : describe.skip;

// ---- Shapes ---------------------------------------------------------------------------------

type Kind = 'object' | 'array' | 'string' | 'number' | 'boolean' | 'null';
type Shape = Map<string, Set<Kind>>;

function kindOf(value: unknown): Kind {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value as Kind;
}

/** Every JSON path in the value, `[]` standing for any array element, with the kinds seen there. */
function shapeOf(value: unknown, into: Shape = new Map(), at = '$'): Shape {
  const kinds = into.get(at) ?? new Set<Kind>();
  kinds.add(kindOf(value));
  into.set(at, kinds);
  if (Array.isArray(value)) {
    for (const element of value) shapeOf(element, into, `${at}[]`);
  } else if (value !== null && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) shapeOf(child, into, `${at}.${key}`);
  }
  return into;
}

/** Paths the sim returns that Microsoft's examples do not have there (or not with that kind). */
function invented(simBodies: unknown[], referenceBodies: unknown[]): string[] {
  const reference: Shape = new Map();
  for (const body of referenceBodies) shapeOf(body, reference);
  const sim: Shape = new Map();
  for (const body of simBodies) shapeOf(body, sim);
  const problems: string[] = [];
  for (const [at, kinds] of sim) {
    const known = reference.get(at);
    if (!known) problems.push(`${at} is not in the example`);
    else for (const kind of kinds) if (!known.has(kind)) problems.push(`${at} is a ${kind}, the example has ${[...known].join('/')}`);
  }
  return problems;
}

function missing(bodies: unknown[], paths: readonly string[]): string[] {
  const shape: Shape = new Map();
  for (const body of bodies) shapeOf(body, shape);
  return paths.filter((at) => !shape.has(at));
}

// ---- Microsoft's examples -------------------------------------------------------------------

interface Example {
  readonly parameters: Record<string, unknown>;
  readonly responses: Record<string, { body?: unknown; headers?: Record<string, string> }>;
}

function example(file: string): Example {
  return JSON.parse(readFileSync(path.join(EXAMPLES_DIR, file), 'utf8')) as Example;
}

function bodies(...examples: Array<[file: string, statuses: string[]]>): unknown[] {
  return examples.flatMap(([file, statuses]) => statuses.map((status) => example(file).responses[status].body));
}

/** ApiErrorBase, InnerError, CloudError and ApiError, as Microsoft defines them. */
function errorDefinitions(): Record<string, SchemaNode> {
  const excerpt = JSON.parse(readFileSync(path.join(EXAMPLES_DIR, 'definitions-excerpt.json'), 'utf8')) as {
    definitions: Record<string, SchemaNode>;
  };
  return excerpt.definitions;
}

interface SchemaNode {
  readonly type?: string;
  readonly $ref?: string;
  readonly items?: SchemaNode;
  readonly properties?: Record<string, SchemaNode>;
}

/** Checks a value against the CloudError definitions (properties, types, items, $ref). */
function schemaProblems(value: unknown, node: SchemaNode, definitions: Record<string, SchemaNode>, at: string): string[] {
  if (node.$ref) {
    const name = node.$ref.replace('#/definitions/', '');
    return schemaProblems(value, definitions[name], definitions, at);
  }
  if (node.type === 'string') return typeof value === 'string' ? [] : [`${at} should be a string`];
  if (node.type === 'array') {
    if (!Array.isArray(value)) return [`${at} should be an array`];
    return value.flatMap((element, i) => schemaProblems(element, node.items ?? {}, definitions, `${at}[${i}]`));
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [`${at} should be an object`];
  const properties = node.properties ?? {};
  return Object.entries(value).flatMap(([key, child]) =>
    properties[key] ? schemaProblems(child, properties[key], definitions, `${at}.${key}`) : [`${at}.${key} is not in the schema`],
  );
}

// ---- What the driver reads (runtime/azure/azure-driver.ts) ----------------------------------

/** What the driver reads of the scale set's own VM list (the call it makes). */
const DRIVER_READS_SCALE_SET_VMS = ['$.value[].name'] as const;
/** What the driver reads of one VM: the vmId that its attested data carries. */
const DRIVER_READS_VM = ['$.properties.vmId'] as const;
/** core-lro reads `status`, and `error.code`/`error.message` of a failed operation. */
const POLLER_READS_STATUS = ['$.status'] as const;
const POLLER_READS_FAILED_STATUS = ['$.status', '$.error.code', '$.error.message'] as const;

// ---- The answers arm-sim gives --------------------------------------------------------------

const ERROR_CASES = [
  'no bearer token',
  'no api-version',
  'unknown scale set',
  'unknown path',
  'bad capacity',
  'empty delete',
  'unknown VM',
  'unknown VM read',
  'throttle',
  'server error',
  'failed operation, by its Location',
  'unknown operation',
] as const;
type ErrorCase = (typeof ERROR_CASES)[number];

interface Captured {
  patch: RawAnswer;
  getScaleSet: RawAnswer[];
  deleteAccepted: RawAnswer;
  scaleSetVmPages: RawAnswer[];
  vms: RawAnswer[];
  statuses: RawAnswer[];
  failedStatus: RawAnswer;
  monitorDone: RawAnswer;
  errors: Record<ErrorCase, RawAnswer>;
}

const finance = scaleSetRef('vmss-finance');

async function until(check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('arm-sim did not reach the expected state in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function captureAnswers(sim: ArmSim, started: { url: string; ca: string }): Promise<Captured> {
  const call = (p: string, options?: Parameters<typeof rawRequest>[2]) => rawRequest(started, p, options);
  const statuses: RawAnswer[] = [];

  // Scale out, watching the operation from InProgress to Succeeded.
  const patch = await call(scaleSetPath(finance), { method: 'PATCH', body: { sku: { capacity: 3 } } });
  const getScaleSet = [await call(scaleSetPath(finance))];
  const patchStatus = String(patch.headers['azure-asyncoperation']);
  await until(async () => {
    const status = await call(patchStatus);
    statuses.push(status);
    return (status.json as { status: string }).status !== 'InProgress';
  });
  getScaleSet.push(await call(scaleSetPath(finance)));
  await until(async () => sim.vms().every((vm) => vm.provisioningState === 'Succeeded'));

  // VMs in every state: one Deleting, two Succeeded, one Creating.
  const deleteAccepted = await call(scaleSetPath(finance, '/delete'), { method: 'POST', body: { instanceIds: [sim.vms()[0].name] } });
  await call(scaleSetPath(finance), { method: 'PATCH', body: { sku: { capacity: 3 } } });
  const scaleSetVmPages = [await call(scaleSetPath(finance, '/virtualMachines'))];
  // Each VM in every state, as VirtualMachines_Get answers it.
  const vms = await Promise.all(
    sim.vms().map((vm) => call(`/subscriptions/${finance.subscriptionId}/resourceGroups/${finance.resourceGroup}/providers/Microsoft.Compute/virtualMachines/${vm.name}?api-version=2025-04-01`)),
  );

  // The delete's Location once it is done.
  const monitor = String(deleteAccepted.headers.location);
  let monitorDone = await call(monitor);
  await until(async () => {
    monitorDone = await call(monitor);
    return monitorDone.status !== 202;
  });

  // A scale-out that fails.
  sim.injectFault({ operation: 'setCapacity', kind: 'operation-failed', code: 'OSProvisioningTimedOut' });
  const failing = await call(scaleSetPath(finance), { method: 'PATCH', body: { sku: { capacity: 5 } } });
  let failedStatus = await call(String(failing.headers['azure-asyncoperation']));
  await until(async () => {
    failedStatus = await call(String(failing.headers['azure-asyncoperation']));
    return (failedStatus.json as { status: string }).status !== 'InProgress';
  });

  // A delete that fails, seen through its Location.
  sim.injectFault({ operation: 'deleteInstances', kind: 'operation-failed', code: 'AllocationFailed' });
  const failingDelete = await call(scaleSetPath(finance, '/delete'), { method: 'POST', body: { instanceIds: [sim.vms()[0].name] } });
  let monitorFailed = await call(String(failingDelete.headers.location));
  await until(async () => {
    monitorFailed = await call(String(failingDelete.headers.location));
    return monitorFailed.status !== 202;
  });

  sim.injectFault({ operation: 'listInstances', kind: 'throttle', retryAfterSeconds: 0 });
  sim.injectFault({ operation: 'setCapacity', kind: 'server-error' });
  const errors: Record<ErrorCase, RawAnswer> = {
    'no bearer token': await call(scaleSetPath(finance), { authorization: null }),
    'no api-version': await call(scaleSetPath(finance).replace(/\?.*$/, '')),
    'unknown scale set': await call(scaleSetPath(scaleSetRef('vmss-missing'))),
    'unknown path': await call('/subscriptions/x/providers/Microsoft.Compute/skus?api-version=1'),
    'bad capacity': await call(scaleSetPath(finance), { method: 'PATCH', body: { sku: { capacity: -1 } } }),
    'empty delete': await call(scaleSetPath(finance, '/delete'), { method: 'POST', body: { instanceIds: [] } }),
    'unknown VM': await call(scaleSetPath(finance, '/delete'), { method: 'POST', body: { instanceIds: ['vmss-finance_00000000'] } }),
    'unknown VM read': await call(`/subscriptions/${finance.subscriptionId}/resourceGroups/${finance.resourceGroup}/providers/Microsoft.Compute/virtualMachines/vmss-finance_00000000?api-version=2025-04-01`),
    // The two faults injected above are taken by these calls; the refusals before them come first.
    throttle: await call(scaleSetPath(finance, '/virtualMachines')),
    'server error': await call(scaleSetPath(finance), { method: 'PATCH', body: { sku: { capacity: 1 } } }),
    'failed operation, by its Location': monitorFailed,
    'unknown operation': await call(patchStatus.replace(/operations\/[^?]+/, 'operations/00000000-0000-0000-0000-000000000000')),
  };
  return { patch, getScaleSet, deleteAccepted, scaleSetVmPages, vms, statuses, failedStatus, monitorDone, errors };
}

describeContract('arm-sim answers hold to Microsoft\'s examples (api-version 2025-04-01)', () => {
  let sim: ArmSim;
  let captured: Captured;

  beforeAll(async () => {
    sim = new ArmSim({ bootSeconds: 0.05, deleteSeconds: 0.5, operationSeconds: 0.05 });
    sim.addScaleSet(finance, { location: 'northeurope' });
    const started = await sim.start();
    captured = await captureAnswers(sim, started);
  });

  afterAll(() => sim.stop());

  test('the examples are the 2025-04-01 ones', () => {
    for (const file of [
      'VirtualMachineScaleSet_Get.json',
      'VirtualMachineScaleSet_Create_WithSkuProfile.json',
      'VirtualMachineScaleSet_Update_MaximumSet_Gen.json',
      'VirtualMachineScaleSet_Update_MinimumSet_Gen.json',
      'VirtualMachineScaleSet_DeleteInstances_MaximumSet_Gen.json',
      'VirtualMachineScaleSet_DeleteInstances_MinimumSet_Gen.json',
      'VirtualMachineScaleSetVM_List_WithVirtualMachineResourceId.json',
      'VirtualMachineScaleSetVM_List_MinimumSet_Gen.json',
      'VirtualMachine_Get.json',
    ]) {
      expect([file, example(file).parameters['api-version']]).toEqual([file, '2025-04-01']);
    }
  });

  describe('no invented field', () => {
    test('PATCH of the scale set (setCapacity) answers only fields of the Update examples', () => {
      expect(captured.patch.status).toBe(200);
      const reference = bodies(
        ['VirtualMachineScaleSet_Update_MaximumSet_Gen.json', ['200']],
        ['VirtualMachineScaleSet_Update_MinimumSet_Gen.json', ['200']],
      );
      expect(invented([captured.patch.json], reference)).toEqual([]);
    });

    test('GET of the scale set answers only fields of the Get and Flexible create examples', () => {
      expect(captured.getScaleSet.map((a) => a.status)).toEqual([200, 200]);
      const reference = bodies(
        ['VirtualMachineScaleSet_Get.json', ['200']],
        ['VirtualMachineScaleSet_Create_WithSkuProfile.json', ['200', '201']],
      );
      expect(invented(captured.getScaleSet.map((a) => a.json), reference)).toEqual([]);
    });

    test('the scale set\'s VM list answers only fields of the Flexible VirtualMachineScaleSetVMs_List example', () => {
      expect(captured.scaleSetVmPages.map((a) => a.status)).toEqual([200]);
      expect((captured.scaleSetVmPages[0].json as { value: unknown[] }).value.length).toBeGreaterThanOrEqual(3);
      const reference = bodies(['VirtualMachineScaleSetVM_List_WithVirtualMachineResourceId.json', ['200']]);
      expect(invented(captured.scaleSetVmPages.map((a) => a.json), reference)).toEqual([]);
    });

    test('one VM (VirtualMachines_Get) answers only fields of the VirtualMachine_Get example', () => {
      expect(captured.vms.map((a) => a.status).every((status) => status === 200)).toBe(true);
      expect(captured.vms.length).toBeGreaterThanOrEqual(3);
      expect(invented(captured.vms.map((a) => a.json), bodies(['VirtualMachine_Get.json', ['200']]))).toEqual([]);
    });

    test('the delete answers 202 with no body and a Location header, as the DeleteInstances examples', () => {
      for (const file of ['VirtualMachineScaleSet_DeleteInstances_MaximumSet_Gen.json', 'VirtualMachineScaleSet_DeleteInstances_MinimumSet_Gen.json']) {
        const accepted = example(file).responses['202'];
        expect(accepted.body).toBeUndefined();
        expect(Object.keys(accepted.headers ?? {}).map((h) => h.toLowerCase())).toContain('location');
      }
      expect(captured.deleteAccepted.status).toBe(202);
      expect(captured.deleteAccepted.text).toBe('');
      expect(captured.deleteAccepted.headers.location).toEqual(expect.any(String));
    });

    test('a finished delete\'s Location answers 200 with no body, as the DeleteInstances examples\' 200', () => {
      for (const file of ['VirtualMachineScaleSet_DeleteInstances_MaximumSet_Gen.json', 'VirtualMachineScaleSet_DeleteInstances_MinimumSet_Gen.json']) {
        expect(example(file).responses['200']).toEqual({});
      }
      expect(captured.monitorDone.status).toBe(200);
      expect(captured.monitorDone.text).toBe('');
    });

    test('the operation status, which has no published example, holds only status and a CloudError error', () => {
      // README: the 2025-04-01 swagger does not model the status body (no OperationStatusResponse).
      const answers = [...captured.statuses, captured.failedStatus];
      for (const answer of answers) {
        expect(answer.status).toBe(200);
        expect(Object.keys(answer.json as object).every((key) => key === 'status' || key === 'error')).toBe(true);
        expect(['InProgress', 'Succeeded', 'Failed']).toContain((answer.json as { status: string }).status);
      }
      const { error } = captured.failedStatus.json as { error: unknown };
      expect(schemaProblems(error, { $ref: '#/definitions/ApiError' }, errorDefinitions(), '$.error')).toEqual([]);
    });
  });

  describe('every field the driver reads is there', () => {
    test('the scale set\'s VM list has the names the driver reads, as Microsoft\'s example does', () => {
      expect(missing(captured.scaleSetVmPages.map((a) => a.json), DRIVER_READS_SCALE_SET_VMS)).toEqual([]);
      const reference = bodies(['VirtualMachineScaleSetVM_List_WithVirtualMachineResourceId.json', ['200']]);
      expect(missing(reference, DRIVER_READS_SCALE_SET_VMS)).toEqual([]);
    });

    test("one VM has the vmId the driver reads, as Microsoft's example does, and each VM its own", () => {
      expect(missing(captured.vms.map((a) => a.json), DRIVER_READS_VM)).toEqual([]);
      expect(missing(bodies(['VirtualMachine_Get.json', ['200']]), DRIVER_READS_VM)).toEqual([]);
      const ids = captured.vms.map((a) => (a.json as { properties: { vmId: string } }).properties.vmId);
      expect(new Set(ids).size).toBe(ids.length);
    });

    test('the operation status has status, and a failed one error.code and error.message', () => {
      expect(missing(captured.statuses.map((a) => a.json), POLLER_READS_STATUS)).toEqual([]);
      expect(missing([captured.failedStatus.json], POLLER_READS_FAILED_STATUS)).toEqual([]);
      expect(captured.failedStatus.json).toMatchObject({ status: 'Failed', error: { code: 'OSProvisioningTimedOut' } });
    });
  });

  describe('error bodies are CloudErrors', () => {
    test('every refusal was an error status', () => {
      const notErrors = ERROR_CASES.filter((what) => captured.errors[what].status < 400);
      expect(notErrors).toEqual([]);
    });

    test.each(ERROR_CASES)('%s', (what) => {
      const answer = captured.errors[what];

      expect(answer.headers['content-type']).toMatch(/^application\/json/);
      expect(schemaProblems(answer.json, { $ref: '#/definitions/CloudError' }, errorDefinitions(), '$')).toEqual([]);
      expect(answer.json).toEqual({
        error: expect.objectContaining({ code: expect.stringMatching(/^[A-Za-z]+$/), message: expect.stringMatching(/\S/) }),
      });
    });
  });
});
