/**
 * BERT configuration and the parameter layout of Hugging Face's BertForSequenceClassification.
 *
 * Owns: parsing/validating config.json, and the canonical list of parameter names and shapes
 * (PyTorch layout: Linear weights are [out, in]). Every other module (checkpoint IO, masks, Fisher,
 * optimizer) addresses parameters by these names, so masks and checkpoints map one to one.
 * Must not: touch tensors or the file system.
 */

export type HiddenAct = 'gelu' | 'gelu_new' | 'gelu_pytorch_tanh' | 'relu'

/** The config.json fields the engine uses, in Hugging Face's own (snake_case) spelling. */
export interface BertConfig {
  vocab_size: number
  hidden_size: number
  num_hidden_layers: number
  num_attention_heads: number
  intermediate_size: number
  hidden_act: HiddenAct
  hidden_dropout_prob: number
  attention_probs_dropout_prob: number
  max_position_embeddings: number
  type_vocab_size: number
  layer_norm_eps: number
  initializer_range: number
  pad_token_id: number
  /** Number of classifier outputs (1 = regression). */
  num_labels: number
  /** null unless config.json sets it. */
  classifier_dropout: number | null
  /** Everything else config.json held, kept so that saving writes it back unchanged. */
  extra: Record<string, unknown>
}

export class ConfigError extends Error {
  constructor(
    message: string,
    readonly field?: string,
    readonly file?: string
  ) {
    super(message)
    this.name = 'ConfigError'
  }
}

/** Upper bounds that stop an absurd config.json from allocating gigabytes before anything is checked. */
export const CONFIG_LIMITS = {
  vocab_size: 1_000_000,
  hidden_size: 8192,
  num_hidden_layers: 96,
  num_attention_heads: 128,
  intermediate_size: 65_536,
  max_position_embeddings: 65_536,
  type_vocab_size: 64,
  num_labels: 10_000,
  /** total parameters */
  parameters: 2_000_000_000
} as const

const SUPPORTED_ACTS: HiddenAct[] = ['gelu', 'gelu_new', 'gelu_pytorch_tanh', 'relu']

export const DEFAULT_CONFIG: Omit<BertConfig, 'extra'> = {
  vocab_size: 30522,
  hidden_size: 768,
  num_hidden_layers: 12,
  num_attention_heads: 12,
  intermediate_size: 3072,
  hidden_act: 'gelu',
  hidden_dropout_prob: 0.1,
  attention_probs_dropout_prob: 0.1,
  max_position_embeddings: 512,
  type_vocab_size: 2,
  layer_norm_eps: 1e-12,
  initializer_range: 0.02,
  pad_token_id: 0,
  num_labels: 2,
  classifier_dropout: null
}

const KNOWN_KEYS = new Set<string>([...Object.keys(DEFAULT_CONFIG), 'id2label', 'label2id'])

function intField(raw: Record<string, unknown>, key: keyof typeof CONFIG_LIMITS, file?: string): number {
  const v = raw[key]
  if (v === undefined) return DEFAULT_CONFIG[key as keyof typeof DEFAULT_CONFIG] as number
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw new ConfigError(`config field "${key}" must be a positive integer, found ${JSON.stringify(v)}`, key, file)
  }
  const max = CONFIG_LIMITS[key]
  if (v > max) {
    throw new ConfigError(`config field "${key}" = ${v} is larger than the supported maximum ${max}`, key, file)
  }
  return v
}

function numField(raw: Record<string, unknown>, key: string, def: number, min: number, max: number, file?: string): number {
  const v = raw[key]
  if (v === undefined || v === null) return def
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
    throw new ConfigError(`config field "${key}" must be a number in [${min}, ${max}], found ${JSON.stringify(v)}`, key, file)
  }
  return v
}

/**
 * Parse a Hugging Face config.json object into a validated BertConfig.
 * Accepts model_type "bert" (or a missing model_type); num_labels comes from num_labels, else id2label,
 * else `numLabelsOverride`, else 2.
 */
