/**
 * The GLUE task registry: for each task its label names in the order of Hugging Face's GLUE processors
 * (class index i is labelNames[i], which is what a trained head's logits mean), its metrics, and the
 * exact layout and quirks of each split's file; plus recognising a task from a file's header and rows.
 * Owns: facts about GLUE files. Must not: read files (the loaders do) or guess silently: every detection
 * says why, and how sure it is.
 */
import type { ColumnMapping, Split, TaskName } from './types'

export interface GlueFileLayout {
  /** File name inside the task's folder. */
  file: string
  header: boolean
  /** Column count of header-less files (files with a header take it from the header). */
  columns?: number
  mapping: ColumnMapping
  /** Take the label from the last column and tolerate empty stray columns before it (RTE train). */
  labelFromLast?: boolean
  /** What is odd about this file, for the UI and for whoever changes the reader. */
  quirks: string[]
}

export interface TaskSpec {
  name: TaskName
  displayName: string
  /** Folder name in the GLUE distribution. */
  dir: string
  description: string
  /** Class names, index order; undefined for regression. */
  labelNames?: string[]
  numLabels: number
  isRegression: boolean
  /** Regression targets outside this range are reported as warnings. */
  labelRange?: [number, number]
  metrics: string[]
  splits: Record<Split, GlueFileLayout>
}

const BINARY = ['0', '1']
const NOTE_NO_QUOTING = 'read without quoting: texts hold bare double quotes'

const pairLayout = (id: string, a: string, b: string, label: string) => ({ id, textA: a, textB: b, label })

