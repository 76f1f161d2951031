/**
 * `work`'s answer, or undefined once `ms` have passed first (the timer does not keep the process alive). For reads
 * a report may go without, such as a status page or a metrics scrape; a rejection still rejects.
 */
export async function answerWithin<T>(work: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(resolve, ms, undefined)
    timer.unref()
  })
  try {
    return await Promise.race([work, late])
  } finally {
    clearTimeout(timer)
  }
}
