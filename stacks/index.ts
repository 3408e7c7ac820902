export * from './backend';
export * from './hosted-bots-stack';
export * from './bot-images-stack';
export * from './promotion';