export const TASKS: Record<TaskName, TaskSpec> = {
  cola: {
    name: 'cola', displayName: 'CoLA', dir: 'CoLA', description: 'Corpus of Linguistic Acceptability: is the sentence grammatical?',
    labelNames: BINARY, numLabels: 2, isRegression: false, metrics: ['matthews_corrcoef'],
    splits: {
      train: { file: 'train.tsv', header: false, columns: 4, mapping: { textA: 3, label: 1 }, quirks: ['no header; 4 columns: source, label, original judgement, sentence', 'ids are row numbers'] },
      dev: { file: 'dev.tsv', header: false, columns: 4, mapping: { textA: 3, label: 1 }, quirks: ['no header; 4 columns: source, label, original judgement, sentence', 'no line break after the last row'] },
      test: { file: 'test.tsv', header: true, mapping: { id: 'index', textA: 'sentence' }, quirks: ['header index/sentence; no labels'] }
    }
  },
  sst2: {
    name: 'sst2', displayName: 'SST-2', dir: 'SST-2', description: 'Stanford Sentiment Treebank: is the phrase positive?',
    labelNames: BINARY, numLabels: 2, isRegression: false, metrics: ['accuracy'],
    splits: {
      train: { file: 'train.tsv', header: true, mapping: { textA: 'sentence', label: 'label' }, quirks: ['a space precedes the tab after each sentence; texts are kept verbatim (tokenizers drop it)', 'lower-cased, tokenized text', 'ids are row numbers'] },
      dev: { file: 'dev.tsv', header: true, mapping: { textA: 'sentence', label: 'label' }, quirks: ['a space precedes the tab after each sentence; texts are kept verbatim'] },
      test: { file: 'test.tsv', header: true, mapping: { id: 'index', textA: 'sentence' }, quirks: ['header index/sentence; no labels'] }
    }
  },
  mrpc: {
    name: 'mrpc', displayName: 'MRPC', dir: 'MRPC', description: 'Microsoft Research Paraphrase Corpus: are the two sentences paraphrases?',
    labelNames: BINARY, numLabels: 2, isRegression: false, metrics: ['accuracy', 'f1'],
    splits: {
      train: { file: 'train.tsv', header: true, mapping: { textA: '#1 String', textB: '#2 String', label: 'Quality' }, quirks: ['starts with a UTF-8 byte-order mark', 'label is the first column (Quality)', NOTE_NO_QUOTING, 'ids are row numbers'] },
      dev: { file: 'dev.tsv', header: true, mapping: { textA: '#1 String', textB: '#2 String', label: 'Quality' }, quirks: ['starts with a UTF-8 byte-order mark', 'label is the first column (Quality)', NOTE_NO_QUOTING] },
      test: { file: 'test.tsv', header: true, mapping: { id: 'index', textA: '#1 String', textB: '#2 String' }, quirks: ['no labels', NOTE_NO_QUOTING] }
    }
  },
  stsb: {
    name: 'stsb', displayName: 'STS-B', dir: 'STS-B', description: 'Semantic Textual Similarity Benchmark: similarity score 0-5 (regression)',
    numLabels: 1, isRegression: true, labelRange: [0, 5], metrics: ['pearson', 'spearmanr'],
    splits: {
      train: { file: 'train.tsv', header: true, mapping: pairLayout('index', 'sentence1', 'sentence2', 'score'), quirks: ['10 columns; the float score (0-5) is the last'] },
      dev: { file: 'dev.tsv', header: true, mapping: pairLayout('index', 'sentence1', 'sentence2', 'score'), quirks: ['10 columns; the float score (0-5) is the last'] },
      test: { file: 'test.tsv', header: true, mapping: { id: 'index', textA: 'sentence1', textB: 'sentence2' }, quirks: ['9 columns; no score'] }
    }
  },
  qqp: {
    name: 'qqp', displayName: 'QQP', dir: 'QQP', description: 'Quora Question Pairs: are the two questions duplicates?',
    labelNames: BINARY, numLabels: 2, isRegression: false, metrics: ['accuracy', 'f1'],
    splits: {
      train: { file: 'train.tsv', header: true, mapping: pairLayout('id', 'question1', 'question2', 'is_duplicate'), quirks: ['columns id, qid1, qid2, question1, question2, is_duplicate'] },
      dev: { file: 'dev.tsv', header: true, mapping: pairLayout('id', 'question1', 'question2', 'is_duplicate'), quirks: ['columns id, qid1, qid2, question1, question2, is_duplicate'] },
      test: { file: 'test.tsv', header: true, mapping: { id: 'id', textA: 'question1', textB: 'question2' }, quirks: ['columns id, question1, question2; no labels'] }
    }
  },
  mnli: {
    name: 'mnli', displayName: 'MNLI (matched)', dir: 'MNLI', description: 'Multi-Genre NLI, dev/test on the training genres: does the premise entail the hypothesis?',
    labelNames: ['contradiction', 'entailment', 'neutral'], numLabels: 3, isRegression: false, metrics: ['accuracy'],
    splits: {
      train: { file: 'train.tsv', header: true, mapping: pairLayout('index', 'sentence1', 'sentence2', 'gold_label'), quirks: ['12 columns incl. parses; label is gold_label (last)', 'shared by mnli and mnli-mm'] },
      dev: { file: 'dev_matched.tsv', header: true, mapping: pairLayout('index', 'sentence1', 'sentence2', 'gold_label'), quirks: ['16 columns (label1-label5 annotator votes, gold_label last); k-shot samples keep the 12-column train layout'] },
      test: { file: 'test_matched.tsv', header: true, mapping: { id: 'index', textA: 'sentence1', textB: 'sentence2' }, quirks: ['10 columns; no labels'] }
    }
  },
  'mnli-mm': {
    name: 'mnli-mm', displayName: 'MNLI (mismatched)', dir: 'MNLI', description: 'Multi-Genre NLI, dev/test on genres unseen in training',
    labelNames: ['contradiction', 'entailment', 'neutral'], numLabels: 3, isRegression: false, metrics: ['accuracy'],
    splits: {
      train: { file: 'train.tsv', header: true, mapping: pairLayout('index', 'sentence1', 'sentence2', 'gold_label'), quirks: ['the MNLI train set (shared with mnli)'] },
      dev: { file: 'dev_mismatched.tsv', header: true, mapping: pairLayout('index', 'sentence1', 'sentence2', 'gold_label'), quirks: ['16 columns (label1-label5 annotator votes, gold_label last)'] },
      test: { file: 'test_mismatched.tsv', header: true, mapping: { id: 'index', textA: 'sentence1', textB: 'sentence2' }, quirks: ['10 columns; no labels'] }
    }
  },
  qnli: {
    name: 'qnli', displayName: 'QNLI', dir: 'QNLI', description: 'Question NLI: does the sentence answer the question?',
    labelNames: ['entailment', 'not_entailment'], numLabels: 2, isRegression: false, metrics: ['accuracy'],
    splits: {
      train: { file: 'train.tsv', header: true, mapping: pairLayout('index', 'question', 'sentence', 'label'), quirks: [] },
      dev: { file: 'dev.tsv', header: true, mapping: pairLayout('index', 'question', 'sentence', 'label'), quirks: [] },
      test: { file: 'test.tsv', header: true, mapping: { id: 'index', textA: 'question', textB: 'sentence' }, quirks: ['no labels'] }
    }
  },
  rte: {
    name: 'rte', displayName: 'RTE', dir: 'RTE', description: 'Recognizing Textual Entailment',
    labelNames: ['entailment', 'not_entailment'], numLabels: 2, isRegression: false, metrics: ['accuracy'],
    splits: {
      train: { file: 'train.tsv', header: true, mapping: pairLayout('index', 'sentence1', 'sentence2', 'label'), labelFromLast: true, quirks: ['the row with index 2164 (line 2166) has an empty stray column before the label: the label is taken from the last column', NOTE_NO_QUOTING] },
      dev: { file: 'dev.tsv', header: true, mapping: pairLayout('index', 'sentence1', 'sentence2', 'label'), labelFromLast: true, quirks: [] },
      test: { file: 'test.tsv', header: true, mapping: { id: 'index', textA: 'sentence1', textB: 'sentence2' }, quirks: ['no labels'] }
    }
  },
  wnli: {
    name: 'wnli', displayName: 'WNLI', dir: 'WNLI', description: 'Winograd NLI: is the pronoun substitution entailed?',
    labelNames: BINARY, numLabels: 2, isRegression: false, metrics: ['accuracy'],
    splits: {
      train: { file: 'train.tsv', header: true, mapping: pairLayout('index', 'sentence1', 'sentence2', 'label'), quirks: ['same header as RTE; labels are 0/1'] },
      dev: { file: 'dev.tsv', header: true, mapping: pairLayout('index', 'sentence1', 'sentence2', 'label'), quirks: ['dev is adversarial to train: the majority class beats most models'] },
      test: { file: 'test.tsv', header: true, mapping: { id: 'index', textA: 'sentence1', textB: 'sentence2' }, quirks: ['no labels'] }
    }
  }
}

