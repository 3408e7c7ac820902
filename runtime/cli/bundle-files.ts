/** The files of the runtime bundle: the runtime (App Service runs it) and the agent (bots fetch it). */
export const BUNDLE_FILES = { runtime: 'main.js', agent: 'agent.js' } as const;
