/**
 * Runs a flow's declared command on the bot, with the run's inputs as JSON in
 * `HOSTED_BOTS_INPUTS`. Output (stdout and stderr, interleaved) is kept up to 64 KiB, the tail
 * winning. Aborting kills the whole process tree.
 */
import { spawn } from 'child_process';
import { capOutput, FlowExecutor, FlowResult, FlowTask, MAX_OUTPUT_BYTES } from './agent';

export class ShellExecutor implements FlowExecutor {
  run(task: FlowTask, signal: AbortSignal): Promise<FlowResult> {
    return new Promise((resolve, reject) => {
      const windows = process.platform === 'win32';
      const child = spawn(task.command, {
        shell: true,
        // Its own process group on POSIX, so a kill reaches the flow's children too.
        detached: !windows,
        windowsHide: true,
        env: { ...process.env, HOSTED_BOTS_INPUTS: JSON.stringify(task.inputs), HOSTED_BOTS_RUN_ID: task.runId, HOSTED_BOTS_FLOW: task.flow },
      });
      let output = '';
      const collect = (chunk: Buffer) => {
        output = capOutput(output + chunk.toString('utf8'), MAX_OUTPUT_BYTES);
      };
      child.stdout?.on('data', collect);
      child.stderr?.on('data', collect);
      const kill = () => {
        if (child.pid === undefined) return;
        if (windows) spawn('taskkill', ['/T', '/F', '/PID', String(child.pid)], { windowsHide: true });
        else {
          try {
            process.kill(-child.pid, 'SIGKILL');
          } catch {
            child.kill('SIGKILL');
          }
        }
      };
      signal.addEventListener('abort', kill, { once: true });
      child.on('error', (err) => {
        signal.removeEventListener('abort', kill);
        reject(err);
      });
      child.on('close', (code, sig) => {
        signal.removeEventListener('abort', kill);
        resolve({ exitCode: code ?? (sig ? 128 : 1), output });
      });
    });
  }
}