export const TASK_NAMES = Object.keys(TASKS) as TaskName[]

/**
 * Readable names of the classes of the GLUE tasks whose files write them as 0/1, index order as in the
 * files (and in the datasets library's GLUE builder): what an exported checkpoint's id2label says.
 * Tasks whose files name their classes (RTE, QNLI, MNLI) use those names as they are.
 */
export const GLUE_CLASS_NAMES: Partial<Record<TaskName, string[]>> = {
  cola: ['unacceptable', 'acceptable'],
  sst2: ['negative', 'positive'],
  mrpc: ['not_equivalent', 'equivalent'],
  qqp: ['not_duplicate', 'duplicate'],
  wnli: ['not_entailment', 'entailment']
}

export function isTaskName(s: string): s is TaskName {
  return Object.prototype.hasOwnProperty.call(TASKS, s)
}

export function getTask(name: TaskName | string): TaskSpec {
  const key = name.toLowerCase().replace(/[_\s]/g, '-').replace(/^sst-2$/, 'sst2').replace(/^sts-b$/, 'stsb')
  if (!isTaskName(key)) throw new Error(`unknown task '${name}'; known tasks: ${TASK_NAMES.join(', ')}`)
  return TASKS[key]
}

/** Guesses the split from a file name: train / dev (dev, valid, validation, dev_matched...) / test. */
export function splitFromFileName(file: string): Split | undefined {
  const base = file.split(/[\\/]/).pop()?.toLowerCase() ?? ''
  if (/train/.test(base)) return 'train'
  if (/dev|valid/.test(base)) return 'dev'
  if (/test/.test(base)) return 'test'
  return undefined
}

