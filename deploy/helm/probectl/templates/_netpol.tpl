{{/* Egress rules both policies share: DNS and PostgreSQL. */}}
{{- define "probectl.egressBase" -}}
{{- $e := .Values.networkPolicy.egress -}}
- to:
    - namespaceSelector:
        {{- toYaml $e.dns.namespaceSelector | nindent 8 }}
      {{- with $e.dns.podSelector }}
      podSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
  ports:
    - port: 53
      protocol: UDP
    - port: 53
      protocol: TCP
- to:
    {{- range $e.database.cidrs }}
    - ipBlock:
        cidr: {{ . | quote }}
    {{- end }}
    {{- if or $e.database.namespaceSelector $e.database.podSelector }}
    - namespaceSelector:
        {{- if $e.database.namespaceSelector }}
        {{- toYaml $e.database.namespaceSelector | nindent 8 }}
        {{- else }}
        # A podSelector alone means the release namespace (never every namespace).
        matchLabels:
          kubernetes.io/metadata.name: {{ .Release.Namespace | quote }}
        {{- end }}
      {{- with $e.database.podSelector }}
      podSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
    {{- end }}
  ports:
    - port: {{ $e.database.port }}
      protocol: TCP
{{- end -}}