export function parseBertConfig(raw: unknown, opts: { file?: string; numLabels?: number } = {}): BertConfig {
  const file = opts.file
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError('config.json must hold a JSON object', undefined, file)
  }
  const r = raw as Record<string, unknown>
  const modelType = r.model_type
  if (modelType !== undefined && modelType !== 'bert') {
    throw new ConfigError(
      `unsupported architecture: model_type "${String(modelType)}" (IRD Studio supports BERT-style encoders, model_type "bert")`,
      'model_type',
      file
    )
  }
  const act = (r.hidden_act ?? 'gelu') as HiddenAct
  if (!SUPPORTED_ACTS.includes(act)) {
    throw new ConfigError(`unsupported hidden_act "${String(r.hidden_act)}" (supported: ${SUPPORTED_ACTS.join(', ')})`, 'hidden_act', file)
  }
  let numLabels: number | undefined
  // the file's own num_labels is checked even when the caller replaces it (a task's label count): a
  // config that transformers would refuse (−5, 1e9, 2.5, "2") is refused here too, naming the field
  if (r.num_labels !== undefined && r.num_labels !== null) numLabels = intField(r, 'num_labels', file)
  else if (r.id2label && typeof r.id2label === 'object') numLabels = Object.keys(r.id2label as object).length
  if (numLabels !== undefined && r.id2label && typeof r.id2label === 'object' && !Array.isArray(r.id2label) && Object.keys(r.id2label as object).length !== numLabels) {
    throw new ConfigError(`config field "num_labels" = ${numLabels} disagrees with id2label, which names ${Object.keys(r.id2label as object).length} classes: make them agree`, 'num_labels', file)
  }
  if (opts.numLabels !== undefined) numLabels = opts.numLabels
  const withLabels = { ...r, num_labels: numLabels ?? 2 }

  const cfg: BertConfig = {
    vocab_size: intField(r, 'vocab_size', file),
    hidden_size: intField(r, 'hidden_size', file),
    num_hidden_layers: intField(r, 'num_hidden_layers', file),
    num_attention_heads: intField(r, 'num_attention_heads', file),
    intermediate_size: intField(r, 'intermediate_size', file),
    hidden_act: act,
    hidden_dropout_prob: numField(r, 'hidden_dropout_prob', 0.1, 0, 1, file),
    attention_probs_dropout_prob: numField(r, 'attention_probs_dropout_prob', 0.1, 0, 1, file),
    max_position_embeddings: intField(r, 'max_position_embeddings', file),
    type_vocab_size: intField(r, 'type_vocab_size', file),
    layer_norm_eps: numField(r, 'layer_norm_eps', 1e-12, 0, 1, file),
    initializer_range: numField(r, 'initializer_range', 0.02, 0, 10, file),
    pad_token_id: numField(r, 'pad_token_id', 0, 0, Number.MAX_SAFE_INTEGER, file),
    num_labels: intField(withLabels, 'num_labels', file),
    classifier_dropout: r.classifier_dropout === undefined || r.classifier_dropout === null ? null : numField(r, 'classifier_dropout', 0.1, 0, 1, file),
    extra: {}
  }
  if (!Number.isInteger(cfg.pad_token_id) || cfg.pad_token_id >= cfg.vocab_size) {
    throw new ConfigError(`config field "pad_token_id" must be an integer token id below vocab_size ${cfg.vocab_size}, found ${JSON.stringify(r.pad_token_id)}`, 'pad_token_id', file)
  }
  if (cfg.hidden_size % cfg.num_attention_heads !== 0) {
    throw new ConfigError(
      `hidden_size ${cfg.hidden_size} is not a multiple of num_attention_heads ${cfg.num_attention_heads}`,
      'num_attention_heads',
      file
    )
  }
  const total = countParameters(cfg)
  if (total > CONFIG_LIMITS.parameters) {
    throw new ConfigError(`config describes ${total.toLocaleString('en')} parameters, more than the supported ${CONFIG_LIMITS.parameters.toLocaleString('en')}`, undefined, file)
  }
  for (const [k, v] of Object.entries(r)) if (!KNOWN_KEYS.has(k)) cfg.extra[k] = v
  if (r.id2label !== undefined && opts.numLabels === undefined) cfg.extra.id2label = r.id2label
  if (r.label2id !== undefined && opts.numLabels === undefined) cfg.extra.label2id = r.label2id
  return cfg
}

/** The config.json object to write for a BertForSequenceClassification with this config. */
export function configToJson(cfg: BertConfig): Record<string, unknown> {
  const { extra, ...known } = cfg
  const out: Record<string, unknown> = {
    ...extra,
    ...known,
    model_type: 'bert',
    architectures: ['BertForSequenceClassification']
  }
  if (cfg.num_labels === 1) out.problem_type = 'regression'
  return out
}

