/** Plugin and MIME type counts (desktop Chromium ships five PDF plugins; old headless had none). */
import type { PluginsSignal } from '@vigil-risk/core/protocol/signals'

export function getPlugins(): PluginsSignal {
  const pdf = (navigator as { pdfViewerEnabled?: boolean }).pdfViewerEnabled
  return {
    plugins: navigator.plugins?.length ?? 0,
    mimeTypes: navigator.mimeTypes?.length ?? 0,
    pdfViewer: typeof pdf === 'boolean' ? pdf : null,
  }
}
