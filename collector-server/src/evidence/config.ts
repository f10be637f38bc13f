/**
 * A site's platform-evidence settings, from sites.json `attestation` (docs/webview.md,
 * docs/operations.md). Parsed once per load: keys are imported and app ids hashed here,
 * and a setting that cannot work is refused with the field it is about, so a bad edit
 * keeps the previous sites.json.
 */
import { appAttestSettings, type AppAttestConfig, type AppAttestSettings } from './app-attest'
import { playIntegritySettings, type PlayIntegrityConfig, type PlayIntegritySettings } from './play-integrity'
import { privateTokenSettings, type PrivateTokenConfig, type PrivateTokenSettings } from './private-token'

export interface AttestationConfig {
  appAttest?: AppAttestConfig
  playIntegrity?: PlayIntegrityConfig
  privateTokens?: PrivateTokenConfig
}

export interface SiteAttestation {
  appAttest?: AppAttestSettings
  playIntegrity?: PlayIntegritySettings
  privateTokens?: PrivateTokenSettings
}

export function attestationSettings(siteKey: string, config: AttestationConfig | undefined): SiteAttestation {
  if (config === undefined) return {}
  const where = `site ${siteKey}: attestation`
  if (typeof config !== 'object' || config === null) throw new Error(`${where} must be an object`)
  const known = ['appAttest', 'playIntegrity', 'privateTokens']
  const unknown = Object.keys(config).filter((k) => !known.includes(k))
  if (unknown.length > 0) throw new Error(`${where}: unknown setting ${unknown.join(', ')} (known: ${known.join(', ')})`)
  return {
    ...(config.appAttest !== undefined ? { appAttest: appAttestSettings(config.appAttest, `${where}.appAttest`) } : {}),
    ...(config.playIntegrity !== undefined ? { playIntegrity: playIntegritySettings(config.playIntegrity, `${where}.playIntegrity`) } : {}),
    ...(config.privateTokens !== undefined ? { privateTokens: privateTokenSettings(config.privateTokens, `${where}.privateTokens`) } : {}),
  }
}
