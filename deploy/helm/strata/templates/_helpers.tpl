{{/*
Naming and labels follow the usual Helm conventions: <fullname>-<component> for every object,
app.kubernetes.io/* labels, selector labels that never change after install.
*/}}

{{- define "strata.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's name prefix: the release name, plus "-strata" unless it already says strata. */}}
{{- define "strata.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Name of a component's objects: (dict "root" $ "component" "gateway"). */}}
{{- define "strata.componentName" -}}
{{- printf "%s-%s" (include "strata.fullname" .root) .component }}
{{- end }}

{{- define "strata.selectorLabels" -}}
app.kubernetes.io/name: {{ include "strata.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "strata.labels" -}}
{{ include "strata.selectorLabels" . }}
app.kubernetes.io/part-of: strata
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{- end }}

{{/* Labels of the release's objects that belong to no single component. */}}
{{- define "strata.releaseLabels" -}}
app.kubernetes.io/name: {{ include "strata.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: strata
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end }}

{{/* Selector matching every Strata pod of this release. */}}
{{- define "strata.releaseSelector" -}}
app.kubernetes.io/name: {{ include "strata.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* A component's image reference: digest wins over tag. */}}
{{- define "strata.image" -}}
{{- $values := index .root.Values .component }}
{{- $repository := $values.image.repository }}
{{- if not $repository }}
{{- $name := printf "%s%s" .root.Values.image.prefix .component }}
{{- $repository = ternary (printf "%s/%s" .root.Values.image.registry $name) $name (ne .root.Values.image.registry "") }}
{{- end }}
{{- if $values.image.digest }}
{{- printf "%s@%s" $repository $values.image.digest }}
{{- else }}
{{- printf "%s:%s" $repository (default .root.Chart.AppVersion .root.Values.image.tag) }}
{{- end }}
{{- end }}

{{/* In-cluster URL of a component's gRPC port. */}}
{{- define "strata.grpcUrl" -}}
{{- $values := index .root.Values .component }}
{{- printf "http://%s.%s.svc:%v" (include "strata.componentName" .) .root.Release.Namespace (default $values.port .port) }}
{{- end }}

{{/* Environment every Strata service shares. */}}
{{- define "strata.commonEnv" -}}
- name: STRATA_HOST
  value: "0.0.0.0"
- name: STRATA_METRICS_PORT
  value: {{ .Values.common.metricsPort | quote }}
- name: STRATA_LOG_LEVEL
  value: {{ .Values.common.logLevel | quote }}
- name: STRATA_SHUTDOWN_DRAIN_MS
  value: {{ mul .Values.common.shutdownDrainSeconds 1000 | quote }}
- name: STRATA_SHUTDOWN_GRACE_MS
  value: {{ mul .Values.common.shutdownGraceSeconds 1000 | quote }}
{{- with .Values.common.otlpEndpoint }}
- name: STRATA_OTLP_ENDPOINT
  value: {{ . | quote }}
{{- end }}
{{- end }}

{{/* DynamoDB environment (auth and metering). */}}
{{- define "strata.dynamoEnv" -}}
- name: STRATA_DYNAMODB_REGION
  value: {{ .Values.dynamodb.region | quote }}
- name: STRATA_TABLE_PREFIX
  value: {{ .Values.dynamodb.tablePrefix | quote }}
- name: STRATA_CREATE_TABLES
  value: {{ .Values.dynamodb.createTables | quote }}
{{- with .Values.dynamodb.endpoint }}
- name: STRATA_DYNAMODB_ENDPOINT
  value: {{ . | quote }}
{{- end }}
{{- end }}

{{/* A ServiceAccount's annotations for IRSA; empty for Pod Identity. */}}
{{- define "strata.serviceAccountAnnotations" -}}
{{- $values := index .root.Values .component }}
{{- with (dig "serviceAccount" "annotations" dict $values) }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}
