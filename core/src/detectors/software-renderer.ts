import { valueOf, type Detection, type Signals } from './types'

const SOFTWARE = /SwiftShader|llvmpipe|softpipe|Software Rasterizer|Microsoft Basic Render|Mesa OffScreen|VMware|VirtualBox|Parallels|Android Emulator|goldfish|ranchu|Emulator/i

/**
 * A WebGL renderer that is a software rasteriser or a virtual machine's / emulator's
 * GPU. Bot farms run there; so do some real people (remote desktops, blocklisted GPUs),
 * which is why this is `emulator`, a weak reason, and never automation. Read from the
 * Web Worker, which creates its WebGL context off the page's main thread.
 */
export function detectSoftwareRenderer(signals: Signals): Detection | undefined {
  const hit = valueOf(signals, 'worker')?.webglRenderer
  if (typeof hit !== 'string' || !SOFTWARE.test(hit)) return undefined
  return { code: 'emulator', detector: 'software_renderer', detail: (SOFTWARE.exec(hit)?.[0] ?? 'software').toLowerCase() }
}
