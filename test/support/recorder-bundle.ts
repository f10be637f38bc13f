/**
 * The SDK's recorder as a classic script for a test page: `window.__startRecorder(window)`
 * starts one. Used by the recorder benchmark and the scripts that record traces through it.
 */
import { build } from 'esbuild'

export async function recorderBundle(options: { minify?: boolean } = {}): Promise<string> {
  const result = await build({
    stdin: { contents: `import { startRecorder } from './sdk/src/behavior/recorder'; window.__startRecorder = startRecorder`, resolveDir: process.cwd(), loader: 'ts' },
    bundle: true,
    format: 'iife',
    minify: options.minify === true,
    write: false,
  })
  return result.outputFiles[0]!.text
}
