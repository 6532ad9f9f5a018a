/**
 * Plain tables (header + string rows) rendered as CSV, Markdown or LaTeX: the comparison table export and
 * every chart's text alternative. Same rules as the engine's src/engine/runs/compare.ts renderTable
 * (restated because the renderer must not import engine code).
 * Must not: format numbers (rows arrive as display strings).
 */
export type TableFormat = 'csv' | 'markdown' | 'latex'
export const TABLE_FORMATS: readonly TableFormat[] = ['csv', 'markdown', 'latex']
export const TABLE_EXTENSIONS: Record<TableFormat, string> = { csv: 'csv', markdown: 'md', latex: 'tex' }

export interface PlainTable {
  header: string[]
  rows: string[][]
}

function csvCell(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

function latexCell(s: string): string {
  return s
    .replace(/\\/g, '\\textbackslash{}')
    .replace(/([&%$#_{}])/g, '\\$1')
    .replace(/~/g, '\\textasciitilde{}')
    .replace(/\^/g, '\\textasciicircum{}')
}

export function renderTable(t: PlainTable, format: TableFormat): string {
  switch (format) {
    case 'csv':
      return [t.header, ...t.rows].map((r) => r.map(csvCell).join(',')).join('\n') + '\n'
    case 'markdown': {
      const esc = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ')
      return (
        [`| ${t.header.map(esc).join(' | ')} |`, `|${t.header.map(() => '---').join('|')}|`, ...t.rows.map((r) => `| ${r.map(esc).join(' | ')} |`)].join('\n') + '\n'
      )
    }
    case 'latex': {
      const cols = t.header.map(() => 'l').join('')
      return (
        [`\\begin{tabular}{${cols}}`, '\\hline', t.header.map(latexCell).join(' & ') + ' \\\\', '\\hline', ...t.rows.map((r) => r.map(latexCell).join(' & ') + ' \\\\'), '\\hline', '\\end{tabular}'].join('\n') +
        '\n'
      )
    }
  }
}
