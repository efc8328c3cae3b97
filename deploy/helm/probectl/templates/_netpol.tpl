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
        cidr: {{ . }}
    {{- end }}
    {{- if or $e.database.namespaceSelector $e.database.podSelector }}
    - namespaceSelector:
        {{- toYaml (default (dict) $e.database.namespaceSelector) | nindent 8 }}
      {{- with $e.database.podSelector }}
      podSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
    {{- end }}
  ports:
    - port: {{ $e.database.port }}
      protocol: TCP
{{- end -}}
