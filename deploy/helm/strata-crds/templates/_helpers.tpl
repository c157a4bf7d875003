{{/* Labels of every CRD. */}}
{{- define "strata-crds.labels" -}}
app.kubernetes.io/name: strata
app.kubernetes.io/component: crds
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end }}

{{/* Annotations of every CRD: kept on uninstall unless keep is false. */}}
{{- define "strata-crds.annotations" -}}
{{- if .Values.keep }}
helm.sh/resource-policy: keep
{{- end }}
{{- end }}

{{/* Rate limits of one scope (strata.common.v1.RateLimits); zero means unlimited. */}}
{{- define "strata-crds.rateLimits" -}}
type: object
properties:
  requestsPerMinute: {type: integer, minimum: 0, maximum: 4294967295}
  tokensPerMinute: {type: integer, minimum: 0, maximum: 4294967295}
  maxConcurrentRequests: {type: integer, minimum: 0, maximum: 4294967295}
{{- end }}

{{/*
The policy of a tenant (tenant=true) or a key (tenant=false): strata.auth.v1.Policy. Keys can only
narrow their tenant's policy, so tenant-only fields (guardrail, crossAccount, contentLogging) do
not exist in the key's schema at all.
*/}}
{{- define "strata-crds.policy" -}}
type: object
properties:
  allowedModels:
    description: Glob patterns over catalog model ids and aliases ("*" any run of characters). Empty allows all.
    type: array
    maxItems: 256
    items: {type: string, pattern: '^[\w.:/*@-]{1,256}$'}
  allowedEndpoints:
    description: OpenAI endpoints the keys may call. Empty allows all.
    type: array
    items: {type: string, enum: [chat.completions, embeddings, models]}
  allowedSourceCidrs:
    description: CIDRs the client's address must be in (IPv4 or IPv6). Empty allows any address.
    type: array
    maxItems: 256
    items:
      type: string
      maxLength: 64
      x-kubernetes-validations:
        - rule: isCIDR(self) || isIP(self)
          message: must be an IPv4 or IPv6 CIDR or address
  allowedRegions:
    description: Data residency. Geographies (us, eu, apac, global, ...) or AWS regions (eu-west-1) models may be served from. Empty allows any.
    type: array
    maxItems: 64
    items: {type: string, pattern: '^(global|[a-z]{2,3}(-gov)?|[a-z]{2}(-gov)?-[a-z]+-\d)$'}
  toolPolicy:
    description: Tool-call validation for MCP and IDE clients (docs/tool-call-validation.md).
    type: object
    properties:
      enforced: {type: boolean}
      allowed:
        type: array
        maxItems: 512
        items:
          type: object
          required: [name]
          properties:
            name: {type: string, pattern: '^[\w*.-]{1,64}$', description: Exact tool name or glob.}
            argumentsSchema:
              description: JSON Schema (2020-12) the tool's arguments must satisfy.
              type: object
              x-kubernetes-preserve-unknown-fields: true
  secrets:
    description: What to do with credentials found in prompts.
    type: string
    enum: [Off, Block, Redact]
  rejectExcessMaxTokens:
    description: Refuse a max_tokens above the model's output limit (400) instead of lowering it to the limit.
    type: boolean
  limits:
    type: object
    properties:
      rate:
        {{- include "strata-crds.rateLimits" . | nindent 8 }}
      models:
        type: array
        maxItems: 128
        items:
          type: object
          required: [model]
          properties:
            model: {type: string, pattern: '^[\w.:/*@-]{1,256}$'}
            limits:
              {{- include "strata-crds.rateLimits" . | nindent 14 }}
      budget:
        type: object
        properties:
          period: {type: string, enum: [Day, Month]}
          tokens: {type: integer, minimum: 0}
          costMicros: {type: integer, minimum: 0, description: Cost in micro-units of the price table's currency (1 USD = 1000000).}
        x-kubernetes-validations:
          - rule: "has(self.period) || ((!has(self.tokens) || self.tokens == 0) && (!has(self.costMicros) || self.costMicros == 0))"
            message: a budget needs a period (Day or Month)
{{- if .tenant }}
  contentLogging:
    description: Log prompts and completions. Off by default.
    type: boolean
  guardrail:
    description: A Bedrock guardrail applied to every call.
    type: object
    required: [identifier, version]
    properties:
      identifier: {type: string, minLength: 1, maxLength: 2048}
      version: {type: string, pattern: '^(DRAFT|\d{1,8})$'}
  crossAccount:
    description: An IAM role in the tenant's AWS account that inference assumes for the tenant's Bedrock calls.
    type: object
    required: [roleArn, externalId]
    properties:
      roleArn: {type: string, pattern: '^arn:aws(-[a-z]+)*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$'}
      externalId: {type: string, minLength: 2, maxLength: 1224, pattern: '^[\w+=,.@:/-]+$'}
{{- end }}
{{- end }}

{{/* Status conditions (Ready, Synced), as metav1.Condition. */}}
{{- define "strata-crds.conditions" -}}
type: array
x-kubernetes-list-type: map
x-kubernetes-list-map-keys: [type]
items:
  type: object
  required: [type, status, lastTransitionTime, reason, message]
  properties:
    type: {type: string, maxLength: 316}
    status: {type: string, enum: ["True", "False", Unknown]}
    observedGeneration: {type: integer, minimum: 0}
    lastTransitionTime: {type: string, format: date-time}
    reason: {type: string, maxLength: 1024, pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$'}
    message: {type: string, maxLength: 32768}
{{- end }}
