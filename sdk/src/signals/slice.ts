/**
 * Time slicing: work through a list, returning to the event loop whenever a slice has
 * run for `budgetMs`, so that no task the SDK runs grows long (50 ms) on slow devices.
 */
export const nextTask = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0))

/** Starts in a fresh task: the caller's task may already have spent its share. */
export async function sliced<T>(items: readonly T[], each: (item: T) => void, budgetMs = 10): Promise<void> {
  await nextTask()
  let sliceStart = performance.now()
  for (const item of items) {
    if (performance.now() - sliceStart > budgetMs) {
      await nextTask()
      sliceStart = performance.now()
    }
    each(item)
  }
}
