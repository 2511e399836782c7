{{- define "modeltrail.fullname" -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "modeltrail.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "modeltrail.selector" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "modeltrail.secretName" -}}
{{- default (include "modeltrail.fullname" .) .Values.existingSecret -}}
{{- end -}}

{{- define "modeltrail.env" -}}
- name: MODELTRAIL_DATABASE_URL
  valueFrom:
    secretKeyRef: {name: {{ include "modeltrail.secretName" . }}, key: database-url}
- name: MODELTRAIL_ADMIN_TOKEN
  valueFrom:
    secretKeyRef: {name: {{ include "modeltrail.secretName" . }}, key: admin-token}
{{- end -}}

{{/* The names the server answers: the Service's, the pod's address (probes, scrapes), the
Ingress hosts and server.allowedHosts. POD_IP is set in the container's env before this. */}}
{{- define "modeltrail.allowedHosts" -}}
{{- $name := include "modeltrail.fullname" . -}}
{{- $ns := .Release.Namespace -}}
{{- $hosts := list $name (printf "%s.%s" $name $ns) (printf "%s.%s.svc" $name $ns) (printf "%s.%s.svc.cluster.local" $name $ns) "$(POD_IP)" -}}
{{- if .Values.ingress.enabled -}}
{{- range .Values.ingress.hosts -}}
{{- $hosts = append $hosts .host -}}
{{- end -}}
{{- end -}}
{{- range .Values.server.allowedHosts -}}
{{- $hosts = append $hosts . -}}
{{- end -}}
{{- join "," $hosts -}}
{{- end -}}
