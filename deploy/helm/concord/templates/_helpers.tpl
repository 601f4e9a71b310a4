{{/* Names and labels. */}}
{{- define "concord.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "concord.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else if contains (include "concord.name" .) .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name (include "concord.name" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{/* The server's pods; the `helm test` pod (component: test) must not match them. */}}
{{- define "concord.selectorLabels" -}}
app.kubernetes.io/name: {{ include "concord.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: server
{{- end }}

{{- define "concord.commonLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "concord.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "concord.labels" -}}
{{ include "concord.commonLabels" . }}
app.kubernetes.io/component: server
{{- end }}

{{- define "concord.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "concord.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "concord.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{- define "concord.secretName" -}}
{{- default (include "concord.fullname" .) .Values.existingSecret.name }}
{{- end }}

{{/* The capabilities, in the server's order, and the environment name of each one's URL. */}}
{{- define "concord.capabilities" -}}
locks events sagas rbac cache discovery ratelimit idempotency
{{- end }}

{{- define "concord.replicated" -}}
{{- if or (gt (int .Values.replicaCount) 1) .Values.autoscaling.enabled }}true{{ end }}
{{- end }}

{{/* Capabilities left on the embedded storage (no engine URL, none from existingSecret). */}}
{{- define "concord.embedded" -}}
{{- $embedded := list }}
{{- range $cap := splitList " " (include "concord.capabilities" .) }}
{{- $url := index $.Values.storage $cap | default "" }}
{{- if not (has $cap $.Values.existingSecret.storageKeys) }}
{{- if or (eq $url "") (hasPrefix "sqlite:" $url) (hasPrefix "memory:" $url) }}
{{- $embedded = append $embedded $cap }}
{{- end }}
{{- end }}
{{- end }}
{{- join " " $embedded }}
{{- end }}

{{/* Capabilities whose storage is SQLite, which lives in the data volume. */}}
{{- define "concord.onSqlite" -}}
{{- $sqlite := list }}
{{- range $cap := list "locks" "events" "sagas" "rbac" }}
{{- $url := index $.Values.storage $cap | default "" }}
{{- if and (not (has $cap $.Values.existingSecret.storageKeys)) (or (eq $url "") (hasPrefix "sqlite:" $url)) }}
{{- $sqlite = append $sqlite $cap }}
{{- end }}
{{- end }}
{{- join " " $sqlite }}
{{- end }}

{{/* Refuses values that cannot work: N replicas on single-instance storage, and the like. */}}
{{- define "concord.validate" -}}
{{- range $cap := .Values.existingSecret.storageKeys }}
{{- if index $.Values.storage $cap }}
{{- fail (printf "storage.%s is set and existingSecret.storageKeys lists %s too: give the URL in one place" $cap $cap) }}
{{- end }}
{{- if not $.Values.existingSecret.name }}
{{- fail "existingSecret.storageKeys needs existingSecret.name" }}
{{- end }}
{{- end }}
{{- if .Values.existingSecret.name }}
{{- range $cap := splitList " " (include "concord.capabilities" .) }}
{{- if and (index $.Values.storage $cap) (not (has $cap $.Values.existingSecret.storageKeys)) }}
{{- fail (printf "storage.%s is set, but existingSecret.name replaces the chart's Secret, where that URL would go: put CONCORD_%s_URL in %s and list %s in existingSecret.storageKeys" $cap (upper $cap) $.Values.existingSecret.name $cap) }}
{{- end }}
{{- end }}
{{- $auth := list (list "auth.bootstrapAdminKey" "CONCORD_BOOTSTRAP_ADMIN_KEY" .Values.auth.bootstrapAdminKey) (list "auth.jwt.secret" "CONCORD_JWT_SECRET" .Values.auth.jwt.secret) (list "auth.jwt.publicKey" "CONCORD_JWT_PUBLIC_KEY" .Values.auth.jwt.publicKey) (list "auth.jwt.privateKey" "CONCORD_JWT_PRIVATE_KEY" .Values.auth.jwt.privateKey) (list "auth.pageTokenSecret" "CONCORD_PAGE_TOKEN_SECRET" .Values.auth.pageTokenSecret) }}
{{- range $entry := $auth }}
{{- if index $entry 2 }}
{{- fail (printf "%s is set, but existingSecret.name replaces the chart's Secret, where it would go: put %s in %s instead" (index $entry 0) (index $entry 1) $.Values.existingSecret.name) }}
{{- end }}
{{- end }}
{{- end }}
{{- if include "concord.replicated" . }}
{{- $embedded := include "concord.embedded" . }}
{{- if $embedded }}
{{- fail (printf "%d replicas (or autoscaling) need every capability on a shared engine, but %s would use the embedded storage, which serves one instance only (SQLite in a pod's volume, or memory): set storage.<capability> to a redis://, postgresql:// or etcd:// URL, or list it in existingSecret.storageKeys (docs/deploy.md)" (int .Values.replicaCount) (splitList " " $embedded | join ", ")) }}
{{- end }}
{{- if not (or .Values.existingSecret.name .Values.auth.jwt.secret .Values.auth.jwt.publicKey) }}
{{- fail "replicas (or autoscaling) need one JWT key shared by every instance: set auth.jwt.secret (HS256) or auth.jwt.publicKey and privateKey (RS256), or provide them in existingSecret" }}
{{- end }}
{{- end }}
{{- if and .Values.tls.enabled (not .Values.tls.secretName) }}
{{- fail "tls.enabled needs tls.secretName (a kubernetes.io/tls Secret with tls.crt and tls.key)" }}
{{- end }}
{{- end }}

{{/* The bootstrap admin key: given, kept from the installed Secret, or made once. */}}
{{- define "concord.adminKey" -}}
{{- if .Values.auth.bootstrapAdminKey }}
{{- .Values.auth.bootstrapAdminKey }}
{{- else }}
{{- $installed := lookup "v1" "Secret" .Release.Namespace (include "concord.fullname" .) }}
{{- if and $installed $installed.data (hasKey $installed.data "CONCORD_BOOTSTRAP_ADMIN_KEY") }}
{{- index $installed.data "CONCORD_BOOTSTRAP_ADMIN_KEY" | b64dec }}
{{- else }}
{{- randAlphaNum 40 }}
{{- end }}
{{- end }}
{{- end }}

{{- define "concord.scheme" -}}
{{- if .Values.tls.enabled }}HTTPS{{ else }}HTTP{{ end }}
{{- end }}
