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
