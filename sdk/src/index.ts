/**
 * Vigil browser SDK.
 *
 *   const vigil = Vigil.init({ endpoint: 'https://collector.example', siteKey: 'demo' })
 *   const token = await vigil.getToken('checkout')   // send it with your own request
 *   vigil.destroy()
 */
export { init } from './client'
export type { VigilClient, GetTokenOptions } from './client'
export type { VigilOptions } from './options'
export { VigilError } from './errors'
export type { VigilErrorCode } from './errors'
export { SDK_VERSION as version } from './version'
