{{/*
The four services and what differs between them. Every per-component template ranges over
"strata.components" so that a service is described once here, not in four copies.
Each entry: name, ports (name/port/appProtocol), grpcPort (probed with gRPC health, empty for the
gateway which is probed over HTTP), aws (calls AWS APIs: gets egress 443 and an IAM role).
*/}}
{{- define "strata.components" -}}
gateway:
  ports:
    - { name: http, port: {{ .Values.gateway.port }}, appProtocol: http }
  grpcPort: 0
  aws: false
auth:
  ports:
    - { name: grpc, port: {{ .Values.auth.port }}, appProtocol: kubernetes.io/h2c }
    - { name: grpc-admin, port: {{ .Values.auth.adminPort }}, appProtocol: kubernetes.io/h2c }
  grpcPort: {{ .Values.auth.port }}
  aws: true
inference:
  ports:
    - { name: grpc, port: {{ .Values.inference.port }}, appProtocol: kubernetes.io/h2c }
  grpcPort: {{ .Values.inference.port }}
  aws: true
metering:
  ports:
    - { name: grpc, port: {{ .Values.metering.port }}, appProtocol: kubernetes.io/h2c }
  grpcPort: {{ .Values.metering.port }}
  aws: true
{{- end }}

{{/* Environment of the gateway. */}}
{{- define "strata.env.gateway" -}}
- name: STRATA_PORT
  value: {{ .Values.gateway.port | quote }}
- name: STRATA_AUTH_URL
  value: {{ include "strata.grpcUrl" (dict "root" . "component" "auth") | quote }}
- name: STRATA_INFERENCE_URL
  value: {{ include "strata.grpcUrl" (dict "root" . "component" "inference") | quote }}
- name: STRATA_METERING_URL
  value: {{ include "strata.grpcUrl" (dict "root" . "component" "metering") | quote }}
- name: STRATA_MAX_BODY_BYTES
  value: {{ .Values.gateway.maxBodyBytes | int64 | quote }}
- name: STRATA_SSE_KEEPALIVE_MS
  value: {{ mul .Values.gateway.sseKeepAliveSeconds 1000 | quote }}
- name: STRATA_UPSTREAM_TIMEOUT_MS
  value: {{ mul .Values.gateway.upstreamTimeoutSeconds 1000 | quote }}
- name: STRATA_METERING_FAIL_MODE
  value: {{ .Values.gateway.meteringFailMode | quote }}
- name: STRATA_MAX_TOKENS_MODE
  value: {{ .Values.gateway.maxTokensMode | quote }}
- name: STRATA_TRUSTED_PROXY_CIDRS
  value: {{ join "," .Values.gateway.trustedProxyCidrs | quote }}
- name: STRATA_CLIENT_IP_HEADER
  value: {{ .Values.gateway.clientIpHeader | quote }}
- name: STRATA_REMOTE_IMAGES
  value: {{ .Values.gateway.remoteImages | quote }}
{{- end }}

{{/* Environment of auth. Tokens and the pepper come only from a Secret. */}}
{{- define "strata.env.auth" -}}
- name: STRATA_PORT
  value: {{ .Values.auth.port | quote }}
- name: STRATA_ADMIN_PORT
  value: {{ .Values.auth.adminPort | quote }}
{{ include "strata.dynamoEnv" . }}
- name: STRATA_METERING_URL
  value: {{ include "strata.grpcUrl" (dict "root" . "component" "metering") | quote }}
- name: STRATA_KEY_MAX_AGE_DAYS
  value: {{ .Values.auth.keyMaxAgeDays | quote }}
- name: STRATA_KEY_ROTATION_OVERLAP_DAYS
  value: {{ .Values.auth.keyRotationOverlapDays | quote }}
- name: STRATA_KEY_EXPIRY_WARNING_DAYS
  value: {{ .Values.auth.keyExpiryWarningDays | quote }}
{{- if .Values.auth.existingSecret }}
# Read from the mounted Secret (strata.secretVolume), never from the environment.
- name: STRATA_ADMIN_TOKEN_SHA256_FILE
  value: /etc/strata/secrets/admin-token-sha256
- name: STRATA_KEY_PEPPER_FILE
  value: /etc/strata/secrets/key-pepper
{{- end }}
{{- end }}

{{/* Environment of inference. */}}
{{- define "strata.env.inference" -}}
- name: STRATA_PORT
  value: {{ .Values.inference.port | quote }}
{{- with .Values.inference.bedrock.region }}
- name: STRATA_BEDROCK_REGION
  value: {{ . | quote }}
{{- end }}
{{- with .Values.inference.bedrock.endpoint }}
- name: STRATA_BEDROCK_ENDPOINT
  value: {{ . | quote }}
{{- end }}
- name: STRATA_BEDROCK_CREDENTIALS
  value: {{ .Values.inference.bedrock.credentials | quote }}
