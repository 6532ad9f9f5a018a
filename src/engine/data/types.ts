/**
 * Data types shared by the dataset modules: examples, datasets, column mappings and the problem report.
 * Owns: the shapes only. Must not: read files or hold logic (so the UI can import it without node:fs).
 */

export type TaskName = 'cola' | 'sst2' | 'mrpc' | 'stsb' | 'qqp' | 'mnli' | 'mnli-mm' | 'qnli' | 'rte' | 'wnli'
export type Split = 'train' | 'dev' | 'test'
export type DataFormat = 'tsv' | 'csv' | 'jsonl'

export interface Example {
  /** Stable: the file's id/index column when there is one, else the 0-based data-row number. */
  id: string
  /** 1-based line in the file where the row starts (a quoted CSV field can span several lines). */
  line: number
  textA: string
  textB?: string
  /** Class index into Dataset.labelNames, or the float target for regression. */
  label?: number
}

export interface Dataset {
  name: string
  task?: TaskName
  file: string
  format: DataFormat
  /** SHA-256 (hex) of the file's bytes, exactly as on disk: ties masks and runs to the data. */
  sha256: string
  examples: Example[]
  labelNames?: string[]
  isRegression: boolean
  hasLabels: boolean
  /** Which columns fed which field (header names where the file has a header): for reports and the UI. */
  mapping?: ColumnMapping
}

/** Column names (files with a header, JSONL keys) or 0-based indices (any delimited file). */
export type ColumnRef = string | number

export interface ColumnMapping {
  textA: ColumnRef
  textB?: ColumnRef
  label?: ColumnRef
  id?: ColumnRef
}

export type ProblemCode =
  | 'column_count'
  | 'missing_column'
  | 'duplicate_column'
  | 'empty_text'
  | 'bad_text_value'
  | 'unknown_label'
  | 'missing_label'
  | 'bad_label_value'
  | 'label_out_of_range'
  | 'encoding'
  | 'binary_file'
  | 'nul_byte'
  | 'empty_file'
  | 'no_rows'
  | 'blank_line'
  | 'line_too_long'
  | 'unbalanced_quote'
  | 'stray_quote'
  | 'bad_json'
  | 'duplicate'
  | 'conflicting_duplicate'
  | 'duplicate_id'
  | 'train_dev_overlap'
  | 'unreadable_file'

export type Severity = 'error' | 'warning'
export type Field = 'textA' | 'textB' | 'label' | 'id'

export interface Problem {
  file: string
  /** 1-based line. File-level problems point at the line that shows them (1 for an empty file). */
  line: number
  /** Table column: its header name when the file has one, else its 0-based index. */
  column?: string | number
  field?: Field
  /** 1-based byte position within the line, where the fault is that precise (encoding, NUL, quotes). */
  offset?: number
  code: ProblemCode
  severity: Severity
  /** What is wrong, what was expected, and what to do about it. */
  message: string
}
