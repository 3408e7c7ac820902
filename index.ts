/** hosted-rpa-bots: the public API of the construct library and stacks. */
export * from './constructs';
export * from './stacks';
