import { valueOf, type Detection, type Signals } from './types'

const SOFTWARE = /SwiftShader|llvmpipe|softpipe|Software Rasterizer|Microsoft Basic Render|Mesa OffScreen|VMware|VirtualBox|Parallels|Android Emulator|goldfish|ranchu|Emulator/i

/**
 * A WebGL renderer that is a software rasteriser or a virtual machine's / emulator's
 * GPU. Bot farms run there; so do some real people (remote desktops, blocklisted GPUs),
 * which is why this is `emulator`, a weak reason, and never automation.
 */
export function detectSoftwareRenderer(signals: Signals): Detection | undefined {
  const renderers = [valueOf(signals, 'webgl')?.renderer, valueOf(signals, 'worker')?.webglRenderer]
  const hit = renderers.find((r) => typeof r === 'string' && SOFTWARE.test(r))
  if (!hit) return undefined
  return { code: 'emulator', detector: 'software_renderer', detail: (SOFTWARE.exec(hit)?.[0] ?? 'software').toLowerCase() }
}
