/** Sample parameters of a resource that return data: the sandbox the OpenAPI document, /docs and the demo show. */
export interface ResourceExample {
  readonly resource: string
  readonly params: Readonly<Record<string, unknown>>
  /** One line on what the example finds, e.g. 一个跨部门项目（发改、住建、市场监管均有记录）. */
  readonly summary?: string
}

/** Grouped by resource id, in the order given. */
export function examplesByResource(
  examples: readonly ResourceExample[],
): ReadonlyMap<string, readonly ResourceExample[]> {
  const by = new Map<string, ResourceExample[]>()
  for (const example of examples) {
    const list = by.get(example.resource)
    if (list === undefined) by.set(example.resource, [example])
    else list.push(example)
  }
  return by
}