export interface DetectedTask {
  task: TaskName
  split?: Split
  /** 0..1: 1 = the exact GLUE header, with rows to match; ≤ 0.6 = a guess the user should confirm. */
  confidence: number
  reason: string
}

const MNLI_MATCHED = new Set(['fiction', 'government', 'slate', 'telephone', 'travel'])
const MNLI_MISMATCHED = new Set(['facetoface', 'letters', 'nineeleven', 'oup', 'verbatim'])

function folderHint(file: string): TaskName | undefined {
  const parts = file.split(/[\\/]/).map((p) => p.toLowerCase())
  for (const p of parts.reverse()) {
    for (const t of TASK_NAMES) if (t !== 'mnli-mm' && p === TASKS[t].dir.toLowerCase()) return t
  }
  return undefined
}

function splitFor(file: string, hasLabels: boolean): Split | undefined {
  if (!hasLabels) return 'test'
  const s = splitFromFileName(file)
  return s === 'test' ? undefined : s
}

/**
 * Recognises a GLUE file from its first line split into fields (BOM already removed), a sample of the
 * following lines split the same way, and its path (folder and file names break ties that the columns
 * cannot, e.g. RTE and WNLI test files share a header).
 */
export function matchTask(first: string[], rows: string[][], file = ''): DetectedTask | null {
  const h = first.map((s) => s.trim())
  const key = h.join('\t')
  const base = file.split(/[\\/]/).pop() ?? ''
  const folder = folderHint(file)
  const col = (i: number) => rows.map((r) => r[i] ?? '')
  const share = (vals: string[], ok: (v: string) => boolean) => (vals.length === 0 ? 0 : vals.filter(ok).length / vals.length)
  const det = (task: TaskName, hasLabels: boolean, confidence: number, reason: string): DetectedTask => ({ task, split: splitFor(file, hasLabels), confidence, reason })

  switch (key) {
    case 'sentence\tlabel':
      return det('sst2', true, 1, 'header "sentence, label" is SST-2\'s train/dev layout')
    case 'Quality\t#1 ID\t#2 ID\t#1 String\t#2 String':
      return det('mrpc', true, 1, 'header "Quality, #1 ID, #2 ID, #1 String, #2 String" is MRPC\'s train/dev layout')
    case 'index\t#1 ID\t#2 ID\t#1 String\t#2 String':
      return det('mrpc', false, 1, 'header "index, #1 ID, #2 ID, #1 String, #2 String" is MRPC\'s test layout')
    case 'index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore':
      return det('stsb', true, 1, 'the 10-column STS-B header ending in "score"')
    case 'index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2':
      return det('stsb', false, 1, 'the 9-column STS-B test header')
    case 'id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate':
      return det('qqp', true, 1, 'header "id, qid1, qid2, question1, question2, is_duplicate" is QQP\'s layout')
    case 'id\tquestion1\tquestion2':
      return det('qqp', false, 0.95, 'header "id, question1, question2" is QQP\'s test layout')
    case 'index\tquestion\tsentence\tlabel':
      return det('qnli', true, 1, 'header "index, question, sentence, label" is QNLI\'s layout')
    case 'index\tquestion\tsentence':
      return det('qnli', false, 0.95, 'header "index, question, sentence" is QNLI\'s test layout')
    case 'index\tsentence1\tsentence2\tlabel': {
      const labels = col(h.length - 1).map((s) => s.trim())
      const nli = share(labels, (v) => v === 'entailment' || v === 'not_entailment')
      const bin = share(labels, (v) => v === '0' || v === '1')
      if (nli > 0.9) return det('rte', true, 1, 'header "index, sentence1, sentence2, label" with labels entailment/not_entailment: RTE')
      if (bin > 0.9) return det('wnli', true, 1, 'header "index, sentence1, sentence2, label" with labels 0/1: WNLI')
      return det(folder === 'wnli' ? 'wnli' : 'rte', true, 0.5, 'header "index, sentence1, sentence2, label" is shared by RTE and WNLI and the labels fit neither; check the task')
    }
    case 'index\tsentence1\tsentence2': {
      if (folder === 'rte' || folder === 'wnli') return det(folder, false, 0.85, `header "index, sentence1, sentence2" is shared by the RTE and WNLI test files; the folder name says ${TASKS[folder].displayName}`)
      return det('rte', false, 0.4, 'header "index, sentence1, sentence2" is shared by the RTE and WNLI test files (and MNLI-style data); nothing else tells them apart: confirm the task')
    }
    case 'index\tsentence': {
      if (folder === 'cola' || folder === 'sst2') return det(folder, false, 0.9, `header "index, sentence" is shared by the CoLA and SST-2 test files; the folder name says ${TASKS[folder].displayName}`)
      // SST-2 is lower-cased and tokenized ("it 's", "film ."); CoLA is ordinary prose.
      const texts = col(1)
      const sstLike = share(texts, (t) => t === t.toLowerCase() && /\s[.,'!?]|\s's\b/.test(t))
      if (sstLike > 0.6) return det('sst2', false, 0.75, `header "index, sentence" (CoLA and SST-2 test files); ${Math.round(sstLike * 100)}% of the sampled texts are lower-cased and tokenized like SST-2`)
      return det('cola', false, 0.7, 'header "index, sentence" (CoLA and SST-2 test files); the sampled texts are ordinary cased prose like CoLA')
    }
  }

  if (h[0] === 'index' && h[1] === 'promptID' && h[2] === 'pairID' && h[3] === 'genre' && h.includes('sentence1') && h.includes('sentence2')) {
    const hasLabels = h.includes('gold_label')
    const genres = col(3).map((g) => g.trim()).filter((g) => g !== '')
    const mm = genres.filter((g) => MNLI_MISMATCHED.has(g)).length
    const m = genres.filter((g) => MNLI_MATCHED.has(g)).length
    const byName = /mismatched/i.test(base) ? 'mnli-mm' : /matched/i.test(base) ? 'mnli' : undefined
    const split = splitFor(file, hasLabels)
    if (split === 'train') return { task: 'mnli', split, confidence: 1, reason: `the MNLI header (${h.length} columns); the train set serves both mnli and mnli-mm` }
    if (mm > 0 && m === 0) return { task: 'mnli-mm', split, confidence: 1, reason: `the MNLI header, and every sampled genre is one held out of training (${[...new Set(genres)].join(', ')}): mismatched` }
    if (m > 0 && mm === 0) return { task: 'mnli', split, confidence: byName === 'mnli-mm' ? 0.6 : 1, reason: `the MNLI header, and every sampled genre is a training genre (${[...new Set(genres)].join(', ')}): matched${byName === 'mnli-mm' ? ', though the file name says mismatched' : ''}` }
    return { task: byName ?? 'mnli', split, confidence: 0.8, reason: `the MNLI header (${h.length} columns); ${byName ? 'the file name decides matched/mismatched' : 'matched or mismatched could not be told from the genres'}` }
  }

  // CoLA train/dev: no header; source code, 0/1, an optional original '*' judgement, the sentence.
  const cand = [h, ...rows.map((r) => r.map((s) => s.trim()))].filter((r) => r.length > 1)
  if (cand.length > 0 && cand.every((r) => r.length === 4)) {
    const colaLike = share(cand.map((r) => `${r[1]}\t${r[2]}`), (v) => /^[01]\t[*?#]{0,3}$/.test(v))
    if (colaLike > 0.98) return det('cola', true, 0.95, 'no header; 4 columns with 0/1 labels and CoLA\'s original-judgement column (empty, *, ?, ??, *?)')
  }

  if (folder) {
    return { task: folder, split: splitFromFileName(file), confidence: 0.3, reason: `the columns match no GLUE layout (${h.slice(0, 6).join(', ')}${h.length > 6 ? ', …' : ''}); only the folder name suggests ${TASKS[folder].displayName}` }
  }
  return null
}
