{{/* Chart name, overridable. */}}
{{- define "registry-integrity.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Release-qualified name. Component names append "-listener" / "-verifier". */}}
{{- define "registry-integrity.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 54 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 54 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 54 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Labels on every object. */}}
{{- define "registry-integrity.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "registry-integrity.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Labels that select the release's pods and Services; templates add app.kubernetes.io/component. */}}
{{- define "registry-integrity.selectorLabels" -}}
app.kubernetes.io/name: {{ include "registry-integrity.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Image reference. Call with (dict "image" .Values.listener.image "root" .). */}}
{{- define "registry-integrity.image" -}}
{{- if .image.digest -}}
{{- printf "%s@%s" .image.repository .image.digest -}}
{{- else -}}
{{- printf "%s:%s" .image.repository (.image.tag | default .root.Chart.AppVersion) -}}
{{- end -}}
{{- end -}}

{{/* Secret with the webhook tokens; its keys are Listener__BearerTokens__N. */}}
{{- define "registry-integrity.apiSecretName" -}}
{{- if .Values.api.existingSecret -}}
{{- .Values.api.existingSecret -}}
{{- else if .Values.api.create -}}
{{- printf "%s-api" (include "registry-integrity.fullname" .) -}}
{{- else -}}
{{- fail "api: set api.existingSecret (a Secret whose keys are Api__Tokens__0..n), or api.create=true with api.tokens: the Verifier's API starts sweeps and repairs" -}}
{{- end -}}
{{- end -}}

{{- define "registry-integrity.webhookSecretName" -}}
{{- if .Values.webhook.existingSecret -}}
{{- .Values.webhook.existingSecret -}}
{{- else if .Values.webhook.create -}}
{{- printf "%s-webhook" (include "registry-integrity.fullname" .) -}}
{{- else -}}
{{- fail "webhook: set webhook.existingSecret (a Secret whose keys are Listener__BearerTokens__0..n), or webhook.create=true with webhook.tokens" -}}
{{- end -}}
{{- end -}}

{{/* Secret with the RabbitMQ amqp:// URI under .Values.rabbitmq.key. */}}
{{- define "registry-integrity.rabbitmqSecretName" -}}
{{- if .Values.rabbitmq.existingSecret -}}
{{- .Values.rabbitmq.existingSecret -}}
{{- else if .Values.rabbitmq.create -}}
{{- printf "%s-rabbitmq" (include "registry-integrity.fullname" .) -}}
{{- else -}}
{{- fail "rabbitmq: set rabbitmq.existingSecret (the amqp:// URI under rabbitmq.key), or rabbitmq.create=true with rabbitmq.connectionString" -}}
{{- end -}}
{{- end -}}

{{/* Secret with the PostgreSQL connection string; only with store.provider=Postgres. */}}
{{- define "registry-integrity.postgresSecretName" -}}
{{- if .Values.store.postgres.existingSecret -}}
{{- .Values.store.postgres.existingSecret -}}
{{- else if .Values.store.postgres.create -}}
{{- printf "%s-postgres" (include "registry-integrity.fullname" .) -}}
{{- else -}}
{{- fail "store.provider=Postgres: set store.postgres.existingSecret, or store.postgres.create=true with store.postgres.connectionString" -}}
{{- end -}}
{{- end -}}

{{/* Secret with the registry credentials; empty for an anonymous registry. */}}
{{- define "registry-integrity.registrySecretName" -}}
{{- if .Values.registry.credentials.existingSecret -}}
{{- .Values.registry.credentials.existingSecret -}}
{{- else if .Values.registry.credentials.create -}}
{{- printf "%s-registry" (include "registry-integrity.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/* Fails on store settings that cannot work. */}}
{{- define "registry-integrity.validateStore" -}}
{{- if not (has .Values.store.provider (list "Sqlite" "Postgres")) -}}
{{- fail (printf "store.provider must be Sqlite or Postgres, not %q" .Values.store.provider) -}}
{{- end -}}
{{- if and (eq .Values.store.provider "Sqlite") (gt (int .Values.verifier.replicas) 1) -}}
{{- fail "store.provider=Sqlite keeps the verdicts in one pod's file: set verifier.replicas=1, or use store.provider=Postgres to run several verifiers" -}}
{{- end -}}
{{- end -}}
