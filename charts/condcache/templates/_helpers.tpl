{{- define "condcache.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}{{ .Release.Name | trunc 63 | trimSuffix "-" }}{{- else -}}{{ printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}{{- end -}}
{{- end -}}

{{- define "condcache.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "condcache.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "condcache.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "condcache.serviceAccount" -}}
{{- if .Values.serviceAccount.create -}}{{ .Values.serviceAccount.name | default (include "condcache.fullname" .) }}{{- else -}}{{ .Values.serviceAccount.name | default "default" }}{{- end -}}
{{- end -}}

{{- define "condcache.dbSecret" -}}
{{- .Values.database.existingSecret | default (printf "%s-db" (include "condcache.fullname" .)) -}}
{{- end -}}

{{- define "condcache.authSecret" -}}
{{- .Values.auth.existingSecret | default (printf "%s-auth" (include "condcache.fullname" .)) -}}
{{- end -}}

{{- define "condcache.redisSecret" -}}
{{- .Values.redis.external.existingSecret | default (printf "%s-redis" (include "condcache.fullname" .)) -}}
{{- end -}}

{{- define "condcache.redisName" -}}{{ include "condcache.fullname" . }}-redis{{- end -}}

{{/* The Redis URL of the bundled Redis: the sentinels, or the one server. */}}
{{- define "condcache.bundledRedisURL" -}}
{{- $name := include "condcache.redisName" . -}}
{{- $svc := printf "%s-headless.%s.svc" $name .Release.Namespace -}}
{{- if gt (int .Values.redis.bundled.replicas) 1 -}}
{{- $addrs := list -}}
{{- range $i := until (int .Values.redis.bundled.replicas) -}}{{- $addrs = append $addrs (printf "%s-%d.%s:26379" $name $i $svc) -}}{{- end -}}
redis-sentinel://{{ join "," $addrs }}/{{ .Values.redis.bundled.masterName }}/0
{{- else -}}
redis://{{ $name }}-0.{{ $svc }}:6379/0
{{- end -}}
{{- end -}}

{{/* Environment shared by the writer and the readers. */}}
{{- define "condcache.commonEnv" -}}
- name: CONDCACHE_PRIMARY_DSN
  valueFrom: {secretKeyRef: {name: {{ include "condcache.dbSecret" . }}, key: primary-dsn}}
- name: CDB_IOV_MODE
  value: {{ .Values.iovMode | quote }}
{{- if eq .Values.redis.mode "bundled" }}
- name: CONDCACHE_REDIS_URL
  value: {{ include "condcache.bundledRedisURL" . | quote }}
{{- else if eq .Values.redis.mode "external" }}
- name: CONDCACHE_REDIS_URL
  valueFrom: {secretKeyRef: {name: {{ include "condcache.redisSecret" . }}, key: {{ .Values.redis.external.existingSecretKey }}}}
{{- end }}
{{- end -}}

{{- define "condcache.containerSecurity" -}}
securityContext:
  runAsNonRoot: true
  runAsUser: 65532
  runAsGroup: 65532
  readOnlyRootFilesystem: true
  allowPrivilegeEscalation: false
  capabilities: {drop: [ALL]}
  seccompProfile: {type: RuntimeDefault}
{{- end -}}

{{- define "condcache.validate" -}}
{{- if not (has .Values.redis.mode (list "bundled" "external" "none")) -}}{{- fail "redis.mode must be bundled, external or none" -}}{{- end -}}
{{- if not (has .Values.migrations.mode (list "init" "job" "writer" "none")) -}}{{- fail "migrations.mode must be init, job, writer or none" -}}{{- end -}}
{{- if and (eq .Values.redis.mode "external") (not .Values.redis.external.url) (not .Values.redis.external.existingSecret) -}}{{- fail "redis.mode=external needs redis.external.url or redis.external.existingSecret" -}}{{- end -}}
{{- if and (not .Values.database.existingSecret) (not .Values.database.primaryDSN) -}}{{- fail "set database.primaryDSN (or database.existingSecret)" -}}{{- end -}}
{{- if and (eq (int .Values.redis.bundled.replicas) 2) (eq .Values.redis.mode "bundled") -}}{{- fail "redis.bundled.replicas: 1 (no Sentinel) or at least 3 (a Sentinel quorum)" -}}{{- end -}}
{{- end -}}
