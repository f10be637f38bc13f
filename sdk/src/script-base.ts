// Where the SDK script itself was loaded from. Only the IIFE build can know it
// (script-base.iife.ts); ESM users bundle the SDK into their own code and pass `endpoint`.
export const scriptBase: string | undefined = undefined
