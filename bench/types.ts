/** What every benchmark suite returns: rows for the table and the JSON in bench/results/. */
export interface Row {
  metric: string
  value: number
  unit: string
  /** value / baseline value, where a baseline row exists. */
  ratio?: number
  baseline?: boolean
  budget?: number
  pass?: boolean
}

export interface SuiteResult {
  suite: string
  rows: Row[]
  notes?: string[]
}
