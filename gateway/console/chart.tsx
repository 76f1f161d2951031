/** @jsxImportSource hono/jsx */
import type { Lang } from './i18n.js'

/**
 * A chart as data: drawn in the browser by ECharts (canvas) from the `data-chart` attribute, since the CSP allows
 * no inline script. The same numbers stand in a table beside it, for screen readers and for copying.
 */
export interface ChartSpec {
  readonly kind: 'bar' | 'stacked-bar' | 'line'
  /** The x axis: days, departments, resources … */
  readonly categories: readonly string[]
  readonly series: readonly { readonly name: string; readonly data: readonly number[] }[]
  readonly yName?: string
  /** Values are percentages: the axis ends at 100. */
  readonly percent?: boolean
}

export function Chart(props: { id: string; title: string; lang: Lang; spec: ChartSpec; tableLabel?: string }) {
  const { spec } = props
  const data = JSON.stringify({ ...spec, lang: props.lang })
  return (
    <figure aria-labelledby={`${props.id}-title`}>
      <figcaption id={`${props.id}-title`}>{props.title}</figcaption>
      <div class="chart" id={props.id} data-chart={data} role="img" aria-label={props.title} />
      <details>
        <summary>{props.tableLabel ?? (props.lang === 'en' ? 'Data table' : '数据表')}</summary>
        <table>
          <thead>
            <tr>
              <th scope="col">{spec.yName ?? ''}</th>
              {spec.series.map((s) => (
                <th scope="col">{s.name}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {spec.categories.map((category, i) => (
              <tr>
                <th scope="row">{category}</th>
                {spec.series.map((s) => (
                  <td>{s.data[i] ?? 0}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  )
}
