/**
 * The flow executor of simulated bots (arm-sim, the demo, tests and benchmarks): a flow "runs"
 * for `inputs.simulateSeconds` (default 1) and exits with `inputs.exitCode` (default 0),
 * printing `inputs.output` when given. Everything around it — agent, HTTP, queue — is real.
 */
import { FlowExecutor, FlowResult, FlowTask } from './agent';

export class SimulatedExecutor implements FlowExecutor {
  constructor(private readonly vmName: string) {}

  run(task: FlowTask, signal: AbortSignal): Promise<FlowResult> {
    const seconds = Number(task.inputs.simulateSeconds ?? 1);
    const exitCode = Number(task.inputs.exitCode ?? 0);
    const extra = typeof task.inputs.output === 'string' ? `\n${task.inputs.output}` : '';
    return new Promise((resolve) => {
      const finish = (result: FlowResult) => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        resolve(result);
      };
      const onAbort = () => finish({ exitCode: 130, output: `${task.flow} stopped on ${this.vmName}` });
      const timer = setTimeout(
        () => finish({ exitCode: Number.isFinite(exitCode) ? exitCode : 1, output: `${task.flow} ran for ${seconds}s on ${this.vmName}${extra}` }),
        Math.max(0, Number.isFinite(seconds) ? seconds * 1000 : 1000),
      );
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}
