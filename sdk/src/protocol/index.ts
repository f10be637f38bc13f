export * from './canonical'
export * from './base64url'
export * from './payload'
