// Rollup renders import.meta.url in an IIFE as the executing <script>'s src,
// read once while the script runs (document.currentScript is null afterwards).
export const scriptBase: string | undefined = import.meta.url