export function makeConfig(partial: Partial<Omit<BertConfig, 'extra'>> = {}): BertConfig {
  return parseBertConfig({ ...DEFAULT_CONFIG, ...partial })
}

export interface ParamSpec {
  /** Hugging Face state-dict name, e.g. `bert.encoder.layer.0.attention.self.query.weight`. */
  name: string
  /** PyTorch shape: Linear weights are [out, in]. */
  shape: number[]
  /** What kind of parameter, for BitFit, statistics and initialisation. */
  kind: 'embedding' | 'linear_weight' | 'bias' | 'layernorm_weight' | 'layernorm_bias'
  /** Encoder layer index, or -1 for embeddings, pooler and head. */
  layer: number
  /** True for the classification head (classifier.weight, classifier.bias). */
  head: boolean
}

export const HEAD_PARAMS = ['classifier.weight', 'classifier.bias'] as const

/** Every parameter of BertForSequenceClassification, in Hugging Face state-dict order. */
export function bertParameterSpec(cfg: BertConfig): ParamSpec[] {
  const H = cfg.hidden_size
  const I = cfg.intermediate_size
  const specs: ParamSpec[] = []
  const add = (name: string, shape: number[], kind: ParamSpec['kind'], layer: number, head = false) =>
    specs.push({ name, shape, kind, layer, head })
  add('bert.embeddings.word_embeddings.weight', [cfg.vocab_size, H], 'embedding', -1)
  add('bert.embeddings.position_embeddings.weight', [cfg.max_position_embeddings, H], 'embedding', -1)
  add('bert.embeddings.token_type_embeddings.weight', [cfg.type_vocab_size, H], 'embedding', -1)
  add('bert.embeddings.LayerNorm.weight', [H], 'layernorm_weight', -1)
  add('bert.embeddings.LayerNorm.bias', [H], 'layernorm_bias', -1)
  for (let l = 0; l < cfg.num_hidden_layers; l++) {
    const p = `bert.encoder.layer.${l}`
    for (const m of ['query', 'key', 'value']) {
      add(`${p}.attention.self.${m}.weight`, [H, H], 'linear_weight', l)
      add(`${p}.attention.self.${m}.bias`, [H], 'bias', l)
    }
    add(`${p}.attention.output.dense.weight`, [H, H], 'linear_weight', l)
    add(`${p}.attention.output.dense.bias`, [H], 'bias', l)
    add(`${p}.attention.output.LayerNorm.weight`, [H], 'layernorm_weight', l)
    add(`${p}.attention.output.LayerNorm.bias`, [H], 'layernorm_bias', l)
    add(`${p}.intermediate.dense.weight`, [I, H], 'linear_weight', l)
    add(`${p}.intermediate.dense.bias`, [I], 'bias', l)
    add(`${p}.output.dense.weight`, [H, I], 'linear_weight', l)
    add(`${p}.output.dense.bias`, [H], 'bias', l)
    add(`${p}.output.LayerNorm.weight`, [H], 'layernorm_weight', l)
    add(`${p}.output.LayerNorm.bias`, [H], 'layernorm_bias', l)
  }
  add('bert.pooler.dense.weight', [H, H], 'linear_weight', -1)
  add('bert.pooler.dense.bias', [H], 'bias', -1)
  add('classifier.weight', [cfg.num_labels, H], 'linear_weight', -1, true)
  add('classifier.bias', [cfg.num_labels], 'bias', -1, true)
  return specs
}

export function numel(shape: readonly number[]): number {
  let n = 1
  for (const d of shape) n *= d
  return n
}

export function countParameters(cfg: BertConfig): number {
  const H = cfg.hidden_size
  const I = cfg.intermediate_size
  const emb = (cfg.vocab_size + cfg.max_position_embeddings + cfg.type_vocab_size) * H + 2 * H
  const layer = 4 * (H * H + H) + 2 * H + (I * H + I) + (H * I + H) + 2 * H
  return emb + cfg.num_hidden_layers * layer + (H * H + H) + (cfg.num_labels * H + cfg.num_labels)
}

/** Named float32 parameters in PyTorch layout: the engine's exchange format between IO and model. */
export interface NamedTensor {
  shape: number[]
  data: Float32Array
}
export type StateDict = Map<string, NamedTensor>