- name: STRATA_BEDROCK_MAX_ATTEMPTS
  value: {{ .Values.inference.bedrock.maxAttempts | quote }}
- name: STRATA_BEDROCK_TIMEOUT_MS
  value: {{ mul .Values.inference.bedrock.timeoutSeconds 1000 | quote }}
- name: STRATA_STREAM_IDLE_TIMEOUT_MS
  value: {{ mul .Values.inference.bedrock.streamIdleTimeoutSeconds 1000 | quote }}
- name: STRATA_BREAKER_FAILURES
  value: {{ .Values.inference.bedrock.circuitBreaker.failures | quote }}
- name: STRATA_BREAKER_OPEN_MS
  value: {{ mul .Values.inference.bedrock.circuitBreaker.openSeconds 1000 | quote }}
{{- with .Values.inference.stsEndpoint }}
- name: STRATA_STS_ENDPOINT
  value: {{ . | quote }}
{{- end }}
{{- if .Values.inference.catalog }}
- name: STRATA_CATALOG_FILE
  value: /etc/strata/catalog/catalog.json
{{- end }}
{{- end }}

{{/* Environment of metering. */}}
{{- define "strata.env.metering" -}}
- name: STRATA_PORT
  value: {{ .Values.metering.port | quote }}
{{ include "strata.dynamoEnv" . }}
- name: STRATA_LEDGER_FLUSH_MS
  value: {{ .Values.metering.ledgerFlushMs | quote }}
- name: STRATA_LEDGER_BUFFER_MAX
  value: {{ .Values.metering.ledgerBufferMax | int64 | quote }}
- name: STRATA_LIMITS_FAIL_MODE
  value: {{ .Values.metering.limitsFailMode | quote }}
- name: STRATA_LIMITS_STORE
  value: {{ ternary "redis" "memory" .Values.redis.enabled | quote }}
{{- if .Values.redis.enabled }}
- name: STRATA_REDIS_TIMEOUT_MS
  value: {{ .Values.redis.timeoutMs | quote }}
{{- if .Values.redis.existingSecret }}
- name: STRATA_REDIS_URL_FILE
  value: /etc/strata/secrets/redis-url
{{- else }}
- name: STRATA_REDIS_URL
  value: {{ .Values.redis.url | quote }}
{{- end }}
{{- end }}
{{- end }}

{{/*
The Secret a component reads its secrets from, mounted read-only at /etc/strata/secrets (files,
not environment variables: they stay out of /proc/<pid>/environ, crash reports and child
processes). Renders a volume; empty when the component has no Secret.
*/}}
{{- define "strata.secretVolume" -}}
{{- $v := .root.Values }}
{{- if and (eq .component "auth") $v.auth.existingSecret }}
name: secrets
secret:
  secretName: {{ $v.auth.existingSecret }}
  defaultMode: 288 # 0440: owner and group (fsGroup) read
{{- /* Every key becomes a file: admin-token-sha256, and key-pepper when the Secret has one
(absent means "no pepper"). */}}
{{- else if and (eq .component "metering") $v.redis.enabled $v.redis.existingSecret }}
name: secrets
secret:
  secretName: {{ $v.redis.existingSecret }}
  defaultMode: 288 # 0440: owner and group (fsGroup) read
  items:
    - { key: {{ $v.redis.existingSecretKey }}, path: redis-url }
{{- else if and (eq .component "operator") $v.operator.adminTokenSecret }}
name: secrets
secret:
  secretName: {{ $v.operator.adminTokenSecret }}
  defaultMode: 288 # 0440: owner and group (fsGroup) read
  items:
    - { key: admin-token, path: admin-token }
{{- end }}
{{- end }}

{{/*
Checks across values that the JSON schema cannot express. A wrong combination fails the install
with a message instead of a running-but-wrong deployment.
*/}}
{{- define "strata.validate" -}}
{{- $m := .Values.metering }}
{{- if and (not .Values.redis.enabled) (or (gt (int $m.replicas) 1) $m.autoscaling.enabled) }}
{{- fail "metering with more than one replica (or autoscaling) needs redis.enabled: each replica would otherwise enforce the whole limit on its own" }}
{{- end }}
{{- if and .Values.redis.enabled (not .Values.redis.existingSecret) (not .Values.redis.url) }}
{{- fail "redis.enabled needs redis.existingSecret (preferred) or redis.url" }}
{{- end }}
{{- if and .Values.operator.enabled (not .Values.operator.adminTokenSecret) }}
{{- fail "operator.enabled needs operator.adminTokenSecret: a Secret with the admin token the operator presents to auth" }}
{{- end }}
{{- if and .Values.common.otlpEndpoint .Values.networkPolicy.enabled (not .Values.networkPolicy.otlpEgress.to) }}
{{- fail "common.otlpEndpoint with network policies needs networkPolicy.otlpEgress.to (the collector's address)" }}
{{- end }}
{{- end }}
