declare module 'parse-prometheus-text-format' {
  /** Parses the Prometheus text exposition format into metric families (prom2json shape). */
  // biome-ignore lint/style/noDefaultExport: the package’s own (CommonJS default) export
  export default function parsePrometheusTextFormat(text: string): unknown[]
}
